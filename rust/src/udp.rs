//! Batched UDP for the engine and the simulator (Linux): `recvmmsg`/`sendmmsg`, up to a batch
//! of datagrams per system call, with optional `IP_PKTINFO` control messages (the simulator's
//! replies leave from each printer's own address) and `SO_TIMESTAMPNS` (when the kernel took a
//! datagram in: the engine's round-trip times stay exact while its turns are coalesced), which
//! std's `UdpSocket` cannot do. The
//! platform's `unsafe` code lives here and nowhere else in the crate. Every pointer handed to the kernel
//! points into buffers owned by the batch (or the caller's slices) that outlive the call, and
//! every header is rebuilt just before the call that uses it.
#![allow(unsafe_code)]

use std::io;
use std::mem;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::RawFd;
use std::ptr;
use std::time::Duration;

/// Control-message space per datagram, aligned for `cmsghdr` (an `in_pktinfo` and a `timespec`
/// take 32 bytes each with their headers).
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct Cmsg([u8; 96]);

/// One received datagram.
#[derive(Debug, Clone, Copy)]
pub struct Received<'b> {
    pub data: &'b [u8],
    pub source: SocketAddrV4,
    /// The datagram's destination address (`IP_PKTINFO`'s `ipi_addr`).
    pub destination: Option<Ipv4Addr>,
    /// The datagram was larger than its slot and was cut (it must not be answered).
    pub truncated: bool,
    /// When the kernel received it (`SO_TIMESTAMPNS`: the system clock, since the Unix epoch),
    /// if the socket asked for it ([`enable_timestamps`]).
    pub received_at: Option<Duration>,
}

/// One datagram to send: `data` to `to`, leaving from `from` (`IP_PKTINFO`'s `ipi_spec_dst`)
/// when given, else from whatever address the kernel picks.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'d> {
    pub data: &'d [u8],
    pub from: Option<Ipv4Addr>,
    pub to: SocketAddrV4,
}

fn zeroed_name() -> libc::sockaddr_in {
    // SAFETY: `sockaddr_in` is a plain C struct for which all-zero is valid.
    unsafe { mem::zeroed() }
}

fn zeroed_header() -> libc::mmsghdr {
    // SAFETY: `mmsghdr` is a plain C struct (null pointers, zero lengths) for which all-zero is valid.
    unsafe { mem::zeroed() }
}

/// Buffers for receiving up to `slots` datagrams of up to `slot_len` bytes in one call.
pub struct RecvBatch {
    slot_len: usize,
    bufs: Vec<u8>,
    names: Vec<libc::sockaddr_in>,
    iovs: Vec<libc::iovec>,
    cmsgs: Vec<Cmsg>,
    headers: Vec<libc::mmsghdr>,
    filled: usize,
}

// SAFETY: the raw pointers in a batch's headers point only into the batch's own heap buffers
// (or, for sends, the caller's slices during one call) and are rebuilt before every system call,
// so a batch may move to another thread: nothing else ever reads through them.
unsafe impl Send for RecvBatch {}
// SAFETY: as for `RecvBatch`.
unsafe impl Send for SendBatch {}

impl RecvBatch {
    #[must_use]
    pub fn new(slots: usize, slot_len: usize) -> Self {
        Self {
            slot_len,
            bufs: vec![0; slots * slot_len],
            names: vec![zeroed_name(); slots],
            iovs: vec![libc::iovec { iov_base: ptr::null_mut(), iov_len: 0 }; slots],
            cmsgs: vec![Cmsg([0; 96]); slots],
            headers: vec![zeroed_header(); slots],
            filled: 0,
        }
    }

    /// The number of datagrams of the last [`recv_batch`].
    #[must_use]
    pub fn filled(&self) -> usize {
        self.filled
    }

