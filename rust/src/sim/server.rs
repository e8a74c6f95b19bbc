//! A UDP server answering for a fleet of simulated printers on consecutive loopback addresses.
//!
//! One socket is bound to the wildcard address with `IP_PKTINFO` enabled, so each datagram's
//! destination address is known: printer `i` is `base + i` (`i < count`), anything else is
//! dropped. The reply is sent with `IP_PKTINFO` naming that destination as its source, so it
//! comes *from* the printer's address, as a client matching replies by address expects.
//! Linux only (all of `127.0.0.0/8` is local there). Only loopback fleets are accepted.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::fleet::Fleet;

/// How often an idle server looks at the stop flag and the deadline.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Larger than any UDP datagram, so nothing is truncated silently.
const RECV_BUFFER: usize = 65_536;

/// Where the fleet lives and how long to serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// The first printer's address (must be in `127.0.0.0/8`).
    pub base: Ipv4Addr,
    /// The number of printers: `base .. base + count`, all within `127.0.0.0/8`.
    pub count: u32,
    /// The UDP port every printer answers on (0: any free port, see [`Server::port`]).
    pub port: u16,
    /// Stop by itself after this long (`None`: only when the stop flag is set).
    pub duration: Option<Duration>,
}

impl ServerConfig {
    /// The printer index of `addr`, if it is one of the fleet's addresses.
    #[must_use]
    pub fn index_of(&self, addr: Ipv4Addr) -> Option<usize> {
        let offset = u32::from(addr).wrapping_sub(u32::from(self.base));
        (offset < self.count).then_some(offset as usize)
    }

    /// The address of printer `index`, if it is in the fleet.
    #[must_use]
    pub fn address(&self, index: u32) -> Option<Ipv4Addr> {
        (index < self.count).then(|| Ipv4Addr::from(u32::from(self.base) + index))
    }

    /// Checks that the fleet is non-empty and lies entirely within `127.0.0.0/8`.
    pub fn validate(&self) -> io::Result<()> {
        let invalid = |msg: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, msg.to_string()));
        if self.count == 0 {
            return invalid("the fleet has no printers (count 0)");
        }
        let Some(last) = u32::from(self.base).checked_add(self.count - 1) else {
            return invalid("the fleet's addresses overflow");
        };
        if !self.base.is_loopback() || !Ipv4Addr::from(last).is_loopback() {
            return invalid("the fleet's addresses must all be within 127.0.0.0/8");
        }
        Ok(())
    }
}

/// What a server did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Datagrams received (for any address).
    pub received: u64,
    /// Replies sent.
    pub answered: u64,
    /// Datagrams not answered: outside the fleet, truncated, or dropped by the agent.
    pub dropped: u64,
    /// Replies the kernel refused to send (also counted in `dropped`).
    pub send_errors: u64,
    /// UDP payload bytes received (every datagram, answered or not).
    pub bytes_received: u64,
    /// UDP payload bytes of the replies sent.
    pub bytes_sent: u64,
}

/// [`ServerStats`] that another thread can read while the server runs.
#[derive(Debug, Default)]
pub struct SharedStats {
    received: AtomicU64,
    answered: AtomicU64,
    dropped: AtomicU64,
    send_errors: AtomicU64,
    bytes_received: AtomicU64,
    bytes_sent: AtomicU64,
}

impl SharedStats {
    /// The counts so far.
    #[must_use]
    pub fn snapshot(&self) -> ServerStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ServerStats {
            received: get(&self.received),
            answered: get(&self.answered),
            dropped: get(&self.dropped),
            send_errors: get(&self.send_errors),
            bytes_received: get(&self.bytes_received),
            bytes_sent: get(&self.bytes_sent),
        }
    }

    /// Adds a batch of counts.
    pub fn add(&self, delta: &ServerStats) {
        let add = |a: &AtomicU64, n: u64| {
            if n != 0 {
                a.fetch_add(n, Ordering::Relaxed);
            }
        };
        add(&self.received, delta.received);
        add(&self.answered, delta.answered);
        add(&self.dropped, delta.dropped);
        add(&self.send_errors, delta.send_errors);
        add(&self.bytes_received, delta.bytes_received);
        add(&self.bytes_sent, delta.bytes_sent);
    }
}

