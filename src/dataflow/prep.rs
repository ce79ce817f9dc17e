//! The prep graph: plan positions → decode the DICOM and merge its RLE rows (items carry their
//! rows, so no join is needed) → compress → shard writers (the one exchange, by shard).

use super::encode::EncodeRecords;
use super::runner::{DataflowError, Execution};
use super::write_shards::{run_writing_dataflow, WriteShards};
use crate::data::prep::{item_origin, prep_record};
use crate::data::writer::{ShardOutcome, ShardTask};
use data_prep::siim::PrepItem;
use std::path::PathBuf;
use std::sync::Arc;
use timely::dataflow::operators::vec::Map;

/// Everything the prep graph needs.
#[derive(Clone, Debug)]
pub struct PrepJob {
    /// All plan items (train by id, then test by id).
    pub items: Arc<Vec<PrepItem>>,
    /// Path of `train-rle.csv`, for error messages.
    pub csv: PathBuf,
    /// Shards to write; other shards are left alone.
    pub tasks: Arc<Vec<ShardTask>>,
    /// Stored image size.
    pub size: u32,
    /// zstd level.
    pub level: i32,
}

/// Runs the prep graph; `progress(n)` is called on process 0 as records reach their writers.
/// Returns the outcome of every task (on process 0; empty elsewhere), by shard number.
pub fn run_prep(
    execution: &Execution,
    job: PrepJob,
    progress: impl Fn(u64) + Send + Sync + 'static,
) -> Result<Vec<ShardOutcome>, DataflowError> {
    let positions: Vec<usize> = job.tasks.iter().flat_map(|t| t.items.clone()).collect();
    run_writing_dataflow(
        execution,
        Arc::new(positions),
        move |_info, positions| {
            let (items, csv, size) = (Arc::clone(&job.items), job.csv.clone(), job.size);
            let origin_items = Arc::clone(&job.items);
            positions
                .map(move |i: usize| (i, prep_record(&items[i], size, &csv)))
                .encode_records(job.level, move |i| item_origin(&origin_items[i]))
                .write_shards(Arc::clone(&job.tasks))
        },
        progress,
    )
}
