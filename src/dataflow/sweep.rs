//! The sweep graph: chunks of records of every prediction set, spread over the workers → each
//! worker reads its records and turns every image into per-image terms and per-configuration
//! Dice sums per fold (`crate::sweep`) → gathered on worker 0 and merged into per (set, fold,
//! configuration) results.
//!
//! Sums are fixed point, so the results do not depend on the number of workers or on which
//! worker took which chunk: 1 and 2 workers give the same bits as [`crate::sweep::sweep_serial`].
//! A record that cannot be read or scored stops the sweep with the error of the first such
//! record (by set, then record), naming the set, record, id and shard file.

use super::gated_source::Gate;
use super::runner::{run_dataflow, DataflowError, Execution};
use crate::sweep::{
    DiceSums, Grid, Plan, PredictionSet, Reader, SetResult, SweepError, SweepResult,
};
use data_prep::folds::Fold;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use thiserror::Error;
use timely::dataflow::operators::vec::Map;

/// Records per work item: enough to amortise an exchange, few enough to balance the workers.
pub const CHUNK: usize = 8;

/// One work item: a range of records of one set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepItem {
    /// Index of the set in the job.
    pub set: usize,
    /// Its records.
    pub records: Range<usize>,
}

/// What a worker reports for an item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SweepEvent {
    /// Dice sums of the item's images of one fold.
    Sums {
        /// Index of the set.
        set: usize,
        /// The fold.
        fold: Fold,
        /// Per-configuration sums.
        sums: DiceSums,
    },
    /// A record failed (the rest of its item is skipped).
    Failed {
        /// Index of the set.
        set: usize,
        /// The record.
        index: usize,
        /// Its id.
        id: String,
        /// What went wrong.
        problem: String,
    },
}

/// Why a sweep run failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SweepRunError {
    /// The dataflow could not run.
    #[error(transparent)]
    Dataflow(#[from] DataflowError),
    /// A record could not be read or scored.
    #[error(transparent)]
    Sweep(#[from] SweepError),
}

/// The work items: every set's records in chunks of [`CHUNK`], sets in order.
pub fn items(sets: &[PredictionSet]) -> Vec<SweepItem> {
    sets.iter()
        .enumerate()
        .flat_map(|(set, s)| {
            (0..s.len()).step_by(CHUNK).map(move |start| SweepItem {
                set,
                records: start..(start + CHUNK).min(s.len()),
            })
        })
        .collect()
}

/// The events of one item.
fn process(
    sets: &[PredictionSet],
    plans: &[Plan],
    item: SweepItem,
    reader: &mut Reader,
) -> Vec<SweepEvent> {
    let (set, plan) = (&sets[item.set], &plans[item.set]);
    let mut folds: Vec<(Fold, DiceSums)> = Vec::new();
    for index in item.records {
        let terms = match set.terms(index, plan, reader) {
            Ok(t) => t,
            Err(e) => {
                let (id, problem) = match e {
                    SweepError::Record { id, problem, .. } => (id, problem),
                    other => (String::new(), other.to_string()),
                };
                let failed = SweepEvent::Failed {
                    set: item.set,
                    index,
                    id,
                    problem,
                };
                return sums_events(item.set, folds).chain([failed]).collect();
            }
        };
        let fold = set.fold(index);
        let k = match folds.iter().position(|(f, _)| *f == fold) {
            Some(k) => k,
            None => {
                folds.push((fold, DiceSums::new(plan.len())));
                folds.len() - 1
            }
        };
        folds[k].1.add(plan, &terms);
    }
    sums_events(item.set, folds).collect()
}

fn sums_events(set: usize, folds: Vec<(Fold, DiceSums)>) -> impl Iterator<Item = SweepEvent> {
    folds
        .into_iter()
        .map(move |(fold, sums)| SweepEvent::Sums { set, fold, sums })
}

/// Sweeps `sets` over `grid` on the workers of `execution`; `progress(images)` is called on
/// process 0 as images are scored. Returns the results on process 0 (every set with no folds
/// elsewhere).
pub fn run_sweep(
    execution: &Execution,
    sets: Arc<Vec<PredictionSet>>,
    grid: &Grid,
    progress: impl Fn(u64) + Send + Sync + 'static,
) -> Result<SweepResult, SweepRunError> {
    let plans: Arc<Vec<Plan>> = Arc::new(
        sets.iter()
            .map(|s| grid.plan_for(s.size(), s.encoding()))
            .collect(),
    );
    let work = Arc::new(items(&sets));
    // One chunk per worker and timestamp, a few timestamps in flight.
    let gate = Gate {
        per_step: 1,
        in_flight: execution.gate.in_flight.max(2),
    };
    let job_sets = Arc::clone(&sets);
    let events = run_dataflow(
        &execution.clone().with_gate(gate),
        work,
        move |_info, items| {
            let (sets, plans) = (Arc::clone(&job_sets), Arc::clone(&plans));
            let mut reader = Reader::new();
            items.flat_map(move |item: SweepItem| process(&sets, &plans, item, &mut reader))
        },
        move |event: &SweepEvent| {
            if let SweepEvent::Sums { sums, .. } = event {
                progress(sums.images());
            }
        },
    )?;
    let mut results: Vec<SetResult> = sets.iter().map(SetResult::new).collect();
    let mut first_failure: Option<(usize, usize, String, String)> = None;
    for event in events {
        match event {
            SweepEvent::Sums { set, fold, sums } => results[set].add(fold, &sums),
            SweepEvent::Failed {
                set,
                index,
                id,
                problem,
            } => {
                if first_failure
                    .as_ref()
                    .is_none_or(|f| (set, index) < (f.0, f.1))
                {
                    first_failure = Some((set, index, id, problem));
                }
            }
        }
    }
    if let Some((set, index, id, problem)) = first_failure {
        return Err(SweepError::Record {
            path: PathBuf::from(sets[set].dir()),
            index,
            id,
            problem,
        }
        .into());
    }
    Ok(SweepResult {
        grid: grid.clone(),
        sets: results,
    })
}
