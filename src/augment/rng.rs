//! Deterministic per-sample randomness: `sample_rng(seed, epoch, id)` and Python-`random`-style draws.
//!
//! The output of an augmentation depends only on (seed, epoch, sample id): the stream is a
//! ChaCha8 generator keyed by those three values, so worker count and processing order never
//! change what a sample gets. The draw helpers reproduce the *distributions* of Python's
//! `random` as albumentations 0.3.1 uses it (not its exact stream):
//! `uniform(a, b) = a + (b - a) * U[0, 1)`, `randint(a, b)` inclusive on both ends,
//! and a transform with probability p runs when `U[0, 1) < p`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The generator type every transform draws from.
pub type AugRng = ChaCha8Rng;

/// The generator for one sample in one epoch.
///
/// The 256-bit ChaCha key is `seed (8 bytes LE) | epoch (8 bytes LE) | h1(id) | h2(id)` with two
/// independent 64-bit FNV-1a hashes of the id, so distinct ids collide only if both hashes do.
/// This derivation is part of the reproducibility contract: changing it changes every dataset
/// produced by `pneumoflow augment`.
pub fn sample_rng(seed: u64, epoch: u64, sample_id: &str) -> AugRng {
    let mut key = [0u8; 32];
    key[0..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&epoch.to_le_bytes());
    key[16..24]
        .copy_from_slice(&fnv1a64(sample_id.as_bytes(), 0xcbf2_9ce4_8422_2325).to_le_bytes());
    key[24..32]
        .copy_from_slice(&fnv1a64(sample_id.as_bytes(), 0x6c62_272e_07bb_0142).to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

fn fnv1a64(bytes: &[u8], basis: u64) -> u64 {
    let mut h = basis;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Length and a final avalanche so that prefixes do not share low bits.
    h ^= bytes.len() as u64;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// `U[0, 1)` with 53 random bits (Python's `random.random()` distribution).
pub fn random01<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    rng.random::<f64>()
}

/// Python's `random.uniform(lo, hi)`: `lo + (hi - lo) * U[0, 1)`; returns `lo` when `lo == hi`.
pub fn uniform<R: Rng + ?Sized>(rng: &mut R, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * random01(rng)
}

/// Python's `random.randint(lo, hi)`: uniform integer in `[lo, hi]`, both inclusive.
///
/// # Panics
/// If `lo > hi`.
pub fn randint<R: Rng + ?Sized>(rng: &mut R, lo: i64, hi: i64) -> i64 {
    rng.random_range(lo..=hi)
}

/// `true` with probability `p` (`U[0, 1) < p`), as albumentations decides whether to apply.
pub fn coin<R: Rng + ?Sized>(rng: &mut R, p: f64) -> bool {
    random01(rng) < p
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn sample_rng_depends_on_all_three_inputs_only() {
        let a = sample_rng(1, 2, "1.2.3").next_u64();
        assert_eq!(a, sample_rng(1, 2, "1.2.3").next_u64());
        assert_ne!(a, sample_rng(0, 2, "1.2.3").next_u64());
        assert_ne!(a, sample_rng(1, 3, "1.2.3").next_u64());
        assert_ne!(a, sample_rng(1, 2, "1.2.4").next_u64());
        assert_ne!(
            sample_rng(1, 2, "ab").next_u64(),
            sample_rng(1, 2, "ab\0").next_u64()
        );
    }

    #[test]
    fn uniform_pinned_range_is_constant() {
        let mut rng = sample_rng(0, 0, "x");
        for _ in 0..100 {
            assert_eq!(uniform(&mut rng, 0.1, 0.1), 0.1);
        }
    }

    #[test]
    fn randint_is_inclusive() {
        let mut rng = sample_rng(0, 0, "x");
        let mut seen = [false; 3];
        for _ in 0..200 {
            seen[(randint(&mut rng, 5, 7) - 5) as usize] = true;
        }
        assert_eq!(seen, [true; 3]);
    }
}
