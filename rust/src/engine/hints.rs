//! What the engine learned of each target, for its next poll: the size of its tables, to size
//! the next walk of them, and the version an `auto` target answered in.
//!
//! A walk asks GETBULK for `max_repetitions` varbinds at a time and ends at the first varbind
//! past its root. Without knowing the table, its last request brings back up to that many
//! varbinds of whatever follows it, and a table longer than one request's worth takes two or
//! three requests. A printer's tables keep their size from one poll to the next (the supplies
//! and markers it has, an alert or two), so after a walk the engine keeps, per target address
//! and root, how many varbinds the walk found and how large its answers were; the next walk of
//! that table asks, in its first request, for exactly those varbinds and one more (the one that
//! says the table ended). A walk is then one request, and brings back one varbind past its
//! table instead of up to `max_repetitions`.
//!
//! A hint only sizes requests: a walk still goes on until a varbind leaves its root, so a table
//! that grew takes another request and one that shrank ends early; what is read never depends
//! on the hint (`rust/tests/engine_udp.rs` checks walks against recordings with wrong hints).
//! The first request's answer is estimated from the last walk's bytes per varbind and kept
//! within [`RESPONSE_BUDGET`] (one Ethernet frame, no IP fragments; an estimate: varbinds may be
//! longer this time), but never asks fewer than `max_repetitions` on that account; nor more
//! than the size that worked after an agent answered `tooBig` (for every request of the walk),
//! nor more than `max_repetitions` after a larger request went unanswered.
//!
//! An SNMPv1 walk (GETNEXT, one varbind a request) of a table whose columns are known reads
//! them side by side instead ([`super::columns`]); an agent that does not take that is walked
//! plain, then and at later polls ([`COLUMNS_REFUSED`]).
//!
//! A target polled with `version="auto"` is tried in v2c and v1 in turn until one answers; an
//! agent that speaks only v1 cost every poll a v2c request and its timeout. After a v2c try
//! went unanswered and v1 answered, v1 is tried first for [`VERSION_RECHECK`] polls; then v2c
//! first again (a lost v2c packet does not make a printer a v1 one for good).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddrV4;
use std::sync::{Arc, Mutex, PoisonError};

use super::plan::Target;
use crate::snmp::{Oid, Version};

/// The answer size, in SNMP message bytes, a hinted first request stays within.
pub const RESPONSE_BUDGET: u32 = 1400;
/// Bit 63 of [`Hint::columns`]: the agent did not take a side-by-side walk of the table.
pub const COLUMNS_REFUSED: u64 = 1 << 63;
/// An `auto` target remembered as v1 is tried in v2c first again after this many polls (a
/// printer whose v2c answer was lost once, or that learned v2c, is not read in v1 for good).
pub const VERSION_RECHECK: u8 = 16;
/// Hints kept at most; past that the oldest knowledge is dropped whole (a fleet of 100,000
/// printers walks about 500,000 tables).
pub const MAX_HINTS: usize = 2_000_000;

/// What the last whole walk of one table at one address found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hint {
    /// Varbinds under the root.
    pub rows: u32,
    /// Answer bytes per varbind received (rounded up; headers included).
    pub bytes_per_varbind: u16,
    /// The most repetitions to ask (0: no limit learned): the size that worked after a
    /// `tooBig`, or the configured size after a larger request went unanswered.
    pub limit: u16,
    /// The table's columns seen (bit `c - 1` for `root.1.c`, c up to 63): an SNMPv1 walk reads
    /// them side by side ([`super::columns`]); bit 63, [`COLUMNS_REFUSED`].
    pub columns: u64,
}

impl Hint {
    /// The max-repetitions of a walk's first request, given the configured `default`: the rows
    /// and one more, up to what fits [`RESPONSE_BUDGET`] (or `default`, if more) and the limit.
    #[must_use]
    pub fn first_request(&self, default: u32) -> u32 {
        let fits = RESPONSE_BUDGET / u32::from(self.bytes_per_varbind.max(1));
        let mut ceiling = fits.max(default);
        if self.limit > 0 {
            ceiling = ceiling.min(u32::from(self.limit));
        }
        self.rows.saturating_add(1).clamp(1, ceiling.clamp(1, 1000))
    }
}

/// Inserts into a map of at most [`MAX_HINTS`] entries (full: emptied first).
fn insert_bounded<K: Eq + Hash, V>(map: &mut HashMap<K, V>, key: K, value: V) {
    if map.len() >= MAX_HINTS && !map.contains_key(&key) {
        map.clear();
    }
    map.insert(key, value);
}

/// Hints by target address and walk root, and versions by address and community, shared by the
/// batches of one engine.
#[derive(Debug, Default)]
pub struct WalkHints {
    hints: Mutex<HashMap<(SocketAddrV4, u64), Hint>>,
    /// The version, and the polls that asked it since it was learned.
    versions: Mutex<HashMap<(SocketAddrV4, u64), (Version, u8)>>,
}

/// The key of an `auto` target's community at its address (see [`WalkHints::version`]).
#[must_use]
pub fn community_key(community: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    community.hash(&mut h);
    h.finish()
}

