//! The engine's one socket: non-blocking UDP with batched send and receive (`crate::udp`).

use std::io;
use std::net::{SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

use crate::udp::{self, Outgoing, Received, RecvBatch, SendBatch, Sent};

/// Datagrams per system call.
pub const BATCH: usize = 64;
/// Receive buffer per datagram: larger than any SNMP answer an agent sends over UDP/IPv4.
const MAX_DATAGRAM: usize = 65_536;
/// The kernel buffers asked for, so a burst of thousands of answers is not dropped.
const SOCKET_BUFFER: usize = 8 << 20;

pub struct BatchSocket {
    socket: UdpSocket,
    rx: RecvBatch,
    tx: SendBatch,
}

impl BatchSocket {
    /// Binds `local` (port 0: any), non-blocking, with large kernel buffers (best effort).
    pub fn bind(local: SocketAddrV4) -> io::Result<Self> {
        let socket = UdpSocket::bind(local)?;
        socket.set_nonblocking(true)?;
        // Smaller buffers still work, with less room for bursts.
        let _ = udp::set_buffers(socket.as_raw_fd(), SOCKET_BUFFER);
        // Without the kernel's stamps an answer's time is the turn's that read it.
        let _ = udp::enable_timestamps(socket.as_raw_fd());
        Ok(Self { socket, rx: RecvBatch::new(BATCH, MAX_DATAGRAM), tx: SendBatch::default() })
    }

    /// Sends `datagrams` (to, bytes) until the socket's buffer is full (see [`Sent`]).
    pub fn send(&mut self, datagrams: &[(SocketAddrV4, &[u8])]) -> Sent {
        let msgs: Vec<Outgoing<'_>> =
            datagrams.iter().map(|&(to, data)| Outgoing { data, from: None, to }).collect();
        udp::send_batch(self.socket.as_raw_fd(), &msgs, &mut self.tx)
    }

    /// Receives up to [`BATCH`] datagrams without waiting; [`datagram`](Self::datagram) reads them.
    pub fn recv(&mut self) -> io::Result<usize> {
        match udp::recv_batch(self.socket.as_raw_fd(), &mut self.rx) {
            Ok(n) => Ok(n),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Datagram `i` of the last [`recv`](Self::recv).
    #[must_use]
    pub fn datagram(&self, i: usize) -> Received<'_> {
        self.rx.get(i)
    }

    /// Waits until a datagram can be read, at most `timeout` (rounded up to whole milliseconds).
    pub fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        udp::wait_readable(self.socket.as_raw_fd(), timeout)
    }
}
