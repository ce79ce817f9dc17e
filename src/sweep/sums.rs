//! Dice sums in fixed point: per-configuration sums of per-image Dice that do not depend on the
//! order images are added in, so any split of the images over workers, processes or chunks
//! gives the same bits (and the values are totally ordered, as differential dataflow needs).
//!
//! A Dice value `d` in `[0, 1]` becomes `round(d · 2^64)` (exact for `d >= 2^-11`, within
//! `2^-65` below), summed in `u128`; the mean is `sum / 2^64 / images` in f64, within about
//! `1e-16` of the float mean.

use super::grid::Plan;
use super::terms::ImageTerms;
use serde::{Deserialize, Serialize};

/// `2^64` as f64: one in fixed point.
pub const FIXED_ONE: f64 = 18_446_744_073_709_551_616.0;

/// `round(d · 2^64)` for `d` in `[0, 1]` (values outside are clamped).
pub fn to_fixed(d: f64) -> u128 {
    (d.clamp(0.0, 1.0) * FIXED_ONE).round() as u128
}

/// A fixed-point sum as a float: `sum / 2^64`.
pub fn from_fixed(sum: u128) -> f64 {
    sum as f64 / FIXED_ONE
}

/// Per-configuration Dice sums over a number of images.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiceSums {
    images: u64,
    sums: Vec<u128>,
}

impl DiceSums {
    /// Zero sums for `configs` configurations.
    pub fn new(configs: usize) -> DiceSums {
        DiceSums {
            images: 0,
            sums: vec![0; configs],
        }
    }

    /// Sums of `images` images with these fixed-point sums (see [`to_fixed`]).
    pub fn from_parts(images: u64, sums: Vec<u128>) -> DiceSums {
        DiceSums { images, sums }
    }

    /// Adds one image.
    ///
    /// # Panics
    /// If the plan has another number of configurations.
    pub fn add(&mut self, plan: &Plan, terms: &ImageTerms) {
        terms.add_to(plan, &mut self.sums);
        self.images += 1;
    }

    /// Adds another partial sum (another worker's, chunk's or fold's).
    ///
    /// # Panics
    /// If the two have different numbers of configurations.
    pub fn merge(&mut self, other: &DiceSums) {
        assert_eq!(self.sums.len(), other.sums.len(), "same grid");
        self.images += other.images;
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            *a += b;
        }
    }

    /// Images added.
    pub fn images(&self) -> u64 {
        self.images
    }

    /// Number of configurations.
    pub fn configs(&self) -> usize {
        self.sums.len()
    }

    /// The fixed-point sums, one per configuration.
    pub fn fixed(&self) -> &[u128] {
        &self.sums
    }

    /// Mean Dice of configuration `index` (`None` before any image).
    pub fn mean(&self, index: usize) -> Option<f64> {
        (self.images > 0).then(|| from_fixed(self.sums[index]) / self.images as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_is_exact_and_order_free() {
        assert_eq!(to_fixed(1.0), 1u128 << 64);
        assert_eq!(to_fixed(0.0), 0);
        assert_eq!(to_fixed(0.5), 1u128 << 63);
        assert_eq!(from_fixed(to_fixed(0.8123456789)), 0.8123456789);
        let values: Vec<f64> = (1..200).map(|i| 1.0 / f64::from(i)).collect();
        let forward: u128 = values.iter().map(|&d| to_fixed(d)).sum();
        let backward: u128 = values.iter().rev().map(|&d| to_fixed(d)).sum();
        assert_eq!(forward, backward);
        let float: f64 = values.iter().sum();
        assert!((from_fixed(forward) - float).abs() < 1e-13);
    }

    #[test]
    fn merge_adds_images_and_sums() {
        let mut a = DiceSums {
            images: 1,
            sums: vec![to_fixed(1.0), to_fixed(0.25)],
        };
        let b = DiceSums {
            images: 2,
            sums: vec![to_fixed(0.5), to_fixed(0.5)],
        };
        a.merge(&b);
        assert_eq!(a.images(), 3);
        assert_eq!(a.mean(0), Some(0.5));
        assert_eq!(a.mean(1), Some(0.25));
        assert_eq!(DiceSums::new(2).mean(0), None);
        assert_eq!(a.configs(), 2);
    }
}
