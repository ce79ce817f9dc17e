//! `write_shards`: routes compressed records to the worker that owns their output shard
//! (exchange by shard number) and appends each record to its shard file as soon as the records
//! before it in plan order are there ([`TaskWriter`]); the file is completed and renamed into
//! place, atomically, once all its records have arrived. Output bytes therefore never depend on the number of workers or
//! processes. Emits [`WriteEvent`]s: records received (for progress) and one outcome per shard.

use super::runner::{run_dataflow, DataflowError, Execution, WorkerInfo};
use crate::data::writer::{ShardOutcome, ShardTask, TaskWriter};
use crate::data::RecordError;
use data_prep::shard::EncodedRecord;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::StreamVec;

/// A compressed record (or why it could not be made) at its output plan position.
pub type Payload = (usize, Result<EncodedRecord, RecordError>);

/// What the shard writers report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteEvent {
    /// This many records reached their shard writer.
    Received(usize),
    /// A shard task finished.
    Shard(ShardOutcome),
}

/// Extension trait: [`WriteShards::write_shards`].
pub trait WriteShards<'s> {
    /// Writes the shards of `tasks` from the records at their plan positions. Every position of
    /// every task must arrive exactly once; positions outside the tasks are a bug (panic).
    fn write_shards(self, tasks: Arc<Vec<ShardTask>>) -> StreamVec<'s, usize, WriteEvent>;
}

impl<'s> WriteShards<'s> for StreamVec<'s, usize, Payload> {
    fn write_shards(self, tasks: Arc<Vec<ShardTask>>) -> StreamVec<'s, usize, WriteEvent> {
        let task_of: Arc<HashMap<usize, usize>> = Arc::new(
            tasks
                .iter()
                .enumerate()
                .flat_map(|(t, task)| task.items.clone().map(move |i| (i, t)))
                .collect(),
        );
        let route = Arc::clone(&task_of);
        self.unary(
            Exchange::new(move |(i, _): &Payload| tasks_number(&route, *i) as u64),
            "WriteShards",
            move |_cap, _info| {
                let mut writers: BTreeMap<usize, TaskWriter> = BTreeMap::new();
                move |input, output| {
                    input.for_each(|cap, data| {
                        let mut session = output.session(&cap);
                        session.give(WriteEvent::Received(data.len()));
                        for (i, r) in data.drain(..) {
                            let t = tasks_number(&task_of, i);
                            let writer = writers
                                .entry(t)
                                .or_insert_with(|| TaskWriter::new(tasks[t].clone()));
                            if let Some(outcome) = writer.push(i, r) {
                                writers.remove(&t);
                                session.give(WriteEvent::Shard(outcome));
                            }
                        }
                    });
                }
            },
        )
    }
}

/// Runs a graph that ends in [`WriteShards::write_shards`] over `items`; `progress(n)` is called
/// on process 0 as records reach their writers. Returns the outcome of every task (on process 0;
/// empty elsewhere), by shard number.
pub fn run_writing_dataflow<I, B>(
    execution: &Execution,
    items: Arc<Vec<I>>,
    build: B,
    progress: impl Fn(u64) + Send + Sync + 'static,
) -> Result<Vec<ShardOutcome>, DataflowError>
where
    I: Clone + Send + Sync + 'static,
    B: for<'s> Fn(WorkerInfo, StreamVec<'s, usize, I>) -> StreamVec<'s, usize, WriteEvent>
        + Send
        + Sync
        + 'static,
{
    let events = run_dataflow(execution, items, build, move |event: &WriteEvent| {
        if let WriteEvent::Received(n) = event {
            progress(*n as u64);
        }
    })?;
    Ok(outcomes(events))
}

/// The shard outcomes among `events`, by shard number.
pub fn outcomes(events: Vec<WriteEvent>) -> Vec<ShardOutcome> {
    let mut out: Vec<ShardOutcome> = events
        .into_iter()
        .filter_map(|e| match e {
            WriteEvent::Shard(o) => Some(o),
            WriteEvent::Received(_) => None,
        })
        .collect();
    out.sort_by_key(ShardOutcome::number);
    out
}

fn tasks_number(task_of: &HashMap<usize, usize>, position: usize) -> usize {
    *task_of
        .get(&position)
        .unwrap_or_else(|| panic!("plan position {position} belongs to no shard task"))
}
