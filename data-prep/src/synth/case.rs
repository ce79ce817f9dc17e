//! One synthetic case: which split, whether it is positive (22% of each block of 50 indices),
//! its SIIM-style identifiers, and its rendered image and object masks.

use rand::seq::SliceRandom;

pub use crate::shard::format::Split;

use super::ids::CaseIds;
use super::params::sample_case;
use super::render::render;
use super::rng::{case_rng, case_seed, mix64};

/// Cases per stratification block.
pub const POSITIVE_BLOCK: usize = 50;
/// Positive cases in each block of [`POSITIVE_BLOCK`] consecutive indices (22%).
pub const POSITIVES_PER_BLOCK: usize = 11;

/// A generated case: 8-bit image and one 0/1 mask per pneumothorax object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthCase {
    /// Identifiers (ImageId = SOP Instance UID, study, series, patient).
    pub ids: CaseIds,
    /// Split the case was generated for.
    pub split: Split,
    /// Index within the split.
    pub index: usize,
    /// Image height and width in pixels (the generator makes square images).
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// Row-major `height × width` intensities, MONOCHROME2 (air is dark).
    pub image: Vec<u8>,
    /// One row-major `height × width` mask per object, values 0/1, each non-empty.
    pub objects: Vec<Vec<u8>>,
}

impl SynthCase {
    /// The challenge ImageId (file stem of the DICOM, first column of `train-rle.csv`).
    pub fn image_id(&self) -> &str {
        &self.ids.sop_instance_uid
    }

    /// True when the case has at least one pneumothorax object.
    pub fn is_positive(&self) -> bool {
        !self.objects.is_empty()
    }

    /// Union of the object masks (0/1).
    pub fn mask(&self) -> Vec<u8> {
        let mut m = vec![0u8; self.height * self.width];
        for o in &self.objects {
            for (a, &b) in m.iter_mut().zip(o) {
                *a |= b;
            }
        }
        m
    }
}

/// Whether case `index` of `split` is drawn positive: exactly [`POSITIVES_PER_BLOCK`] of each
/// block of [`POSITIVE_BLOCK`] consecutive indices, chosen by a seeded shuffle of the block.
pub fn is_positive_index(seed: u64, split: Split, index: usize) -> bool {
    let block = (index / POSITIVE_BLOCK) as u64;
    let mut order: Vec<usize> = (0..POSITIVE_BLOCK).collect();
    let mut rng = case_rng(mix64(case_seed(seed, split, u64::MAX) ^ block), 7);
    order.shuffle(&mut rng);
    order[..POSITIVES_PER_BLOCK].contains(&(index % POSITIVE_BLOCK))
}

/// Generates case `index` of `split` at `size`×`size` pixels; a pure function of its arguments.
/// Generation is single-threaded; callers may generate cases in parallel.
pub fn generate_case(seed: u64, split: Split, index: usize, size: usize) -> SynthCase {
    let cs = case_seed(seed, split, index as u64);
    let params = sample_case(cs, is_positive_index(seed, split, index));
    let out = render(&params, size);
    SynthCase {
        ids: CaseIds::new(seed, split, index),
        split,
        index,
        height: size,
        width: size,
        image: out.image,
        objects: out.objects,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_case_is_deterministic_and_seed_dependent() {
        let a = generate_case(11, Split::Train, 3, 64);
        let b = generate_case(11, Split::Train, 3, 64);
        assert_eq!(a, b);
        let c = generate_case(12, Split::Train, 3, 64);
        assert_ne!(a.image, c.image);
        assert_ne!(a.image_id(), c.image_id());
        let t = generate_case(11, Split::Test, 3, 64);
        assert_ne!(a.image, t.image);
        assert_ne!(a.image_id(), t.image_id());
    }

    #[test]
    fn positives_are_exactly_22_percent_per_block() {
        for seed in [0, 5, 99] {
            for split in [Split::Train, Split::Test] {
                let n = (0..200)
                    .filter(|&i| is_positive_index(seed, split, i))
                    .count();
                assert_eq!(n, 4 * POSITIVES_PER_BLOCK, "seed {seed} {split:?}");
            }
        }
        let a: Vec<bool> = (0..50)
            .map(|i| is_positive_index(1, Split::Train, i))
            .collect();
        let b: Vec<bool> = (0..50)
            .map(|i| is_positive_index(2, Split::Train, i))
            .collect();
        assert_ne!(a, b, "the positive draw depends on the seed");
    }

    #[test]
    fn positive_rate_and_object_sizes_over_many_small_cases() {
        let size = 64;
        let cases: Vec<SynthCase> = (0..300)
            .map(|i| generate_case(2024, Split::Train, i, size))
            .collect();
        let pos = cases.iter().filter(|c| c.is_positive()).count();
        let rate = pos as f64 / cases.len() as f64;
        assert!((rate - 0.22).abs() < 0.02, "positive rate {rate}");
        let areas: Vec<f64> = cases
            .iter()
            .flat_map(|c| {
                c.objects
                    .iter()
                    .map(|m| m.iter().filter(|&&v| v == 1).count() as f64)
            })
            .collect();
        let frac = |a: f64| a / (size * size) as f64;
        let min = areas.iter().cloned().fold(f64::MAX, f64::min);
        let max = areas.iter().cloned().fold(0.0, f64::max);
        assert!(
            frac(min) < 0.004,
            "smallest object covers {:.4} of the image",
            frac(min)
        );
        assert!(
            frac(max) > 0.04,
            "largest object covers {:.4} of the image",
            frac(max)
        );
        let multi = cases.iter().filter(|c| c.objects.len() > 1).count();
        assert!(
            multi >= 2 && multi <= pos / 3,
            "{multi} multi-object cases of {pos}"
        );
        for c in &cases {
            for m in &c.objects {
                assert!(m.len() == size * size && m.iter().all(|&v| v <= 1));
            }
        }
    }
}
