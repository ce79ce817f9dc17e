//! The prep graph: file list → DICOM decode → join masks → compress → per-worker shard writers.
//!
//! Positions are plan items (see [`super::driver`]); each is decoded on the worker that feeds it.
//! Decoded images are exchanged by image id to meet their RLE rows (the join: rows enter once, at
//! time 0, from worker 0), then compressed and routed to the shard writers
//! ([`super::shard_writer`]). Output bytes do not depend on the number of workers.

use super::driver::run_graph;
use super::shard_writer::{key_hash, write_shards, Payload, ShardOutcome, ShardTask};
use data_prep::ingest::{build_record, decode_image, DecodedImage};
use data_prep::shard::{encode_record, Record};
use data_prep::siim::{PrepItem, RleRow};
use indicatif::ProgressBar;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::{Map, ToStream};
use timely::dataflow::operators::Capability;

/// Everything the prep graph needs.
#[derive(Debug, Clone)]
pub struct PrepJob {
    /// All plan items (train by id, then test by id).
    pub items: Arc<Vec<PrepItem>>,
    /// Path of `train-rle.csv`, for error messages.
    pub csv: PathBuf,
    /// Shards to write; other shards are left alone.
    pub tasks: Vec<ShardTask>,
    pub size: u32,
    pub level: i32,
    pub workers: usize,
    /// Images per input batch.
    pub batch: usize,
}

type Decoded = (usize, Result<DecodedImage, String>);
type Joined = (usize, Result<Record, String>);

/// Runs the prep graph and returns one outcome per task.
pub fn run_prep(job: PrepJob, progress: ProgressBar) -> Result<Vec<ShardOutcome>, String> {
    let positions: Vec<usize> = job.tasks.iter().flat_map(|t| t.items.clone()).collect();
    let (workers, batch) = (job.workers, job.batch);
    let tasks = Arc::new(job.tasks.clone());
    let job = Arc::new(job);
    run_graph(workers, positions, batch, move |index, scope, positions| {
        let rows: Vec<(String, Vec<RleRow>)> = if index == 0 {
            tasks
                .iter()
                .flat_map(|t| job.items[t.items.clone()].iter())
                .filter(|it| !it.rle_rows.is_empty())
                .map(|it| (it.id.clone(), it.rle_rows.clone()))
                .collect()
        } else {
            Vec::new()
        };
        let rows = rows.to_stream(scope);
        let decode_job = Arc::clone(&job);
        let decoded = positions.map(move |i: usize| -> Decoded {
            (
                i,
                decode_image(&decode_job.items[i], decode_job.size).map_err(|e| format!("{e:#}")),
            )
        });
        let join_job = Arc::clone(&job);
        let joined = decoded
            .binary_frontier(
                rows,
                Exchange::new(|(i, r): &Decoded| match r {
                    Ok(d) => key_hash(&d.id),
                    Err(_) => *i as u64,
                }),
                Exchange::new(|(id, _): &(String, Vec<RleRow>)| key_hash(id)),
                "JoinMasks",
                move |_cap, _info| {
                    let mut rows: HashMap<String, Vec<RleRow>> = HashMap::new();
                    let mut pending: Vec<(Capability<usize>, Vec<Decoded>)> = Vec::new();
                    move |(images, _), (rle, rle_frontier), output| {
                        rle.for_each(|_cap, data| {
                            for (id, r) in data.drain(..) {
                                rows.entry(id).or_default().extend(r);
                            }
                        });
                        images.for_each(|cap, data| {
                            if let Some(cap) = cap.retain_least(output.output_index()) {
                                pending.push((cap, std::mem::take(data)));
                            }
                        });
                        // Emit images once no more RLE rows can arrive at or before their time.
                        pending.retain_mut(|(cap, batch)| {
                            if rle_frontier.less_equal(cap.time()) {
                                return true;
                            }
                            let mut session = output.session(cap);
                            for (i, decoded) in batch.drain(..) {
                                let item = &join_job.items[i];
                                let joined = decoded.and_then(|d| {
                                    let mut it = item.clone();
                                    it.rle_rows = rows.remove(&item.id).unwrap_or_default();
                                    build_record(&it, d, &join_job.csv)
                                        .map_err(|e| format!("{e:#}"))
                                });
                                session.give((i, joined));
                            }
                            false
                        });
                    }
                },
            )
            .container::<Vec<Joined>>();
        let level = job.level;
        let compressed = joined.map(move |(i, rec)| -> Payload {
            (
                i,
                rec.and_then(|r| encode_record(&r, level).map_err(|e| format!("{e:#}"))),
            )
        });
        write_shards(compressed, Arc::clone(&tasks), progress.clone())
    })
}