    /// Datagram `k` of the last [`recv_batch`] (`k < len()`).
    #[must_use]
    pub fn get(&self, k: usize) -> Received<'_> {
        let h = &self.headers[k];
        let len = (h.msg_len as usize).min(self.slot_len);
        let name = &self.names[k];
        let source = SocketAddrV4::new(
            Ipv4Addr::from(u32::from_be(name.sin_addr.s_addr)),
            u16::from_be(name.sin_port),
        );
        let (mut destination, mut received_at) = (None, None);
        // SAFETY: `h.msg_hdr` was filled in by `recvmmsg`; its control pointer and length point
        // into `self.cmsgs[k]` (set by `recv_batch`, unchanged since); the CMSG_* macros walk
        // only the control bytes the kernel reported, and each payload (an `in_pktinfo`, a
        // `timespec`) is read unaligned, only from a message long enough to hold it.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&h.msg_hdr);
            while !cmsg.is_null() {
                let (level, kind) = ((*cmsg).cmsg_level, (*cmsg).cmsg_type);
                let len = (*cmsg).cmsg_len as usize;
                if level == libc::IPPROTO_IP
                    && kind == libc::IP_PKTINFO
                    && len >= libc::CMSG_LEN(mem::size_of::<libc::in_pktinfo>() as u32) as usize
                {
                    let info: libc::in_pktinfo = ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                    destination = Some(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr)));
                } else if level == libc::SOL_SOCKET
                    && kind == libc::SCM_TIMESTAMPNS
                    && (*cmsg).cmsg_len as usize
                        >= libc::CMSG_LEN(mem::size_of::<libc::timespec>() as u32) as usize
                {
                    let ts: libc::timespec = ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                    if let (Ok(secs), Ok(nanos)) = (u64::try_from(ts.tv_sec), u32::try_from(ts.tv_nsec)) {
                        received_at = Some(Duration::new(secs, nanos));
                    }
                }
                cmsg = libc::CMSG_NXTHDR(&h.msg_hdr, cmsg);
            }
        }
        Received {
            data: &self.bufs[k * self.slot_len..][..len],
            source,
            destination,
            truncated: h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
            received_at,
        }
    }
}

pub fn enable_pktinfo(fd: RawFd) -> io::Result<()> {
    set_flag(fd, libc::IPPROTO_IP, libc::IP_PKTINFO)
}

/// Asks the kernel to stamp each received datagram with the time it took it in
/// ([`Received::received_at`]).
pub fn enable_timestamps(fd: RawFd) -> io::Result<()> {
    set_flag(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS)
}

fn set_flag(fd: RawFd, level: libc::c_int, option: libc::c_int) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `fd` is an open socket; the option value points to a live `c_int` whose size is
    // passed alongside.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            option,
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

