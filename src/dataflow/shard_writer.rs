//! The shard-writer operator shared by every graph that produces a dataset (prep, augment).
//!
//! Input: `(position, Result<EncodedRecord, String>)`, where `position` is the record's place in
//! the output plan. Records are exchanged by shard, so shard `k` is written by one worker once all
//! its records have arrived, in plan order; output bytes therefore do not depend on the number of
//! workers. Output: one [`ShardOutcome`] per task.

use data_prep::shard::{write_shard, EncodedRecord, ShardSummary};
use indicatif::ProgressBar;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::Stream;

/// A compressed record (or the reason it could not be made) at its output plan position.
pub type Payload = (usize, Result<EncodedRecord, String>);

/// One shard to (re)write: its number, file, plan range and fingerprint.
#[derive(Debug, Clone)]
pub struct ShardTask {
    pub number: usize,
    pub path: PathBuf,
    pub items: Range<usize>,
    pub fingerprint: u64,
}

/// What happened to one shard.
#[derive(Debug, Clone)]
pub enum ShardOutcome {
    Written {
        number: usize,
        summary: ShardSummary,
    },
    /// Not written; every record error, in plan order.
    Failed { number: usize, errors: Vec<String> },
}

impl ShardOutcome {
    pub fn number(&self) -> usize {
        match self {
            ShardOutcome::Written { number, .. } | ShardOutcome::Failed { number, .. } => *number,
        }
    }
}

/// Stable 64-bit hash used to spread keys over workers.
pub fn key_hash(key: &str) -> u64 {
    data_prep::shard::format::Fnv64::default()
        .write(key.as_bytes())
        .0
}

/// Adds the shard writers to `records`; `progress` is advanced once per record received.
pub fn write_shards<'scope>(
    records: Stream<'scope, usize, Vec<Payload>>,
    tasks: Arc<Vec<ShardTask>>,
    progress: ProgressBar,
) -> Stream<'scope, usize, Vec<ShardOutcome>> {
    let task_of: Arc<HashMap<usize, usize>> = Arc::new(
        tasks
            .iter()
            .enumerate()
            .flat_map(|(t, task)| task.items.clone().map(move |i| (i, t)))
            .collect(),
    );
    let route = Arc::clone(&task_of);
    records
        .unary_frontier(
            Exchange::new(move |(i, _): &Payload| route[i] as u64),
            "WriteShards",
            move |_cap, _info| {
                let mut buffers: BTreeMap<usize, Vec<Payload>> = BTreeMap::new();
                move |(input, _frontier), output| {
                    input.for_each(|cap, data| {
                        let mut session = output.session(&cap);
                        for (i, r) in data.drain(..) {
                            let t = task_of[&i];
                            let buf = buffers.entry(t).or_default();
                            buf.push((i, r));
                            progress.inc(1);
                            if buf.len() == tasks[t].items.len() {
                                let mut recs = buffers.remove(&t).unwrap_or_default();
                                recs.sort_by_key(|(i, _)| *i);
                                session.give(write_task(&tasks[t], recs));
                            }
                        }
                    });
                }
            },
        )
        .container::<Vec<ShardOutcome>>()
}

fn write_task(task: &ShardTask, recs: Vec<Payload>) -> ShardOutcome {
    let mut good = Vec::with_capacity(recs.len());
    let mut errors = Vec::new();
    for (_, r) in recs {
        match r {
            Ok(e) => good.push(e),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return ShardOutcome::Failed {
            number: task.number,
            errors,
        };
    }
    match write_shard(&task.path, &good, task.fingerprint) {
        Ok(summary) => ShardOutcome::Written {
            number: task.number,
            summary,
        },
        Err(e) => ShardOutcome::Failed {
            number: task.number,
            errors: vec![format!("{e:#}")],
        },
    }
}
