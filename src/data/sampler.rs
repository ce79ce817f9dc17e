//! The "sliding sample rate" sampler of the solution (`PneumoSampler`): each epoch draws every
//! positive record of the training split plus `n_neg = int(n_pos·(1−p)/p)` negatives **with
//! replacement**, shuffled. `p` (the demanded share of non-empty masks) moves from 0.8 to 0.4
//! over the training parts.
//!
//! The draws come from a generator seeded by (seed, fold, part, epoch), so an epoch's order is
//! a pure function of them: it never depends on the number of workers, and a resumed run
//! replays the same epochs.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use thiserror::Error;

/// Why a sampler cannot be built.
#[derive(Clone, Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum SamplerError {
    /// `p` must be in (0, 1].
    #[error("non-empty sample rate p = {0} must be in (0, 1]")]
    Rate(f64),
    /// There is no positive record to sample.
    #[error("the training split has no positive record ({negatives} negative); the sampler needs at least one")]
    NoPositive {
        /// Negatives found.
        negatives: usize,
    },
    /// Negatives are demanded but there is none.
    #[error("the sample rate p = {p} asks for {wanted} negatives per epoch, but the training split has none")]
    NoNegative {
        /// The rate.
        p: f64,
        /// Negatives per epoch it asks for.
        wanted: usize,
    },
}

/// The training split's records by label, and the rate.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampler {
    positives: Vec<usize>,
    negatives: Vec<usize>,
    p: f64,
}

impl Sampler {
    /// A sampler over `records` (`(index, positive)`, in dataset order) with non-empty rate `p`.
    pub fn new(
        records: impl IntoIterator<Item = (usize, bool)>,
        p: f64,
    ) -> Result<Sampler, SamplerError> {
        if !(p > 0.0 && p <= 1.0) {
            return Err(SamplerError::Rate(p));
        }
        let (mut positives, mut negatives) = (Vec::new(), Vec::new());
        for (index, positive) in records {
            if positive {
                positives.push(index);
            } else {
                negatives.push(index);
            }
        }
        if positives.is_empty() {
            return Err(SamplerError::NoPositive {
                negatives: negatives.len(),
            });
        }
        let s = Sampler {
            positives,
            negatives,
            p,
        };
        if s.n_neg() > 0 && s.negatives.is_empty() {
            return Err(SamplerError::NoNegative {
                p,
                wanted: s.n_neg(),
            });
        }
        Ok(s)
    }

    /// Positive records of the split (all drawn every epoch).
    pub fn n_pos(&self) -> usize {
        self.positives.len()
    }

    /// Negatives drawn per epoch: Python's `int(n_pos * (1 - p) / p)`, in the same float64
    /// operations (so 1910 positives at p = 0.8 give 477, as the reference).
    pub fn n_neg(&self) -> usize {
        ((self.positives.len() as f64) * (1.0 - self.p) / self.p) as usize
    }

    /// Records per epoch.
    pub fn epoch_len(&self) -> usize {
        self.n_pos() + self.n_neg()
    }

    /// The record indices of one epoch, in training order.
    pub fn epoch(&self, seed: u64, fold: u8, part: u32, epoch: u64) -> Vec<usize> {
        let mut rng = epoch_rng(seed, fold, part, epoch);
        let mut order = Vec::with_capacity(self.epoch_len());
        order.extend_from_slice(&self.positives);
        for _ in 0..self.n_neg() {
            order.push(self.negatives[rng.random_range(0..self.negatives.len())]);
        }
        order.shuffle(&mut rng);
        order
    }
}