/// Asks for socket buffers of `bytes` each way, so that a burst of datagrams waits in the queue
/// instead of being dropped. With `CAP_NET_ADMIN` (root) the `FORCE` options pass the kernel's
/// `rmem_max`/`wmem_max` caps (often 208 KiB); without it the capped size is taken.
pub fn set_buffers(fd: RawFd, bytes: usize) -> io::Result<()> {
    let size = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    for (forced, option) in [(libc::SO_RCVBUFFORCE, libc::SO_RCVBUF), (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF)]
    {
        // SAFETY: as in `set_flag`: an open socket and a live `c_int` of the stated size.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                forced,
                ptr::from_ref(&size).cast(),
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            continue;
        }
        // SAFETY: as in `set_flag`: an open socket and a live `c_int` of the stated size.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                option,
                ptr::from_ref(&size).cast(),
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Receives up to the batch's size of datagrams: waits for the first (up to the socket's read
/// timeout), then takes whatever else is queued without waiting (`MSG_WAITFORONE`).
pub fn recv_batch(fd: RawFd, batch: &mut RecvBatch) -> io::Result<usize> {
    batch.filled = 0;
    let slots = batch.headers.len();
    for k in 0..slots {
        batch.iovs[k] = libc::iovec {
            iov_base: batch.bufs[k * batch.slot_len..].as_mut_ptr().cast(),
            iov_len: batch.slot_len,
        };
        let h = &mut batch.headers[k];
        *h = zeroed_header();
        h.msg_hdr.msg_name = ptr::from_mut(&mut batch.names[k]).cast();
        h.msg_hdr.msg_namelen = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        h.msg_hdr.msg_iov = &mut batch.iovs[k];
        h.msg_hdr.msg_iovlen = 1;
        h.msg_hdr.msg_control = batch.cmsgs[k].0.as_mut_ptr().cast();
        h.msg_hdr.msg_controllen = mem::size_of::<Cmsg>() as _;
    }
    // SAFETY: `headers` holds `slots` headers, each pointing to its own live name, iovec (into
    // `bufs`, `slot_len` bytes) and control buffer of the stated lengths; a null timeout.
    let n = unsafe {
        libc::recvmmsg(
            fd,
            batch.headers.as_mut_ptr(),
            slots as libc::c_uint,
            libc::MSG_WAITFORONE,
            ptr::null_mut(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    batch.filled = n as usize;
    Ok(batch.filled)
}

/// Reusable headers for [`send_batch`].
#[derive(Default)]
pub struct SendBatch {
    names: Vec<libc::sockaddr_in>,
    iovs: Vec<libc::iovec>,
    cmsgs: Vec<Cmsg>,
    headers: Vec<libc::mmsghdr>,
}

/// What [`send_batch`] did.
#[derive(Debug, Default)]
pub struct Sent {
    pub count: usize,
    /// Payload bytes of the datagrams sent.
    pub bytes: u64,
    /// Datagrams the kernel refused (each skipped): their index in `msgs`, and why.
    pub failures: Vec<(usize, io::Error)>,
    /// The socket is non-blocking and its buffer is full: `msgs[count + failures.len()..]`
    /// were not tried.
    pub blocked: bool,
}

/// Sends `msgs` with as few `sendmmsg` calls as the kernel allows; a message the kernel refuses
/// is skipped and recorded. On a non-blocking socket it stops when the buffer is full.
pub fn send_batch(fd: RawFd, msgs: &[Outgoing<'_>], batch: &mut SendBatch) -> Sent {
    let n = msgs.len();
    batch.names.resize(n, zeroed_name());
    batch.iovs.resize(n, libc::iovec { iov_base: ptr::null_mut(), iov_len: 0 });
    batch.cmsgs.resize(n, Cmsg([0; 96]));
    batch.headers.resize(n, zeroed_header());
    for (k, m) in msgs.iter().enumerate() {
        fill_send(batch, k, m);
    }
    let (mut result, mut at) = (Sent::default(), 0);
    while at < n {
        // SAFETY: headers `at..n` were filled by `fill_send` just above and point to live
        // names, iovecs (into the callers' `data`, only read) and control buffers in `batch`.
        let rc = unsafe { libc::sendmmsg(fd, batch.headers[at..].as_mut_ptr(), (n - at) as libc::c_uint, 0) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            if e.kind() == io::ErrorKind::WouldBlock {
                result.blocked = true;
                break;
            }
            result.failures.push((at, e));
            at += 1; // the first message failed: skip it and go on with the rest
        } else {
            let done = (rc as usize).clamp(1, n - at);
            result.count += done;
            result.bytes += msgs[at..at + done].iter().map(|m| m.data.len() as u64).sum::<u64>();
            at += done;
        }
    }
    result
}

fn fill_send(batch: &mut SendBatch, k: usize, m: &Outgoing<'_>) {
    let name = &mut batch.names[k];
    *name = zeroed_name();
    name.sin_family = libc::AF_INET as libc::sa_family_t;
    name.sin_port = m.to.port().to_be();
    name.sin_addr.s_addr = u32::from(*m.to.ip()).to_be();
    // `sendmmsg` only reads through `iov_base`, despite the `*mut`.
    batch.iovs[k] = libc::iovec { iov_base: m.data.as_ptr().cast_mut().cast(), iov_len: m.data.len() };
    let h = &mut batch.headers[k];
    *h = zeroed_header();
    h.msg_hdr.msg_name = ptr::from_mut(name).cast();
    h.msg_hdr.msg_namelen = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    h.msg_hdr.msg_iov = &mut batch.iovs[k];
    h.msg_hdr.msg_iovlen = 1;
    let Some(from) = m.from else {
        return;
    };
    let info = libc::in_pktinfo {
        ipi_ifindex: 0,
        ipi_spec_dst: libc::in_addr { s_addr: u32::from(from).to_be() },
        ipi_addr: libc::in_addr { s_addr: 0 },
    };
    h.msg_hdr.msg_control = batch.cmsgs[k].0.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE/CMSG_LEN are arithmetic; the one control message they size fits in the
    // 96-byte control buffer (a header plus an `in_pktinfo` take 28), `CMSG_FIRSTHDR` of a
    // non-empty control buffer is its start, and the payload is written unaligned.
    unsafe {
        h.msg_hdr.msg_controllen = libc::CMSG_SPACE(mem::size_of::<libc::in_pktinfo>() as u32) as _;
        let cmsg = libc::CMSG_FIRSTHDR(&h.msg_hdr);
        (*cmsg).cmsg_level = libc::IPPROTO_IP;
        (*cmsg).cmsg_type = libc::IP_PKTINFO;
        (*cmsg).cmsg_len = libc::CMSG_LEN(mem::size_of::<libc::in_pktinfo>() as u32) as _;
        ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast(), info);
    }
}

/// Waits until `fd` can be read, at most `timeout`; false on timeout (or a signal).
pub fn wait_readable(fd: RawFd, timeout: std::time::Duration) -> io::Result<bool> {
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

/// How an ICMP socket is opened (see [`open_icmp`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpKind {
    /// `SOCK_RAW`: needs `CAP_NET_RAW`; receives every ICMP packet of the host, IP header first.
    Raw,
    /// `SOCK_DGRAM` ("ping socket"): allowed when the process's group is within
    /// `net.ipv4.ping_group_range`; the kernel sets the echo identifier and delivers only the
    /// replies to this socket, without the IP header.
    Datagram,
}

/// Opens a non-blocking ICMP socket of `kind`. `PermissionDenied` (`EPERM`/`EACCES`) means the
/// system does not allow it to this process.
pub fn open_icmp(kind: IcmpKind) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let ty = match kind {
        IcmpKind::Raw => libc::SOCK_RAW,
        IcmpKind::Datagram => libc::SOCK_DGRAM,
    };
    // SAFETY: plain system call with constant arguments; the result is checked below.
    let fd = unsafe {
        libc::socket(libc::AF_INET, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, libc::IPPROTO_ICMP)
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a socket just opened by this process and owned by nothing else.
    let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    if kind == IcmpKind::Raw {
        // A raw ICMP socket gets a copy of every ICMP packet of the host (on loopback, our own
        // echo requests too): let the kernel pass echo replies only. Best effort; the sweep
        // checks every packet anyway.
        let _ = only_echo_replies(fd);
    }
    Ok(owned)
}

/// `ICMP_FILTER` (linux/icmp.h), an option of `SOL_RAW`: a bit mask of the ICMP types dropped.
const ICMP_FILTER: libc::c_int = 1;

fn only_echo_replies(fd: RawFd) -> io::Result<()> {
    let mask: u32 = !1; // every type but 0, echo reply
                        // SAFETY: `fd` is an open raw ICMP socket; the option value points to a live `u32` (the
                        // kernel's `struct icmp_filter`) whose size is passed alongside.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_RAW,
            ICMP_FILTER,
            ptr::from_ref(&mask).cast(),
            mem::size_of::<u32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
