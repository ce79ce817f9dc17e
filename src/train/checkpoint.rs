//! The solution's checkpoint and early-stopping rules (`Learning.post_processing` and
//! `run_train`) as pure policy: [`FoldCheckpoints::observe`] takes an epoch's validation score and
//! answers which files to write or remove and whether to stop; the caller does the I/O.
//!
//! - **Top-k per (fold, part)**: each part keeps its `k` best epochs by score. A new epoch is
//!   saved; if that makes `k + 1`, the lowest-ranked one is deleted (it may be the new one: then
//!   nothing is written). Ties rank as the solution's `heapq` of `(score, path)` with paths
//!   `…_epoch{e}.pth`: among equal scores the epoch whose `"{e}.pth"` sorts first as a string
//!   (`"10.pth" < "9.pth"`) goes first. NaN ranks below every number.
//! - **Best per fold, across parts**: an epoch replaces the fold's best checkpoint only when its
//!   score is strictly greater than every earlier score of the fold, in any part. The best starts
//!   at 0 (the solution's `best_score = 0` with no summary yet), so a score must be > 0.
//! - **Early stopping per part**: after validating epoch `e`, stop when `e - best_epoch >
//!   early_stopping`, where `best_epoch` is the part's last epoch that replaced the fold's best,
//!   or -1 if none has yet: a part that never beats the previous parts' best stops after epoch
//!   index `early_stopping`.
use crate::train::error::CheckpointError;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// What to keep: the top-k size and the early-stopping patience.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointPolicy {
    /// Epoch checkpoints kept per part (the solution's `CHECKPOINTS.TOPK`).
    pub top_k: usize,
    /// Epochs without a new fold best tolerated (the solution's `EARLY_STOPPING`).
    pub early_stopping: u32,
}

/// A file operation the caller performs, in the order returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckpointAction {
    /// Write this epoch's checkpoint of the current part.
    Save {
        /// The epoch.
        epoch: u32,
    },
    /// Remove this earlier epoch's checkpoint of the current part.
    Delete {
        /// The epoch.
        epoch: u32,
    },
    /// Write this epoch's weights as the fold's best checkpoint.
    ReplaceBest {
        /// The epoch (of the current part).
        epoch: u32,
    },
}

/// The answer to one validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// File operations, in order.
    pub actions: Vec<CheckpointAction>,
    /// Whether the part stops after this epoch (early stopping).
    pub stop: bool,
}

/// The fold's best checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Best {
    /// Its score.
    pub score: f64,
    /// Its part.
    pub part: u32,
    /// Its epoch.
    pub epoch: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Part {
    part: u32,
    /// `(score, epoch)` of the kept checkpoints.
    kept: Vec<(f64, u32)>,
    /// The part's last epoch that set the fold's best.
    best_epoch: Option<u32>,
    last_epoch: Option<u32>,
}

/// The checkpoint state of one fold (serde, for resuming): its best across parts and the current
/// part's top-k and early-stopping state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoldCheckpoints {
    policy: CheckpointPolicy,
    best: Option<Best>,
    part: Option<Part>,
}

/// The solution's heap order of `(score, "…_epoch{e}.pth")`.
fn rank(a: &(f64, u32), b: &(f64, u32)) -> Ordering {
    let by_score = match (a.0.is_nan(), b.0.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.0.total_cmp(&b.0),
    };
    by_score.then_with(|| format!("{}.pth", a.1).cmp(&format!("{}.pth", b.1)))
}

