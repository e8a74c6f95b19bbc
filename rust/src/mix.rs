//! Well-mixed 64-bit hashes for draws that must be reproducible from a seed (the simulator's
//! identities and dynamics) or merely unpredictable (the ICMP sweep's identifier and cookie).
//! Not for security.

/// SplitMix64's finalizer: a well-mixed 64-bit hash of `x`.
#[must_use]
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A hash of several words, order-sensitive.
#[must_use]
pub fn hash(words: &[u64]) -> u64 {
    words.iter().fold(0x5eed_u64, |h, &w| mix(h ^ mix(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_every_word_matter() {
        assert_ne!(hash(&[1, 2]), hash(&[2, 1]));
        assert_ne!(hash(&[1, 2]), hash(&[1, 2, 0]));
        assert_eq!(hash(&[7, 8, 9]), hash(&[7, 8, 9]));
        // SplitMix64's first output for seed 0 (its state advanced once by the golden gamma).
        assert_eq!(mix(0), 0xe220_a839_7b1d_cdaf);
    }
}
