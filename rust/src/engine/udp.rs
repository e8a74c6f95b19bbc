//! Batched, non-blocking UDP for the engine: `sendmmsg`/`recvmmsg` (Linux), many datagrams per
//! system call. The platform's `unsafe` lives here and nowhere else in the engine.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// Datagrams per system call.
pub const BATCH: usize = 64;
/// Receive buffer per datagram: larger than any SNMP answer an agent sends over UDP/IPv4.
pub const MAX_DATAGRAM: usize = 65_536;
/// The socket receive buffer asked for, so a burst of thousands of answers is not dropped.
const SOCKET_BUFFER: usize = 8 << 20;

/// One received datagram's envelope (its bytes are in the matching receive buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope {
    pub len: usize,
    pub source: SocketAddrV4,
    pub truncated: bool,
}

/// A non-blocking UDP socket with batched send and receive.
#[derive(Debug)]
pub struct BatchSocket {
    socket: UdpSocket,
    bufs: Vec<Vec<u8>>,
    envelopes: Vec<Envelope>,
}

impl BatchSocket {
    /// Binds `local` (port 0: any), non-blocking, with large kernel buffers.
    pub fn bind(local: SocketAddrV4) -> io::Result<Self> {
        let socket = UdpSocket::bind(local)?;
        socket.set_nonblocking(true)?;
        sys::grow_buffers(socket.as_raw_fd(), SOCKET_BUFFER);
        let unset =
            Envelope { len: 0, source: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0), truncated: false };
        Ok(Self { socket, bufs: vec![vec![0; MAX_DATAGRAM]; BATCH], envelopes: vec![unset; BATCH] })
    }

    /// Sends up to [`BATCH`] datagrams; returns how many the kernel took (0 when it would
    /// block). An error concerns the first datagram not sent.
    pub fn send(&self, datagrams: &[(SocketAddrV4, &[u8])]) -> io::Result<usize> {
        sys::send_batch(self.socket.as_raw_fd(), &datagrams[..datagrams.len().min(BATCH)])
    }

    /// Receives up to [`BATCH`] datagrams without waiting; `datagram(i)` reads them.
    pub fn recv(&mut self) -> io::Result<usize> {
        sys::recv_batch(self.socket.as_raw_fd(), &mut self.bufs, &mut self.envelopes)
    }

    /// Datagram `i` of the last [`recv`](Self::recv).
    #[must_use]
    pub fn datagram(&self, i: usize) -> (Envelope, &[u8]) {
        let e = self.envelopes[i];
        (e, &self.bufs[i][..e.len])
    }

    /// Waits until a datagram can be read, at most `timeout`; false on timeout.
    pub fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        sys::wait_readable(self.socket.as_raw_fd(), timeout)
    }
}

#[allow(unsafe_code)]
mod sys {
    use std::io;
    use std::mem;
    use std::net::{Ipv4Addr, SocketAddrV4};
    use std::os::fd::RawFd;
    use std::ptr;
    use std::time::Duration;

    use super::{Envelope, BATCH};

    fn sockaddr(addr: SocketAddrV4) -> libc::sockaddr_in {
        // SAFETY: `sockaddr_in` is a plain C struct for which all-zero is valid.
        let mut sa: libc::sockaddr_in = unsafe { mem::zeroed() };
        sa.sin_family = libc::AF_INET as libc::sa_family_t;
        sa.sin_port = addr.port().to_be();
        sa.sin_addr.s_addr = u32::from(*addr.ip()).to_be();
        sa
    }

    /// Asks for `bytes` of kernel buffer each way; root may exceed `rmem_max` with the FORCE
    /// options. Best effort: the defaults still work, only with less room for bursts.
    pub fn grow_buffers(fd: RawFd, bytes: usize) {
        let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        for option in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF, libc::SO_SNDBUFFORCE, libc::SO_SNDBUF] {
            // SAFETY: `fd` is an open socket; the value points to a live `c_int` of the size given.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    option,
                    ptr::from_ref(&value).cast(),
                    mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
    }

