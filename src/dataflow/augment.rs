//! The bulk re-augmentation graph: plan positions → sample (read + augment copy `k` of a
//! record, `ID#k`) → compress → shard writers (the one exchange, by shard).
//!
//! Output position `j` is copy `k = j % copies` of input record `j / copies`, drawn from
//! `sample_rng(seed, k, ID)`: the output depends only on (seed, copy, id).

use super::encode::EncodeRecords;
use super::prep::outcomes;
use super::runner::{run_dataflow, DataflowError, Execution};
use super::sample::{SampleRecords, SampleRequest};
use super::write_shards::{WriteEvent, WriteShards};
use crate::data::writer::{ShardOutcome, ShardTask};
use crate::data::{copy_id, Dataset};
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

/// The sample request of output position `j`.
pub fn copy_request(j: usize, copies: usize) -> SampleRequest {
    SampleRequest {
        position: j,
        index: j / copies,
        epoch: (j % copies) as u64,
    }
}

/// Runs the augment graph; `progress(n)` is called on process 0 as records reach their writers.
/// Returns the outcome of every task (on process 0; empty elsewhere), by shard number.
pub fn run_augment(
    execution: &Execution,
    job: AugmentJob,
    progress: impl Fn(u64) + Send + Sync + 'static,
) -> Result<Vec<ShardOutcome>, DataflowError> {
    let positions: Vec<usize> = job.tasks.iter().flat_map(|t| t.items.clone()).collect();
    let events = run_dataflow(
        execution,
        Arc::new(positions),
        move |_info, positions| {
            let copies = job.copies;
            let origin_set = Arc::clone(&job.dataset);
            positions
                .map(move |j: usize| copy_request(j, copies))
                .sample_records(Arc::clone(&job.dataset))
                .map(move |(j, sample)| {
                    let record = sample.map(|mut s| {
                        s.meta.id = copy_id(&s.meta.id, j % copies);
                        s.into_record()
                    });
                    (j, record)
                })
                .encode_records(job.level, move |j| origin_set.origin(j / copies))
                .write_shards(Arc::clone(&job.tasks))
        },
        move |event: &WriteEvent| {
            if let WriteEvent::Received(n) = event {
                progress(*n as u64);
            }
        },
    )?;
    Ok(outcomes(events))
}