/// The generator of one epoch's draws.
fn epoch_rng(seed: u64, fold: u8, part: u32, epoch: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8] = fold;
    key[12..16].copy_from_slice(&part.to_le_bytes());
    key[16..24].copy_from_slice(&epoch.to_le_bytes());
    key[24..32].copy_from_slice(b"sampler\0");
    ChaCha8Rng::from_seed(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use data_prep::folds::{read_folds_csv, Fold};
    use std::path::Path;

    fn split(file: &str, fold: u8) -> Vec<(usize, bool)> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("pipelines/folds")
            .join(file);
        read_folds_csv(&path)
            .unwrap()
            .into_iter()
            .enumerate()
            .filter(|(_, e)| e.fold.is_train_for(fold) && e.fold != Fold::Unassigned)
            .map(|(i, e)| (i, e.label))
            .collect()
    }

    #[test]
    fn epoch_sizes_match_the_reference_table() {
        // solution's sampler table: n_neg / epoch length per fold and rate.
        let table = [
            (
                "train_folds_5.csv",
                0,
                1910,
                [(0.8, 477), (0.6, 1273), (0.5, 1910), (0.4, 2865)],
            ),
            (
                "train_folds_5.csv",
                1,
                1915,
                [(0.8, 478), (0.6, 1276), (0.5, 1915), (0.4, 2872)],
            ),
            (
                "train_folds_5.csv",
                4,
                1897,
                [(0.8, 474), (0.6, 1264), (0.5, 1897), (0.4, 2845)],
            ),
        ];
        for (file, fold, n_pos, rates) in table {
            let records = split(file, fold);
            for (p, n_neg) in rates {
                let s = Sampler::new(records.iter().copied(), p).unwrap();
                assert_eq!(
                    (s.n_pos(), s.n_neg()),
                    (n_pos, n_neg),
                    "{file} fold {fold} p {p}"
                );
                assert_eq!(s.epoch_len(), n_pos + n_neg);
            }
        }
        // 2nd stage: stage_2 images always train; fold 2 at p = 0.4.
        let s = Sampler::new(split("2nd_stage_folds.csv", 2), 0.4).unwrap();
        assert_eq!((s.n_pos(), s.n_neg()), (2185, 3277));
    }

    #[test]
    fn an_epoch_has_every_positive_once_and_negatives_with_replacement() {
        let records: Vec<(usize, bool)> = (0..50).map(|i| (i, i % 5 == 0)).collect();
        let s = Sampler::new(records, 0.4).unwrap();
        assert_eq!((s.n_pos(), s.n_neg()), (10, 15));
        let e = s.epoch(7, 0, 1, 3);
        assert_eq!(e.len(), 25);
        let pos: Vec<usize> = e.iter().copied().filter(|i| i % 5 == 0).collect();
        let mut sorted = pos.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).step_by(5).collect::<Vec<_>>());
        // Deterministic per (seed, fold, part, epoch); different otherwise.
        assert_eq!(s.epoch(7, 0, 1, 3), e);
        assert_ne!(s.epoch(7, 0, 1, 4), e);
        assert_ne!(s.epoch(8, 0, 1, 3), e);
        assert_ne!(s.epoch(7, 1, 1, 3), e);
        assert_ne!(s.epoch(7, 0, 2, 3), e);
        // With replacement: over many epochs some negative repeats within an epoch.
        let repeats = (0..20).any(|k| {
            let mut neg: Vec<usize> = s
                .epoch(1, 0, 0, k)
                .into_iter()
                .filter(|i| i % 5 != 0)
                .collect();
            let n = neg.len();
            neg.sort();
            neg.dedup();
            neg.len() < n
        });
        assert!(repeats);
    }

    #[test]
    fn bad_rates_and_empty_splits_are_refused() {
        assert_eq!(Sampler::new([(0, true)], 0.0), Err(SamplerError::Rate(0.0)));
        assert_eq!(Sampler::new([(0, true)], 1.5), Err(SamplerError::Rate(1.5)));
        assert!(matches!(
            Sampler::new([(0, false)], 0.5),
            Err(SamplerError::NoPositive { negatives: 1 })
        ));
        assert!(matches!(
            Sampler::new([(0, true)], 0.5),
            Err(SamplerError::NoNegative { wanted: 1, .. })
        ));
        let only_pos = Sampler::new([(0, true), (1, true)], 1.0).unwrap();
        assert_eq!(only_pos.epoch(0, 0, 0, 0).len(), 2);
    }
}
