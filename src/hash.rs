//! FNV-1a, 64 bits: a hash whose value is fixed by its definition, so it can name things
//! that are stored (source fingerprints, alert ids) and stay the same across Rust versions
//! and machines, which `std`'s `DefaultHasher` does not promise.

/// FNV-1a of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_continue(0xcbf2_9ce4_8422_2325, bytes)
}

/// Continues an FNV-1a hash `state` over more bytes.
pub fn fnv1a_continue(state: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(state, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_test_vectors() {
        // From the FNV reference (draft-eastlake-fnv): "" and "a".
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_continue(fnv1a(b"fo"), b"obar"), fnv1a(b"foobar"));
    }
}