impl FoldCheckpoints {
    /// A fold with no best yet.
    pub fn new(policy: CheckpointPolicy) -> Self {
        FoldCheckpoints {
            policy,
            best: None,
            part: None,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &CheckpointPolicy {
        &self.policy
    }

    /// The fold's best checkpoint so far, across parts.
    pub fn best(&self) -> Option<Best> {
        self.best
    }

    /// Starts training part `part`: an empty top-k and `best_epoch = -1`; the fold's best stays.
    pub fn start_part(&mut self, part: u32) {
        self.part = Some(Part {
            part,
            kept: Vec::new(),
            best_epoch: None,
            last_epoch: None,
        });
    }

    /// Starts part `part` under its own `policy` (top-k and patience may change between parts,
    /// as in the solution's configs).
    pub fn start_part_with(&mut self, part: u32, policy: CheckpointPolicy) {
        self.policy = policy;
        self.start_part(part);
    }

    /// The current part's kept epochs, best first.
    pub fn kept(&self) -> Vec<u32> {
        let mut kept = self.part.as_ref().map_or_else(Vec::new, |p| p.kept.clone());
        kept.sort_by(|a, b| rank(b, a));
        kept.into_iter().map(|(_, e)| e).collect()
    }

    /// Records the validation `score` of `epoch` (0-based, increasing within the part) and
    /// returns the file operations and the early-stopping verdict.
    pub fn observe(&mut self, epoch: u32, score: f64) -> Result<Decision, CheckpointError> {
        let part = self.part.as_mut().ok_or(CheckpointError::NoPart)?;
        if let Some(last) = part.last_epoch.filter(|&last| epoch <= last) {
            return Err(CheckpointError::EpochOrder {
                part: part.part,
                epoch,
                last,
            });
        }
        part.last_epoch = Some(epoch);
        let mut actions = Vec::new();
        part.kept.push((score, epoch));
        let evicted = if part.kept.len() > self.policy.top_k {
            (0..part.kept.len())
                .min_by(|&i, &j| rank(&part.kept[i], &part.kept[j]))
                .map(|i| part.kept.swap_remove(i).1)
        } else {
            None
        };
        match evicted {
            Some(e) if e == epoch => {}
            Some(e) => actions.extend([
                CheckpointAction::Save { epoch },
                CheckpointAction::Delete { epoch: e },
            ]),
            None => actions.push(CheckpointAction::Save { epoch }),
        }
        if score > self.best.map_or(0.0, |b| b.score) {
            self.best = Some(Best {
                score,
                part: part.part,
                epoch,
            });
            part.best_epoch = Some(epoch);
            actions.push(CheckpointAction::ReplaceBest { epoch });
        }
        let best_epoch = part.best_epoch.map_or(-1, i64::from);
        let stop = i64::from(epoch) - best_epoch > i64::from(self.policy.early_stopping);
        Ok(Decision { actions, stop })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CheckpointAction::{Delete, ReplaceBest, Save};

    fn fold(top_k: usize, early_stopping: u32) -> FoldCheckpoints {
        FoldCheckpoints::new(CheckpointPolicy {
            top_k,
            early_stopping,
        })
    }

    #[test]
    fn top_k_keeps_the_k_best_of_a_part() {
        let mut f = fold(2, 100);
        f.start_part(0);
        assert_eq!(
            f.observe(0, 0.5).unwrap().actions,
            [Save { epoch: 0 }, ReplaceBest { epoch: 0 }]
        );
        assert_eq!(f.observe(1, 0.4).unwrap().actions, [Save { epoch: 1 }]);
        // Third checkpoint: the lowest (epoch 1) goes.
        assert_eq!(
            f.observe(2, 0.6).unwrap().actions,
            [
                Save { epoch: 2 },
                Delete { epoch: 1 },
                ReplaceBest { epoch: 2 }
            ]
        );
        // Lower than both kept: never written.
        assert!(f.observe(3, 0.45).unwrap().actions.is_empty());
        assert_eq!(
            f.observe(4, 0.55).unwrap().actions,
            [Save { epoch: 4 }, Delete { epoch: 0 }]
        );
        assert_eq!(f.kept(), [2, 4]);
        let mut none = fold(0, 100);
        none.start_part(0);
        assert_eq!(
            none.observe(0, 0.3).unwrap().actions,
            [ReplaceBest { epoch: 0 }]
        );
        assert!(none.kept().is_empty());
    }

    #[test]
    fn ties_and_nan_rank_as_the_solution_heap() {
        // Equal scores: "10.pth" < "9.pth" < "90.pth" as strings, so epoch 10 goes first.
        let mut f = fold(2, 100);
        f.start_part(1);
        for e in [9, 10] {
            f.observe(e, 0.7).unwrap();
        }
        assert_eq!(
            f.observe(90, 0.7).unwrap().actions,
            [Save { epoch: 90 }, Delete { epoch: 10 }]
        );
        assert!(f.observe(91, f64::NAN).unwrap().actions.is_empty());
        assert_eq!(f.kept(), [90, 9]);
    }

    #[test]
    fn best_is_strictly_better_than_every_earlier_part() {
        let mut f = fold(3, 100);
        f.start_part(0);
        assert!(f
            .observe(0, 0.0)
            .unwrap()
            .actions
            .iter()
            .all(|a| !matches!(a, ReplaceBest { .. })));
        f.observe(1, 0.8).unwrap();
        f.start_part(1);
        // Equal to the previous part's best: not a new best, but part 1 keeps its own top-k.
        assert_eq!(f.observe(0, 0.8).unwrap().actions, [Save { epoch: 0 }]);
        assert_eq!(
            f.best(),
            Some(Best {
                score: 0.8,
                part: 0,
                epoch: 1
            })
        );
        assert_eq!(
            f.observe(1, 0.81).unwrap().actions,
            [Save { epoch: 1 }, ReplaceBest { epoch: 1 }]
        );
        assert_eq!(
            f.best(),
            Some(Best {
                score: 0.81,
                part: 1,
                epoch: 1
            })
        );
    }

    #[test]
    fn a_part_that_never_beats_the_previous_best_stops_after_epoch_early_stopping() {
        let mut f = fold(3, 4);
        f.start_part(0);
        f.observe(0, 0.9).unwrap();
        f.start_part(1);
        let stops: Vec<bool> = (0..6).map(|e| f.observe(e, 0.5).unwrap().stop).collect();
        // best_epoch = -1: epoch - (-1) > 4 first at epoch 4.
        assert_eq!(stops, [false, false, false, false, true, true]);
    }

    #[test]
    fn early_stopping_counts_from_the_last_new_best() {
        let mut f = fold(3, 2);
        f.start_part(0);
        let scores = [0.5, 0.6, 0.55, 0.58, 0.59, 0.7, 0.6, 0.6, 0.6];
        let stops: Vec<bool> = scores
            .iter()
            .enumerate()
            .map(|(e, &s)| f.observe(e as u32, s).unwrap().stop)
            .collect();
        // New bests at epochs 0, 1 and 5; stop when epoch - best_epoch > 2.
        assert_eq!(
            stops,
            [false, false, false, false, true, false, false, false, true]
        );
    }

    #[test]
    fn misuse_is_an_error_and_state_round_trips() {
        let mut f = fold(2, 3);
        assert_eq!(f.observe(0, 0.5), Err(CheckpointError::NoPart));
        f.start_part(2);
        f.observe(3, 0.5).unwrap();
        assert_eq!(
            f.observe(3, 0.6),
            Err(CheckpointError::EpochOrder {
                part: 2,
                epoch: 3,
                last: 3
            })
        );
        let json = serde_json::to_string(&f).unwrap();
        let mut back: FoldCheckpoints = serde_json::from_str(&json).unwrap();
        assert_eq!(back, f);
        assert_eq!(back.observe(4, 0.7).unwrap(), f.observe(4, 0.7).unwrap());
    }
}
