//! The graphs of training: one epoch of training steps and one validation pass.
//!
//! Training: sampler positions (all workers feed) → sample: read + augment with
//! `sample_rng(seed, epoch key, id)` (all workers) → batch: batch `b` is assembled on worker
//! `b % W` → `in_order`: worker 0 owns the device and runs the training step on batches 0, 1,
//! 2, ... in order. Tensors never cross an exchange (batches are bytes), the step sequence does
//! not depend on the number of workers, and the probe-gated source keeps a bounded number of
//! batches in flight.
//!
//! Validation: the held-out records → sample with the validation transforms → batch →
//! `in_order`: worker 0 evaluates and scores every image on the triplet grid.

use super::batch::BatchSamples;
use super::gated_source::Gate;
use super::in_order::InOrder;
use super::net_input::{InputOutput, NetInputs};
use super::runner::{run_dataflow, DataflowError, Execution};
use super::sample::{SampleRecords, SampleRequest};
use crate::data::{BufferPool, Dataset, InputTables};
use crate::train::{BatchStats, TrainError, Trainer, ValidationScore};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::StreamVec;

/// How samples become network inputs: batches of `size`, normalised through `tables`.
#[derive(Clone)]
pub struct Batching {
    /// Samples per batch.
    pub size: usize,
    /// The network's input normalisation as per-channel tables.
    pub tables: Arc<InputTables>,
    /// Where the network inputs' buffers come from and return to, shared by all workers.
    pub pool: BufferPool,
    /// The same for the batches' u8 planes.
    pub host_pool: BufferPool<u8>,
}

impl Batching {
    /// Batches of `size` through `tables`, their buffers reused: the pool keeps up to 64 free
    /// buffers, never more than were alive at once (the gate bounds the batches in flight).
    pub fn new(size: usize, tables: InputTables) -> Batching {
        Batching {
            size,
            tables: Arc::new(tables),
            pool: BufferPool::new(64),
            host_pool: BufferPool::new(64),
        }
    }
}

/// The data stages of training and validation: plan position `p` → the sample of dataset record
/// `records[p]` drawn for `epoch`, on every worker → batches of `batching.size` in position order
/// (`total` positions) → their float32 network input, computed on the batch's worker.
pub fn input_batches<'s>(
    positions: StreamVec<'s, usize, usize>,
    dataset: Arc<Dataset>,
    records: Arc<Vec<usize>>,
    epoch: u64,
    batching: &Batching,
) -> StreamVec<'s, usize, InputOutput> {
    let total = records.len();
    positions
        .map(move |p: usize| SampleRequest {
            position: p,
            index: records[p],
            epoch,
        })
        .sample_records(dataset)
        .batch_samples(batching.size, total, batching.host_pool.clone())
        .net_inputs(Arc::clone(&batching.tables), batching.pool.clone())
}

/// The trainer shared with the worker that owns the device, between graph runs.
pub type SharedTrainer = Arc<Mutex<Option<Trainer>>>;

/// What the training step reports per batch (gathered on worker 0).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// Batch number in the epoch.
    pub batch: usize,
    /// Samples in it.
    pub samples: usize,
    /// The loss (or why the batch was not trained).
    pub outcome: Result<f64, String>,
    /// Seconds the step took.
    pub step_seconds: f64,
}

/// One epoch's training over `order` (record indices, in sampler order) in `batching`'s
/// batches; `epoch_key` seeds the augmentation. `on_step` is called on worker 0 after each
/// step with its report and statistics.
pub fn run_train_epoch(
    execution: &Execution,
    dataset: Arc<Dataset>,
    order: Arc<Vec<usize>>,
    epoch_key: u64,
    batching: Batching,
    trainer: SharedTrainer,
    on_step: impl Fn(&StepReport, Option<&BatchStats>) + Send + Sync + 'static,
) -> Result<Vec<StepReport>, DataflowError> {
    let total = order.len();
    let positions: Vec<usize> = (0..total).collect();
    let gate = Gate {
        per_step: batching.size,
        in_flight: execution.gate.in_flight,
    };
    let on_step = Arc::new(on_step);
    run_dataflow(
        &execution.clone().with_gate(gate),
        Arc::new(positions),
        move |_info, positions| {
            let order = Arc::clone(&order);
            let trainer = Arc::clone(&trainer);
            let on_step = Arc::clone(&on_step);
            let mut failed = false;
            input_batches(positions, Arc::clone(&dataset), order, epoch_key, &batching).in_order(
                |b: &InputOutput| b.number,
                move |b: InputOutput| {
                    let start = Instant::now();
                    let mut guard = trainer.lock().expect("trainer lock");
                    let samples = b.batch.as_ref().map(|x| x.host.len()).unwrap_or(0);
                    let (outcome, stats) = match (failed, b.batch, guard.as_mut()) {
                        (true, _, _) => (Err("skipped after a failed batch".into()), None),
                        (_, Err(e), _) => (Err(e.to_string()), None),
                        (_, Ok(_), None) => (Err("no trainer".into()), None),
                        (_, Ok(batch), Some(t)) => match t.train_input(&batch) {
                            Ok(s) => (Ok(s.loss.total), Some(s)),
                            Err(e) => (Err(describe(&e)), None),
                        },
                    };
                    failed |= outcome.is_err();
                    let report = StepReport {
                        batch: b.number,
                        samples,
                        outcome,
                        step_seconds: start.elapsed().as_secs_f64(),
                    };
                    on_step(&report, stats.as_ref());
                    report
                },
            )
        },
        |_: &StepReport| {},
    )
}

fn describe(e: &TrainError) -> String {
    e.to_string()
}

/// Validates on `records` (indices of `dataset`, whose pipeline is the validation transforms)
/// in `batching`'s batches, accumulating into `score`.
pub fn run_validation(
    execution: &Execution,
    dataset: Arc<Dataset>,
    records: Arc<Vec<usize>>,
    batching: Batching,
    trainer: SharedTrainer,
    score: Arc<Mutex<ValidationScore>>,
) -> Result<Vec<Result<usize, String>>, DataflowError> {
    let total = records.len();
    let positions: Vec<usize> = (0..total).collect();
    let gate = Gate {
        per_step: batching.size,
        in_flight: execution.gate.in_flight,
    };
    run_dataflow(
        &execution.clone().with_gate(gate),
        Arc::new(positions),
        move |_info, positions| {
            let records = Arc::clone(&records);
            let trainer = Arc::clone(&trainer);
            let score = Arc::clone(&score);
            input_batches(positions, Arc::clone(&dataset), records, 0, &batching).in_order(
                |b: &InputOutput| b.number,
                move |b: InputOutput| -> Result<usize, String> {
                    let input = b.batch.map_err(|e| e.to_string())?;
                    let guard = trainer.lock().expect("trainer lock");
                    let t = guard.as_ref().ok_or("no trainer")?;
                    let (probs, loss) = t.evaluate_input(&input).map_err(|e| describe(&e))?;
                    let batch = &input.host;
                    let probs: Vec<f32> =
                        Vec::<f32>::try_from(probs.flatten(0, -1)).map_err(|e| e.to_string())?;
                    let n = batch.len();
                    let per = probs.len() / n.max(1);
                    let mut s = score.lock().expect("score lock");
                    for i in 0..n {
                        let truth = batch
                            .mask(i)
                            .map(<[u8]>::to_vec)
                            .unwrap_or_else(|| vec![0; per]);
                        s.add_image(&probs[i * per..(i + 1) * per], &truth);
                    }
                    s.add_loss(loss.total, n);
                    Ok(n)
                },
            )
        },
        |_: &Result<usize, String>| {},
    )
}
