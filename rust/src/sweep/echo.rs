//! ICMP echo messages (RFC 792), sans-I/O: a request that carries the target's index and the
//! sweep's cookie, and the checks that make a reply count (type, code, identifier, cookie).

/// ICMP header (8) plus the payload: the target's index and the sweep's cookie (4 + 4).
pub const REQUEST_LEN: usize = 16;
const ECHO_REPLY: u8 = 0;
const ECHO_REQUEST: u8 = 8;
const IPPROTO_ICMP: u8 = 1;

/// The Internet checksum (RFC 1071) of `data`.
#[must_use]
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 =
        data.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The echo request for target `index` of a sweep with `identifier` and `cookie`.
#[must_use]
pub fn request(identifier: u16, index: u32, cookie: u32) -> [u8; REQUEST_LEN] {
    let mut p = [0u8; REQUEST_LEN];
    p[0] = ECHO_REQUEST;
    p[4..6].copy_from_slice(&identifier.to_be_bytes());
    p[6..8].copy_from_slice(&(index as u16).to_be_bytes());
    p[8..12].copy_from_slice(&index.to_be_bytes());
    p[12..16].copy_from_slice(&cookie.to_be_bytes());
    let sum = checksum(&p);
    p[2..4].copy_from_slice(&sum.to_be_bytes());
    p
}

/// What a received datagram is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// An echo reply to this sweep's request for target `index`.
    Ours(u32),
    /// Something else (another program's ICMP, our own requests looping back on a raw socket,
    /// errors, other sweeps): counted and ignored.
    Other,
    /// Too short, not IPv4/ICMP, or a bad checksum.
    Malformed,
}

/// Reads a datagram from an ICMP socket. `with_ip_header`: a raw socket's datagrams start with
/// the IP header; `check_identifier`: a raw socket sees every echo reply of the host, a
/// datagram socket only its own (whose identifier the kernel chose).
#[must_use]
pub fn parse(data: &[u8], with_ip_header: bool, identifier: Option<u16>, cookie: u32) -> Reply {
    let icmp = if with_ip_header {
        let Some(&first) = data.first() else { return Reply::Malformed };
        let ihl = usize::from(first & 0x0f) * 4;
        if first >> 4 != 4 || ihl < 20 || data.len() < ihl || data[9] != IPPROTO_ICMP {
            return Reply::Malformed;
        }
        &data[ihl..]
    } else {
        data
    };
    if icmp.len() < 8 {
        return Reply::Malformed;
    }
    if checksum(icmp) != 0 {
        return Reply::Malformed;
    }
    if icmp[0] != ECHO_REPLY || icmp[1] != 0 || icmp.len() < REQUEST_LEN {
        return Reply::Other;
    }
    if identifier.is_some_and(|id| u16::from_be_bytes([icmp[4], icmp[5]]) != id) {
        return Reply::Other;
    }
    let index = u32::from_be_bytes([icmp[8], icmp[9], icmp[10], icmp[11]]);
    let got_cookie = u32::from_be_bytes([icmp[12], icmp[13], icmp[14], icmp[15]]);
    if got_cookie != cookie || u16::from_be_bytes([icmp[6], icmp[7]]) != index as u16 {
        return Reply::Other;
    }
    Reply::Ours(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_reply(mut p: [u8; REQUEST_LEN]) -> [u8; REQUEST_LEN] {
        p[0] = ECHO_REPLY;
        p[2..4].copy_from_slice(&[0, 0]);
        let sum = checksum(&p);
        p[2..4].copy_from_slice(&sum.to_be_bytes());
        p
    }

    #[test]
    fn a_request_checksums_to_zero_and_its_reply_is_ours() {
        let req = request(0x1234, 70_000, 0xdead_beef);
        assert_eq!(checksum(&req), 0);
        let rep = as_reply(req);
        assert_eq!(parse(&rep, false, Some(0x1234), 0xdead_beef), Reply::Ours(70_000));
        assert_eq!(parse(&rep, false, None, 0xdead_beef), Reply::Ours(70_000));
    }

    #[test]
    fn others_and_garbage_are_told_apart() {
        let rep = as_reply(request(7, 5, 9));
        assert_eq!(parse(&rep, false, Some(8), 9), Reply::Other);
        assert_eq!(parse(&rep, false, Some(7), 10), Reply::Other);
        assert_eq!(parse(&request(7, 5, 9), false, Some(7), 9), Reply::Other);
        assert_eq!(parse(&rep[..6], false, Some(7), 9), Reply::Malformed);
        let mut bad = rep;
        bad[10] ^= 1;
        assert_eq!(parse(&bad, false, Some(7), 9), Reply::Malformed);
        assert_eq!(parse(&[], true, None, 9), Reply::Malformed);
    }

    #[test]
    fn skips_the_ip_header_of_a_raw_socket() {
        let rep = as_reply(request(7, 5, 9));
        let mut packet = vec![0x45, 0, 0, 36, 0, 0, 0, 0, 64, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1];
        packet.extend_from_slice(&rep);
        assert_eq!(parse(&packet, true, Some(7), 9), Reply::Ours(5));
        packet[9] = 17;
        assert_eq!(parse(&packet, true, Some(7), 9), Reply::Malformed);
    }
}
