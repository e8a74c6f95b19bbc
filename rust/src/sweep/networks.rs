//! The addresses a sweep visits: IPv4 networks in CIDR notation (or single addresses), minus
//! the excluded ones, in ascending order, each once.

use std::fmt;
use std::net::Ipv4Addr;

/// The most addresses one sweep may visit (a /12): a typo such as `/1` is an error, not a
/// sweep of half the Internet.
pub const MAX_ADDRESSES: usize = 1 << 20;

/// An IPv4 network: `addr/prefix` with the host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

/// A network spec that does not parse, or a sweep that is too large; the message names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkError(pub String);

impl fmt::Display for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NetworkError {}

impl Network {
    /// Parses `a.b.c.d/n` or a single address `a.b.c.d` (a /32). Host bits set below the
    /// prefix are an error (`10.0.0.7/24` is probably a typo for one of two things).
    pub fn parse(spec: &str) -> Result<Self, NetworkError> {
        let bad = |why: &str| NetworkError(format!("{spec:?}: {why}"));
        let (addr, prefix) = match spec.trim().split_once('/') {
            Some((a, p)) => {
                let prefix: u8 = p.parse().map_err(|_| bad("the prefix length must be a number 0-32"))?;
                (a, prefix)
            }
            None => (spec.trim(), 32),
        };
        if prefix > 32 {
            return Err(bad("the prefix length must be at most 32"));
        }
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad("not an IPv4 address or network"))?;
        let network = Self { addr, prefix };
        if u32::from(addr) & !network.mask() != 0 {
            let fixed = Ipv4Addr::from(u32::from(addr) & network.mask());
            return Err(bad(&format!("host bits are set (the network is {fixed}/{prefix})")));
        }
        Ok(network)
    }

    #[must_use]
    pub fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        }
    }

    /// The number of addresses in the network, network and broadcast included.
    #[must_use]
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    #[must_use]
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & self.mask() == u32::from(self.addr)
    }

    /// The hosts a sweep visits: every address but the network and broadcast addresses (for a
    /// /31 or /32, every address), as `fping -g` does.
    pub fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> {
        let first = u64::from(u32::from(self.addr));
        let last = first + self.size() - 1;
        let (from, to) = if self.prefix >= 31 { (first, last) } else { (first + 1, last - 1) };
        (from..=to).map(|a| Ipv4Addr::from(a as u32))
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Every host of `include` that no network of `exclude` contains, ascending, each once.
///
/// Error handling: a spec that does not parse names itself; more than `max` addresses is an
/// error that names the count (nothing is expanded past the limit).
pub fn expand(include: &[&str], exclude: &[&str], max: usize) -> Result<Vec<Ipv4Addr>, NetworkError> {
    let include = include.iter().map(|s| Network::parse(s)).collect::<Result<Vec<_>, _>>()?;
    let exclude = exclude.iter().map(|s| Network::parse(s)).collect::<Result<Vec<_>, _>>()?;
    let total: u64 = include.iter().map(Network::size).sum();
    if total > max as u64 {
        let names: Vec<String> = include.iter().map(ToString::to_string).collect();
        return Err(NetworkError(format!(
            "{} holds {total} addresses, more than the limit of {max} for one sweep",
            names.join(" ")
        )));
    }
    let mut out: Vec<Ipv4Addr> =
        include.iter().flat_map(Network::hosts).filter(|a| !exclude.iter().any(|x| x.contains(*a))).collect();
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_networks_and_single_addresses() {
        assert_eq!(
            Network::parse("10.1.0.0/16").unwrap(),
            Network { addr: Ipv4Addr::new(10, 1, 0, 0), prefix: 16 }
        );
        assert_eq!(Network::parse("10.1.2.3").unwrap().prefix, 32);
        for bad in ["10.1.2.3/24", "10.1.0.0/33", "10.1.0/16", "x", "10.0.0.0/a"] {
            let err = Network::parse(bad).unwrap_err();
            assert!(err.0.contains(bad), "{err}");
        }
    }

    #[test]
    fn expands_without_network_broadcast_or_excluded() {
        let got = expand(&["127.1.0.0/29", "127.1.0.8/31", "127.1.0.3"], &["127.1.0.4/30"], 100).unwrap();
        let want: Vec<Ipv4Addr> = [1, 2, 3, 8, 9].iter().map(|&d| Ipv4Addr::new(127, 1, 0, d)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn refuses_too_large_a_sweep() {
        let err = expand(&["10.0.0.0/8"], &[], MAX_ADDRESSES).unwrap_err();
        assert!(err.0.contains("16777216"), "{err}");
        assert!(expand(&["0.0.0.0/0"], &[], MAX_ADDRESSES).unwrap_err().0.contains("4294967296"));
    }
}