    pub fn send_batch(fd: RawFd, datagrams: &[(SocketAddrV4, &[u8])]) -> io::Result<usize> {
        if datagrams.is_empty() {
            return Ok(0);
        }
        let mut addrs: Vec<libc::sockaddr_in> = datagrams.iter().map(|(a, _)| sockaddr(*a)).collect();
        // `sendmmsg` only reads through `iov_base`, despite the `*mut`.
        let mut iovs: Vec<libc::iovec> = datagrams
            .iter()
            .map(|(_, d)| libc::iovec { iov_base: d.as_ptr().cast_mut().cast(), iov_len: d.len() })
            .collect();
        // SAFETY: all-zero `mmsghdr`s are valid (null pointers, zero lengths).
        let mut msgs: Vec<libc::mmsghdr> = (0..datagrams.len()).map(|_| unsafe { mem::zeroed() }).collect();
        for ((m, a), iov) in msgs.iter_mut().zip(addrs.iter_mut()).zip(iovs.iter_mut()) {
            m.msg_hdr.msg_name = ptr::from_mut(a).cast();
            m.msg_hdr.msg_namelen = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            m.msg_hdr.msg_iov = iov;
            m.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `msgs` holds `msgs.len()` headers, each pointing into `addrs` and `iovs`
        // (alive until the call returns) and, through them, into the caller's datagrams.
        let n =
            unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), msgs.len() as libc::c_uint, libc::MSG_DONTWAIT) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::WouldBlock {
            Ok(0)
        } else {
            Err(err)
        }
    }

    pub fn recv_batch(fd: RawFd, bufs: &mut [Vec<u8>], envelopes: &mut [Envelope]) -> io::Result<usize> {
        let count = bufs.len().min(envelopes.len()).min(BATCH);
        // SAFETY: plain C structs for which all-zero is valid.
        let mut addrs: Vec<libc::sockaddr_in> = (0..count).map(|_| unsafe { mem::zeroed() }).collect();
        let mut iovs: Vec<libc::iovec> = bufs[..count]
            .iter_mut()
            .map(|b| libc::iovec { iov_base: b.as_mut_ptr().cast(), iov_len: b.len() })
            .collect();
        // SAFETY: as above.
        let mut msgs: Vec<libc::mmsghdr> = (0..count).map(|_| unsafe { mem::zeroed() }).collect();
        for ((m, a), iov) in msgs.iter_mut().zip(addrs.iter_mut()).zip(iovs.iter_mut()) {
            m.msg_hdr.msg_name = ptr::from_mut(a).cast();
            m.msg_hdr.msg_namelen = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            m.msg_hdr.msg_iov = iov;
            m.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `msgs` holds `count` headers pointing into `addrs`, `iovs` and the caller's
        // buffers (each `iov_len` is its buffer's length), all alive until the call returns;
        // a null timeout with MSG_DONTWAIT never blocks.
        let n = unsafe {
            libc::recvmmsg(fd, msgs.as_mut_ptr(), count as libc::c_uint, libc::MSG_DONTWAIT, ptr::null_mut())
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            return if err.kind() == io::ErrorKind::WouldBlock { Ok(0) } else { Err(err) };
        }
        let n = n as usize;
        for i in 0..n {
            let a = &addrs[i];
            envelopes[i] = Envelope {
                len: (msgs[i].msg_len as usize).min(bufs[i].len()),
                source: SocketAddrV4::new(
                    Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                    u16::from_be(a.sin_port),
                ),
                truncated: msgs[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
            };
        }
        Ok(n)
    }

    pub fn wait_readable(fd: RawFd, timeout: Duration) -> io::Result<bool> {
        let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // Rounded up: a wait shorter than a millisecond must not become a busy loop of zero waits.
        let ms = libc::c_int::try_from(timeout.as_micros().div_ceil(1000)).unwrap_or(libc::c_int::MAX);
        // SAFETY: one live `pollfd`, count 1.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n < 0 {
            let err = io::Error::last_os_error();
            return if err.kind() == io::ErrorKind::Interrupted { Ok(false) } else { Err(err) };
        }
        Ok(n > 0)
    }
}
