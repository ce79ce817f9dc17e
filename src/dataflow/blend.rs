//! The blend graph: plan positions → read every member's map of the image, resize, weighted sum
//! (`crate::data::blend`) on every worker → compress → shard writers (the one exchange, by
//! shard).

use super::encode::EncodeRecords;
use super::runner::{DataflowError, Execution};
use super::write_shards::{run_writing_dataflow, WriteShards};
use crate::data::blend::Blender;
use crate::data::writer::{ShardOutcome, ShardTask};
use data_prep::shard::Decoder;
use std::sync::Arc;
use timely::dataflow::operators::vec::Map;

/// Everything the blend graph needs.
#[derive(Clone)]
pub struct BlendJob {
    /// The members' sets, lined up by image.
    pub blender: Arc<Blender>,
    /// zstd level of the stored maps.
    pub level: i32,
    /// Shards to write.
    pub tasks: Arc<Vec<ShardTask>>,
}

/// Runs the blend graph; `progress(n)` is called on process 0 as maps reach their writers.
/// Returns the outcome of every task (on process 0), by shard number.
pub fn run_blend(
    execution: &Execution,
    job: BlendJob,
    progress: impl Fn(u64) + Send + Sync + 'static,
) -> Result<Vec<ShardOutcome>, DataflowError> {
    let positions: Vec<usize> = job.tasks.iter().flat_map(|t| t.items.clone()).collect();
    run_writing_dataflow(
        execution,
        Arc::new(positions),
        move |_info, positions| {
            let (blender, origins) = (Arc::clone(&job.blender), Arc::clone(&job.blender));
            let mut decoder = Decoder::new();
            positions
                .map(move |p: usize| (p, blender.blend(p, &mut decoder)))
                .encode_records(job.level, move |p| origins.origin(p))
                .write_shards(Arc::clone(&job.tasks))
        },
        progress,
    )
}
