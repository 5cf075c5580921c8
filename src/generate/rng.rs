//! Randomness that is the same on every machine.
//!
//! Every part of the generator draws from its own ChaCha8 stream, named by a label and an
//! index (the day, the hour): adding a day or a cast member changes only the streams that
//! depend on it, and no draw order is shared between parts.
//!
//! Only integer arithmetic, `+ - * /` and `sqrt` on `f64` are used here: those are exact
//! under IEEE 754, while `exp`, `ln` and `cos` come from the platform's libm and may differ
//! in the last bit between machines, which would change a rounded count and then every byte
//! after it. Sampling sizes go through `u32`/`u64`, never `usize`, for the same reason.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub type Rand = ChaCha8Rng;

/// The stream for `label` and `index` under `seed`.
pub fn stream(seed: u64, label: &str, index: u64) -> Rand {
    // FNV-1a of the label, then SplitMix64 to spread label and index over the stream id.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in label.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(splitmix(hash ^ splitmix(index)));
    rng
}

/// The stream for `label` and `index` of team `team`: team 0's are [`stream`]'s (so one
/// team generates what the generator always did), team `k`'s are named `label/tk`, so teams
/// never share a draw.
pub fn team_stream(seed: u64, label: &str, team: u32, index: u64) -> Rand {
    if team == 0 { stream(seed, label, index) } else { stream(seed, &format!("{label}/t{team}"), index) }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Uniform in `[0, 1)`.
pub fn unit(rng: &mut Rand) -> f64 {
    rng.random::<f64>()
}

/// True with probability `p`.
pub fn chance(rng: &mut Rand, p: f64) -> bool {
    unit(rng) < p
}

/// Uniform index in `0..n` (`n > 0`).
pub fn pick(rng: &mut Rand, n: usize) -> usize {
    debug_assert!(n > 0);
    rng.random_range(0..n as u64) as usize
}

/// Uniform in `lo..hi` (`lo < hi`), for tick offsets and durations.
pub fn between(rng: &mut Rand, lo: i64, hi: i64) -> i64 {
    debug_assert!(lo < hi);
    lo + rng.random_range(0..(hi - lo) as u64) as i64
}

/// A count with the given mean, distributed like a Poisson count.
///
/// Small means use a binomial with many trials (which converges to Poisson); large ones a
/// normal approximation whose deviate is a sum of twelve uniforms (Irwin–Hall). Neither
/// needs `exp` or `ln`.
pub fn count(rng: &mut Rand, mean: f64) -> u32 {
    if mean.is_nan() || mean <= 0.0 {
        return 0;
    }
    if mean < 24.0 {
        let trials = (mean * 8.0).ceil() as u32 + 8;
        let p = mean / f64::from(trials);
        (0..trials).filter(|_| unit(rng) < p).count() as u32
    } else {
        let z: f64 = (0..12).map(|_| unit(rng)).sum::<f64>() - 6.0;
        (mean + z * mean.sqrt()).round().max(0.0) as u32
    }
}

/// Milliseconds between `lo` and `hi`, skewed towards `lo` like real latencies.
pub fn latency(rng: &mut Rand, lo: u32, hi: u32) -> u32 {
    let spread = f64::from(hi - lo) * unit(rng) * unit(rng);
    lo + spread as u32
}

/// A random (version 4) UUID as a number; [`push_uuid`] prints it.
pub fn uuid(rng: &mut Rand) -> u128 {
    as_uuid_v4(rng.random())
}

/// Sets the version nibble to 4 and the variant bits to 10: what a real `Guid.NewGuid()`
/// looks like.
pub fn as_uuid_v4(raw: u128) -> u128 {
    (raw & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes a UUID as `8-4-4-4-12` lower-case hex.
pub fn push_uuid(buf: &mut Vec<u8>, id: u128) {
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            buf.push(b'-');
        }
        buf.push(HEX[((id >> (124 - 4 * i)) & 0xf) as usize]);
    }
}

/// A UUID as a `String`, for identities and subscriptions.
pub fn uuid_string(rng: &mut Rand) -> String {
    let mut buf = Vec::with_capacity(36);
    push_uuid(&mut buf, uuid(rng));
    String::from_utf8(buf).unwrap_or_default()
}

/// 32 lower-case hex digits: a Key Vault object version.
pub fn version_id(rng: &mut Rand) -> String {
    let raw: u128 = rng.random();
    (0..32).map(|i| HEX[((raw >> (124 - 4 * i)) & 0xf) as usize] as char).collect()
}

/// `n` characters from `alphabet`: fake credentials for the planted leaks.
pub fn token(rng: &mut Rand, alphabet: &[u8], n: usize) -> String {
    (0..n).map(|_| alphabet[pick(rng, alphabet.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let mut rng = stream(1, "t", 0);
        let mut buf = Vec::new();
        push_uuid(&mut buf, uuid(&mut rng));
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(text.len(), 36);
        assert_eq!(&text[14..15], "4");
        assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn count_has_the_mean() {
        let mut rng = stream(7, "count", 0);
        for mean in [0.3, 3.0, 20.0, 300.0] {
            let total: u64 = (0..4000).map(|_| u64::from(count(&mut rng, mean))).sum();
            let observed = total as f64 / 4000.0;
            assert!((observed - mean).abs() < mean * 0.08 + 0.05, "mean {mean}: {observed}");
        }
    }

    #[test]
    fn streams_differ_and_repeat() {
        let a: u64 = stream(42, "people", 3).random();
        let b: u64 = stream(42, "people", 4).random();
        let c: u64 = stream(42, "people", 3).random();
        assert_ne!(a, b);
        assert_eq!(a, c);
    }
}
