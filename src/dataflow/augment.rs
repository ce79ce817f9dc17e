//! The bulk re-augmentation graph: records to copy → read each record once and augment its
//! copies (`ID#k`) → compress → shard writers (the one exchange, by shard).
//!
//! Output position `j` is copy `k = j % copies` of input record `j / copies`, drawn from
//! `sample_rng(seed, k, ID)`: the output depends only on (seed, copy, id). A worker is fed whole
//! records (all of a record's copies that the plan still needs), so each source record is read
//! and decompressed once.

use super::encode::EncodeRecords;
use super::gated_source::Gate;
use super::runner::{DataflowError, Execution};
use super::write_shards::{run_writing_dataflow, WriteShards};
use crate::data::writer::{ShardOutcome, ShardTask};
use crate::data::{Dataset, RecordError};
use data_prep::shard::{Decoder, Record};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::Arc;
use timely::dataflow::operators::vec::Map;

/// Everything the augment graph needs.
#[derive(Clone)]
pub struct AugmentJob {
    /// The input dataset with its pipeline and seed.
    pub dataset: Arc<Dataset>,
    /// Copies per input record.
    pub copies: usize,
    /// zstd level.
    pub level: i32,
    /// Shards to write.
    pub tasks: Arc<Vec<ShardTask>>,
}

/// The copies of one input record that the plan needs: positions `positions` (consecutive,
/// all `index * copies + k`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyRequest {
    /// The input record.
    pub index: usize,
    /// The output positions of its copies to make.
    pub positions: Range<usize>,
}

/// Groups the plan positions of `tasks` by input record, in order.
pub fn copy_requests(tasks: &[ShardTask], copies: usize) -> Vec<CopyRequest> {
    let mut out: Vec<CopyRequest> = Vec::new();
    for j in tasks.iter().flat_map(|t| t.items.clone()) {
        let index = j / copies;
        match out.last_mut() {
            Some(r) if r.index == index && r.positions.end == j => r.positions.end = j + 1,
            _ => out.push(CopyRequest {
                index,
                positions: j..j + 1,
            }),
        }
    }
    out
}

/// Copies of `request`: the record is read once and augmented once per copy.
fn make_copies(
    dataset: &Dataset,
    request: CopyRequest,
    copies: usize,
    decoder: &mut Decoder,
) -> Vec<(usize, Result<Record, RecordError>)> {
    let mut source = Some(dataset.copy_source(request.index, decoder));
    let last = request.positions.end - 1;
    request
        .positions
        .map(|j| {
            // The last copy takes the source itself; the others augment a clone.
            let start = if j == last {
                source.take().expect("one source per request")
            } else {
                source.clone().expect("one source per request")
            };
            let record = start.and_then(|s| dataset.augment_copy(request.index, j % copies, s));
            (j, record)
        })
        .collect()
}

/// Runs the augment graph; `progress(n)` is called on process 0 as records reach their writers.
/// Returns the outcome of every task (on process 0; empty elsewhere), by shard number.
pub fn run_augment(
    execution: &Execution,
    job: AugmentJob,
    progress: impl Fn(u64) + Send + Sync + 'static,
) -> Result<Vec<ShardOutcome>, DataflowError> {
    let requests = copy_requests(&job.tasks, job.copies);
    // About four output records per timestamp, whatever the copy count.
    let gate = Gate {
        per_step: (4 / job.copies).max(1),
        ..execution.gate
    };
    let execution = execution.clone().with_gate(gate);
    run_writing_dataflow(
        &execution,
        Arc::new(requests),
        move |_info, requests| {
            let copies = job.copies;
            let (dataset, origin_set) = (Arc::clone(&job.dataset), Arc::clone(&job.dataset));
            let mut decoder = Decoder::new();
            requests
                .flat_map(move |r: CopyRequest| make_copies(&dataset, r, copies, &mut decoder))
                .encode_records(job.level, move |j| origin_set.origin(j / copies))
                .write_shards(Arc::clone(&job.tasks))
        },
        progress,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_group_the_copies_of_each_record() {
        let task = |number, items: Range<usize>| ShardTask {
            number,
            path: "x".into(),
            items,
            fingerprint: 0,
        };
        // 3 copies; shards of 4 positions; shard 1 (positions 4..8) is already written.
        let tasks = [task(0, 0..4), task(2, 8..12)];
        let got = copy_requests(&tasks, 3);
        let want = [(0, 0..3), (1, 3..4), (2, 8..9), (3, 9..12)];
        assert_eq!(
            got,
            want.map(|(index, positions)| CopyRequest { index, positions })
        );
    }
}