/// A bound fleet server: bind first (learning the port), then [`run`](Server::run).
#[derive(Debug)]
pub struct Server {
    socket: UdpSocket,
    config: ServerConfig,
}

impl Server {
    /// Binds the wildcard address on `config.port` with `IP_PKTINFO` enabled.
    pub fn bind(config: ServerConfig) -> io::Result<Self> {
        config.validate()?;
        let socket = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, config.port))?;
        sys::enable_pktinfo(socket.as_raw_fd())?;
        socket.set_read_timeout(Some(POLL_INTERVAL))?;
        Ok(Self { socket, config })
    }

    /// The UDP port the printers answer on.
    pub fn port(&self) -> io::Result<u16> {
        Ok(self.socket.local_addr()?.port())
    }

    #[must_use]
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Serves until `stop` is set or the configured duration has passed (checked at least every
    /// 50 ms), then returns what it did.
    pub fn run(&self, fleet: &Fleet, stop: &AtomicBool) -> io::Result<ServerStats> {
        let stats = SharedStats::default();
        self.run_with(fleet, stop, &stats)?;
        Ok(stats.snapshot())
    }

    /// Like [`Server::run`], counting into `stats` as it goes (readable from other threads).
    pub fn run_with(&self, fleet: &Fleet, stop: &AtomicBool, stats: &SharedStats) -> io::Result<()> {
        if fleet.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "the fleet has no agents"));
        }
        let deadline = self.config.duration.map(|d| Instant::now() + d);
        let fd = self.socket.as_raw_fd();
        let mut buf = vec![0u8; RECV_BUFFER];
        let mut out = Vec::with_capacity(RECV_BUFFER);
        while !stop.load(Ordering::Relaxed) && deadline.map_or(true, |d| Instant::now() < d) {
            let received = match sys::recv(fd, &mut buf) {
                Ok(r) => r,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let mut delta =
                ServerStats { received: 1, bytes_received: received.len as u64, ..ServerStats::default() };
            let agent = received
                .destination
                .filter(|_| !received.truncated)
                .and_then(|dst| Some((dst, fleet.agent(self.config.index_of(dst)?)?)));
            match agent {
                Some((dst, agent)) if agent.respond(&buf[..received.len], &mut out).is_some() => {
                    if sys::send(fd, &out, dst, received.source).is_ok() {
                        delta.answered = 1;
                        delta.bytes_sent = out.len() as u64;
                    } else {
                        delta.send_errors = 1;
                        delta.dropped = 1;
                    }
                }
                _ => delta.dropped = 1,
            }
            stats.add(&delta);
        }
        Ok(())
    }
}

/// Binds and runs a server in one call (see [`Server::bind`] and [`Server::run`]).
pub fn serve(fleet: &Fleet, config: &ServerConfig, stop: &AtomicBool) -> io::Result<ServerStats> {
    Server::bind(*config)?.run(fleet, stop)
}

/// The only `unsafe` code of the crate: `recvmsg`/`sendmsg` with `IP_PKTINFO` control messages,
/// which std's `UdpSocket` cannot do. Every pointer handed to the kernel points into locals that
/// outlive the call.
#[allow(unsafe_code)]
mod sys {
    use std::io;
    use std::mem;
    use std::net::{Ipv4Addr, SocketAddrV4};
    use std::os::fd::RawFd;
    use std::ptr;

    /// Control-message space, aligned for `cmsghdr` (room for several `in_pktinfo`).
    #[repr(C, align(8))]
    struct CmsgBuf([u8; 128]);

