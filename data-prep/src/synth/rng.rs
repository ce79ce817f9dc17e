//! Deterministic randomness for the synthetic dataset: per-case seeds, the parameter RNG, and a
//! counter-based hash for per-pixel noise (no state, so any pixel can be drawn in any order).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::case::Split;

/// SplitMix64 finaliser: a bijective 64-bit mixer with good avalanche.
#[inline]
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of one case, a pure function of the dataset seed, the split and the case index.
pub(crate) fn case_seed(seed: u64, split: Split, index: u64) -> u64 {
    let tag = match split {
        Split::Train => 0x7472_6169_6e00_0001_u64,
        Split::Test => 0x7465_7374_0000_0002_u64,
    };
    mix64(mix64(seed ^ tag).wrapping_add(mix64(index)))
}

/// The parameter RNG of one case; `stream` separates independent uses (anatomy, ids, ...).
pub(crate) fn case_rng(case_seed: u64, stream: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix64(case_seed ^ mix64(stream.wrapping_add(0x5EED))))
}

/// Uniform draw in `[lo, hi)`; `lo == hi` returns `lo`.
#[inline]
pub(crate) fn uniform(rng: &mut ChaCha8Rng, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * rng.random::<f32>()
}

/// Standard normal draw (Box-Muller).
pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f32 {
    let u1 = rng.random::<f32>().max(1e-7);
    let u2 = rng.random::<f32>();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Stateless per-pixel noise: `gauss(i)` is an approximately standard normal value for counter `i`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PixelNoise {
    key: u64,
}

impl PixelNoise {
    pub(crate) fn new(key: u64) -> Self {
        Self { key: mix64(key) }
    }

    /// Four 16-bit uniforms summed (Irwin-Hall, n = 4), centred and scaled to unit variance.
    #[inline]
    pub(crate) fn gauss(&self, i: u64) -> f32 {
        let h = mix64(self.key ^ i.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        let s = (h & 0xFFFF) + ((h >> 16) & 0xFFFF) + ((h >> 32) & 0xFFFF) + (h >> 48);
        // Mean 4 * 32767.5, variance 4 * (65536^2 - 1) / 12.
        (s as f32 - 131_070.0) * (1.0 / 37_837.2)
    }

    /// A uniform value in `[0, 1)` for counter `i`.
    #[inline]
    pub(crate) fn unit(&self, i: u64) -> f32 {
        (mix64(self.key ^ i.wrapping_mul(0xA076_1D64_78BD_642F)) >> 40) as f32
            * (1.0 / 16_777_216.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_seed_differs_by_split_index_and_seed() {
        let a = case_seed(1, Split::Train, 0);
        assert_ne!(a, case_seed(1, Split::Test, 0));
        assert_ne!(a, case_seed(1, Split::Train, 1));
        assert_ne!(a, case_seed(2, Split::Train, 0));
        assert_eq!(a, case_seed(1, Split::Train, 0));
    }

    #[test]
    fn pixel_noise_has_unit_moments() {
        let n = PixelNoise::new(42);
        let count = 200_000;
        let (mut s, mut s2) = (0.0f64, 0.0f64);
        for i in 0..count {
            let g = f64::from(n.gauss(i));
            s += g;
            s2 += g * g;
        }
        let mean = s / count as f64;
        let var = s2 / count as f64 - mean * mean;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
        let u: f32 = (0..1000).map(|i| n.unit(i)).sum::<f32>() / 1000.0;
        assert!((u - 0.5).abs() < 0.05, "uniform mean {u}");
    }
}
