//! The bulk re-augmentation graph: read record → augment (copy k) → compress → shard writers.
//!
//! Output position `j` is copy `k = j % copies` of input record `j / copies`; it is stored as
//! `ID#k` with label, fold and object count carried over. Copy `k` uses the generator
//! `sample_rng(seed, k, ID)`, so the output depends only on (seed, copy, id), never on the worker
//! count or order.

use super::driver::run_graph;
use super::shard_writer::{write_shards, Payload, ShardOutcome, ShardTask};
use crate::augment::{sample_rng, ImageU8, Pipeline};
use data_prep::shard::{encode_record, Decoder, Record, RecordMeta, ShardSet};
use indicatif::ProgressBar;
use std::sync::Arc;
use timely::dataflow::operators::vec::Map;

/// Everything the augment graph needs.
pub struct AugmentJob {
    pub input: Arc<ShardSet>,
    pub pipeline: Pipeline,
    pub copies: usize,
    pub seed: u64,
    pub level: i32,
    pub tasks: Vec<ShardTask>,
    pub workers: usize,
    pub batch: usize,
}

/// The id of copy `k` of record `id`.
pub fn copy_id(id: &str, k: usize) -> String {
    format!("{id}#{k}")
}

/// Augments copy `k` of input record `index` into a new record.
pub fn augment_record(
    set: &ShardSet,
    index: usize,
    k: usize,
    pipeline: &Pipeline,
    seed: u64,
    dec: &mut Decoder,
) -> Result<Record, String> {
    let rec = set.read(index, dec).map_err(|e| format!("{e:#}"))?;
    let (w, h) = (rec.meta.width as usize, rec.meta.height as usize);
    let mut image =
        ImageU8::from_vec(w, h, rec.image).map_err(|e| format!("record {}: {e:#}", rec.meta.id))?;
    let mut mask = match rec.mask {
        Some(m) => {
            Some(ImageU8::from_vec(w, h, m).map_err(|e| format!("record {}: {e:#}", rec.meta.id))?)
        }
        None => None,
    };
    let mut rng = sample_rng(seed, k as u64, &rec.meta.id);
    pipeline
        .apply(&mut image, mask.as_mut(), &mut rng)
        .map_err(|e| format!("record {} copy {k}: {e:#}", rec.meta.id))?;
    let meta = RecordMeta {
        id: copy_id(&rec.meta.id, k),
        height: image.height() as u32,
        width: image.width() as u32,
        ..rec.meta
    };
    Ok(Record {
        meta,
        image: image.into_vec(),
        mask: mask.map(ImageU8::into_vec),
    })
}

/// Runs the augment graph and returns one outcome per task.
pub fn run_augment(job: AugmentJob, progress: ProgressBar) -> Result<Vec<ShardOutcome>, String> {
    let positions: Vec<usize> = job.tasks.iter().flat_map(|t| t.items.clone()).collect();
    let (workers, batch) = (job.workers, job.batch);
    let tasks = Arc::new(job.tasks);
    let (input, pipeline, copies, seed, level) =
        (job.input, job.pipeline, job.copies, job.seed, job.level);
    run_graph(
        workers,
        positions,
        batch,
        move |_index, _scope, positions| {
            let set = Arc::clone(&input);
            let pipeline = pipeline.clone();
            let mut dec = Decoder::new();
            let compressed = positions.map(move |j: usize| -> Payload {
                let rec = augment_record(&set, j / copies, j % copies, &pipeline, seed, &mut dec);
                (
                    j,
                    rec.and_then(|r| encode_record(&r, level).map_err(|e| format!("{e:#}"))),
                )
            });
            write_shards(compressed, Arc::clone(&tasks), progress.clone())
        },
    )
}