    pub struct Received {
        pub len: usize,
        pub source: SocketAddrV4,
        /// The datagram's destination address (`IP_PKTINFO`'s `ipi_addr`).
        pub destination: Option<Ipv4Addr>,
        pub truncated: bool,
    }

    pub fn enable_pktinfo(fd: RawFd) -> io::Result<()> {
        let on: libc::c_int = 1;
        // SAFETY: `fd` is an open socket; the option value points to a live `c_int` whose size
        // is passed alongside.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::IPPROTO_IP,
                libc::IP_PKTINFO,
                ptr::from_ref(&on).cast(),
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    pub fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<Received> {
        // SAFETY: `sockaddr_in` and `msghdr` are plain C structs for which all-zero is valid.
        let mut source: libc::sockaddr_in = unsafe { mem::zeroed() };
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
        let mut control = CmsgBuf([0; 128]);
        msg.msg_name = ptr::from_mut(&mut source).cast();
        msg.msg_namelen = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.0.as_mut_ptr().cast();
        msg.msg_controllen = control.0.len() as _;
        // SAFETY: every pointer in `msg` points to a live local (`source`, `iov` -> `buf`,
        // `control`) of the length stated next to it.
        let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut destination = None;
        // SAFETY: `msg` was filled in by `recvmsg`; the CMSG_* macros walk only the control
        // bytes it reported (within `control`), and `CMSG_DATA` of an `IP_PKTINFO` message holds
        // an `in_pktinfo`, read unaligned.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::IPPROTO_IP && (*cmsg).cmsg_type == libc::IP_PKTINFO {
                    let info: libc::in_pktinfo = ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                    destination = Some(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr)));
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
        }
        let source = SocketAddrV4::new(
            Ipv4Addr::from(u32::from_be(source.sin_addr.s_addr)),
            u16::from_be(source.sin_port),
        );
        Ok(Received { len: n as usize, source, destination, truncated: msg.msg_flags & libc::MSG_TRUNC != 0 })
    }

    /// Sends `data` to `to` with source address `from` (`IP_PKTINFO`'s `ipi_spec_dst`).
    pub fn send(fd: RawFd, data: &[u8], from: Ipv4Addr, to: SocketAddrV4) -> io::Result<usize> {
        // SAFETY: plain C structs for which all-zero is valid.
        let mut dest: libc::sockaddr_in = unsafe { mem::zeroed() };
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        dest.sin_family = libc::AF_INET as libc::sa_family_t;
        dest.sin_port = to.port().to_be();
        dest.sin_addr.s_addr = u32::from(*to.ip()).to_be();
        // `sendmsg` only reads through `iov_base`, despite the `*mut`.
        let mut iov = libc::iovec { iov_base: data.as_ptr().cast_mut().cast(), iov_len: data.len() };
        let mut control = CmsgBuf([0; 128]);
        let info = libc::in_pktinfo {
            ipi_ifindex: 0,
            ipi_spec_dst: libc::in_addr { s_addr: u32::from(from).to_be() },
            ipi_addr: libc::in_addr { s_addr: 0 },
        };
        msg.msg_name = ptr::from_mut(&mut dest).cast();
        msg.msg_namelen = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.0.as_mut_ptr().cast();
        // SAFETY: CMSG_SPACE/CMSG_LEN are arithmetic; the one control message they size fits in
        // `control` (128 bytes, far more than a header plus an `in_pktinfo`), `CMSG_FIRSTHDR` of
        // a non-empty control buffer is its start, and the payload is written unaligned.
        // Every pointer in `msg` points to a live local of the length stated next to it.
        let n = unsafe {
            msg.msg_controllen = libc::CMSG_SPACE(mem::size_of::<libc::in_pktinfo>() as u32) as _;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::IPPROTO_IP;
            (*cmsg).cmsg_type = libc::IP_PKTINFO;
            (*cmsg).cmsg_len = libc::CMSG_LEN(mem::size_of::<libc::in_pktinfo>() as u32) as _;
            ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast(), info);
            libc::sendmsg(fd, &msg, 0)
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }
}
