//! `Compose` and `OneOf` with albumentations 0.3.1 semantics.
//!
//! - `Compose(p)`: runs when `force || U < p`; then every child is called (each with its own
//!   `p`), passing `force` down. When it does not run, only the `always_apply` leaves found
//!   anywhere below it run (albumentations' `find_always_apply_transforms`).
//! - `OneOf(p)`: when `force || U < p`, picks exactly one child with probability
//!   `p_i / sum(p)` and calls it *forced*: the child's own `p` is only a selection weight.

use super::rng::{coin, random01};
use super::transform::{RunLeaf, Transform};
use rand::Rng;

/// albumentations `Compose(transforms, p)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Compose {
    /// Children in order.
    pub transforms: Vec<Transform>,
    /// Probability of running the whole list.
    pub p: f64,
}

/// albumentations `OneOf(transforms, p)`.
#[derive(Clone, Debug, PartialEq)]
pub struct OneOf {
    /// Candidates; their `p` values are the selection weights.
    pub transforms: Vec<Transform>,
    /// Probability of applying one of them.
    pub p: f64,
}

impl Compose {
    pub(crate) fn call<R: Rng + ?Sized>(&self, force: bool, rng: &mut R, run_leaf: &mut RunLeaf) {
        let run = force || coin(rng, self.p);
        if run {
            for t in &self.transforms {
                t.call(force, rng, run_leaf);
            }
        } else {
            let mut leaves = Vec::new();
            self.transforms
                .iter()
                .for_each(|t| t.always_apply_leaves(&mut leaves));
            for t in leaves {
                t.call(force, rng, run_leaf);
            }
        }
    }
}

impl OneOf {
    /// Selection probabilities `p_i / sum(p)`.
    pub fn weights(&self) -> Vec<f64> {
        let s: f64 = self.transforms.iter().map(Transform::p).sum();
        self.transforms.iter().map(|t| t.p() / s).collect()
    }

    /// Index chosen by a uniform draw `u` in [0, 1) against the cumulative weights.
    pub fn choose(&self, u: f64) -> usize {
        let mut acc = 0.0;
        let w = self.weights();
        for (i, wi) in w.iter().enumerate() {
            acc += wi;
            if u < acc {
                return i;
            }
        }
        // rounding left the cumulative sum a hair below 1: take the last non-zero weight
        w.iter().rposition(|&x| x > 0.0).unwrap_or(0)
    }

    pub(crate) fn call<R: Rng + ?Sized>(&self, force: bool, rng: &mut R, run_leaf: &mut RunLeaf) {
        if self.transforms.is_empty() {
            return;
        }
        if force || coin(rng, self.p) {
            let i = self.choose(random01(rng));
            self.transforms[i].call(true, rng, run_leaf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::{flip::HorizontalFlip, transform::Prob};

    fn flip(p: f64) -> Transform {
        Transform::HorizontalFlip(HorizontalFlip { prob: Prob::new(p) })
    }

    #[test]
    fn choose_follows_cumulative_weights() {
        let o = OneOf {
            transforms: vec![flip(0.5), flip(0.0), flip(1.5)],
            p: 1.0,
        };
        assert_eq!(o.weights(), vec![0.25, 0.0, 0.75]);
        assert_eq!(o.choose(0.0), 0);
        assert_eq!(o.choose(0.2499), 0);
        assert_eq!(o.choose(0.25), 2);
        assert_eq!(o.choose(0.999_999_999_999), 2);
    }
}