/// The key of a table at a target's address: a hash of the root's encoding and of what tells
/// apart the agents or views behind one address (the community; an SNMPv3 user and context).
/// Two tables that collide share a hint, which only costs a request.
#[must_use]
pub fn table_key(root: Oid<'_>, target: &Target) -> u64 {
    let mut h = DefaultHasher::new();
    root.as_ber().hash(&mut h);
    match &target.v3 {
        Some(v3) => (1u8, &v3.user, &v3.context).hash(&mut h),
        None => (0u8, &target.community).hash(&mut h),
    }
    h.finish()
}

impl WalkHints {
    #[must_use]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The hints of each of `roots` at `addr` (None where nothing is known).
    #[must_use]
    pub fn lookup(&self, addr: SocketAddrV4, roots: &[u64]) -> Vec<Option<Hint>> {
        let map = self.hints.lock().unwrap_or_else(PoisonError::into_inner);
        roots.iter().map(|r| map.get(&(addr, *r)).copied()).collect()
    }

    #[must_use]
    pub fn get(&self, addr: SocketAddrV4, root: u64) -> Option<Hint> {
        self.hints.lock().unwrap_or_else(PoisonError::into_inner).get(&(addr, root)).copied()
    }

    /// Keeps what walks at `addr` learned (`None`: forget that root's hint).
    pub fn put(&self, addr: SocketAddrV4, learned: impl IntoIterator<Item = (u64, Option<Hint>)>) {
        let mut map = self.hints.lock().unwrap_or_else(PoisonError::into_inner);
        for (root, hint) in learned {
            match hint {
                Some(h) => insert_bounded(&mut map, (addr, root), h),
                None => {
                    map.remove(&(addr, root));
                }
            }
        }
    }

    /// The version an `auto` target at `addr` with this community ([`community_key`]) is tried
    /// in first: the one it answered in, for [`VERSION_RECHECK`] polls (then forgotten).
    pub fn version(&self, addr: SocketAddrV4, community: u64) -> Option<Version> {
        let mut map = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = map.get_mut(&(addr, community))?;
        if entry.1 >= VERSION_RECHECK {
            map.remove(&(addr, community));
            return None;
        }
        entry.1 += 1;
        Some(entry.0)
    }

    /// An `auto` target answered in `version`, after a v2c try went unanswered or not
    /// (`v2c_unanswered`): v1 is remembered only after v2c went unanswered; v2c, the first tried
    /// anyway, forgets what was remembered.
    pub fn answered(&self, addr: SocketAddrV4, community: u64, version: Version, v2c_unanswered: bool) {
        let mut map = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
        if version == Version::V1 && v2c_unanswered {
            insert_bounded(&mut map, (addr, community), (version, 0));
        } else if version != Version::V1 {
            map.remove(&(addr, community));
        }
    }

    /// Tables known (the versions are not counted).
    #[must_use]
    pub fn len(&self) -> usize {
        self.hints.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(rows: u32, bytes_per_varbind: u16, limit: u16) -> Hint {
        Hint { rows, bytes_per_varbind, limit, columns: 0 }
    }

    #[test]
    fn the_first_request_asks_the_rows_and_one_more() {
        assert_eq!(hint(0, 30, 0).first_request(25), 1, "an empty table: the varbind after it");
        assert_eq!(hint(14, 30, 0).first_request(25), 15);
        assert_eq!(hint(40, 25, 0).first_request(25), 41, "over the default, within the budget");
    }

    #[test]
    fn the_first_request_stays_within_the_budget_and_the_limit() {
        // 56 rows of 40 bytes: 35 fit in 1,400 bytes.
        assert_eq!(hint(56, 40, 0).first_request(25), 35);
        // Large varbinds: never below the configured size.
        assert_eq!(hint(56, 200, 0).first_request(25), 25);
        assert_eq!(hint(56, 20, 12).first_request(25), 12, "the size that worked after tooBig");
        assert_eq!(hint(5000, 1, 0).first_request(25), 1000, "GETBULK's own bound");
        assert_eq!(hint(3, 0, 0).first_request(25), 4);
    }

    #[test]
    fn hints_are_kept_per_address_and_root() {
        let hints = WalkHints::new();
        let a = SocketAddrV4::new([127, 0, 0, 1].into(), 161);
        let b = SocketAddrV4::new([127, 0, 0, 2].into(), 161);
        hints.put(a, [(1, Some(hint(9, 30, 0))), (2, Some(hint(0, 30, 0)))]);
        assert_eq!(hints.lookup(a, &[1, 2, 3]), vec![Some(hint(9, 30, 0)), Some(hint(0, 30, 0)), None]);
        assert_eq!(hints.lookup(b, &[1]), vec![None]);
        hints.put(a, [(1, None)]);
        assert_eq!(hints.lookup(a, &[1, 2]), vec![None, Some(hint(0, 30, 0))]);
        assert_eq!(hints.len(), 1);
        let public = community_key(b"public");
        assert_eq!(hints.version(a, public), None);
        hints.answered(a, public, Version::V1, false);
        assert_eq!(hints.version(a, public), None, "v1 answered first: v2c was not tried");
        hints.answered(a, public, Version::V1, true);
        assert_eq!(hints.version(a, community_key(b"private")), None);
        for _ in 0..VERSION_RECHECK {
            assert_eq!(hints.version(a, public), Some(Version::V1));
        }
        assert_eq!(hints.version(a, public), None, "v2c first again, now and then");
        hints.answered(a, public, Version::V1, true);
        hints.answered(a, public, Version::V2C, false);
        assert_eq!(hints.version(a, public), None);
    }
}
