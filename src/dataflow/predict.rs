//! The prediction graph: plan positions → read + the validation/test transforms (a resize to the
//! network's side) on every worker → batches → `in_order`: worker 0 owns the device and predicts
//! each batch (checkpoints averaged, TTA) → the maps spread over the workers (exchange by plan
//! position), each resized to its record's size, encoded (u8 or f16) with the record's ground
//! truth and compressed there → shard writers (exchange by shard).

use super::batch::{BatchOutput, BatchSamples};
use super::encode::EncodeRecords;
use super::gated_source::Gate;
use super::in_order::InOrder;
use super::runner::{DataflowError, Execution};
use super::sample::{SampleRecords, SampleRequest};
use super::write_shards::{run_writing_dataflow, WriteShards};
use crate::data::predictions::{prediction_record, MapEncoding};
use crate::data::writer::{ShardOutcome, ShardTask};
use crate::data::{BufferPool, Dataset, RecordError, Stage};
use crate::predict::Predictor;
use data_prep::shard::Decoder;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::Exchange;

/// The predictor shared with the worker that owns the device.
pub type SharedPredictor = Arc<Mutex<Option<Predictor>>>;

/// Everything the prediction graph needs.
#[derive(Clone)]
pub struct PredictJob {
    /// The source dataset with the transforms that bring a record to the network's input.
    pub dataset: Arc<Dataset>,
    /// The dataset record of every plan position.
    pub records: Arc<Vec<usize>>,
    /// The predictor's checkpoint group of every plan position.
    pub groups: Arc<Vec<usize>>,
    /// Images per forward pass.
    pub batch_size: usize,
    /// The networks (taken by worker 0 of process 0).
    pub predictor: SharedPredictor,
    /// Shards to write.
    pub tasks: Arc<Vec<ShardTask>>,
    /// zstd level of the stored maps.
    pub level: i32,
    /// How the maps are stored.
    pub encoding: MapEncoding,
}

/// One image's probability map at the network's side, on its way from the device worker to the
/// worker that stores it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct NetMap {
    width: usize,
    height: usize,
    probs: Vec<f32>,
}

/// Runs the prediction graph; `progress(n)` is called on process 0 as maps reach their writers.
/// Returns the outcome of every task (on process 0), by shard number.
pub fn run_predict(
    execution: &Execution,
    job: PredictJob,
    progress: impl Fn(u64) + Send + Sync + 'static,
) -> Result<Vec<ShardOutcome>, DataflowError> {
    let todo: Arc<Vec<usize>> = Arc::new(job.tasks.iter().flat_map(|t| t.items.clone()).collect());
    let total = todo.len();
    let gate = Gate {
        per_step: job.batch_size,
        in_flight: execution.gate.in_flight,
    };
    let host_pool = BufferPool::new(64);
    run_writing_dataflow(
        &execution.clone().with_gate(gate),
        Arc::new((0..total).collect::<Vec<usize>>()),
        move |_info, positions| {
            let (records, todo_in) = (Arc::clone(&job.records), Arc::clone(&todo));
            let (source, origin_set) = (Arc::clone(&job.dataset), Arc::clone(&job.dataset));
            let todo_out = Arc::clone(&todo);
            let records_map = Arc::clone(&job.records);
            let origin_records = Arc::clone(&job.records);
            let predictor = Arc::clone(&job.predictor);
            let groups = Arc::clone(&job.groups);
            let encoding = job.encoding;
            let mut decoder = Decoder::new();
            positions
                .map(move |p: usize| SampleRequest {
                    position: p,
                    index: records[todo_in[p]],
                    epoch: 0,
                })
                .sample_records(Arc::clone(&job.dataset))
                .batch_samples(job.batch_size, total, host_pool.clone())
                .in_order(
                    |b: &BatchOutput| b.number,
                    move |b: BatchOutput| {
                        let first = b.number * job.batch_size;
                        let n = job.batch_size.min(total - first);
                        let group: Vec<usize> =
                            (first..first + n).map(|p| groups[todo_out[p]]).collect();
                        let guard = predictor.lock().expect("predictor lock");
                        let maps = match (b.batch, guard.as_ref()) {
                            (Ok(batch), Some(p)) => p
                                .predict(&batch, &group)
                                .map(|m| (batch.size(), m))
                                .map_err(|e| e.to_string()),
                            (Err(e), _) => Err(e.to_string()),
                            (Ok(_), None) => Err("no predictor on this worker".into()),
                        };
                        // One map per image, to be finished on the data workers.
                        (first..first + n)
                            .enumerate()
                            .map(|(i, p)| {
                                let map = match &maps {
                                    Ok(((w, h), m)) => {
                                        let per = w * h;
                                        Ok(NetMap {
                                            width: *w,
                                            height: *h,
                                            probs: m[i * per..(i + 1) * per].to_vec(),
                                        })
                                    }
                                    Err(problem) => Err(problem.clone()),
                                };
                                (todo_out[p], map)
                            })
                            .collect::<Vec<(usize, Result<NetMap, String>)>>()
                    },
                )
                .flat_map(|v| v)
                // The maps spread over the workers, which resize, encode and compress them.
                .exchange(|(plan, _)| *plan as u64)
                .map(move |(plan, map)| {
                    let index = records_map[plan];
                    let record = match map {
                        Ok(m) => source
                            .read(index, &mut decoder)
                            .map(|s| prediction_record(s, &m.probs, m.width, m.height, encoding)),
                        Err(problem) => Err(RecordError::new(
                            source.origin(index),
                            Stage::Predict,
                            &problem,
                        )),
                    };
                    (plan, record)
                })
                .encode_records(job.level, move |j| origin_set.origin(origin_records[j]))
                .write_shards(Arc::clone(&job.tasks))
        },
        progress,
    )
}
