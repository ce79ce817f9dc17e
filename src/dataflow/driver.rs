//! Runs a dataset-producing graph on W worker threads: feeds output plan positions through a
//! probe-gated source and collects the shard outcomes.
//!
//! Position `i` is fed by worker `i % W`, in increasing order, `batch` positions per timestamp,
//! with at most [`IN_FLIGHT`] timestamps outstanding (timely has no built-in back-pressure; the
//! source slows down instead).

use super::shard_writer::ShardOutcome;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::{Input, Probe};
use timely::dataflow::{InputHandle, ProbeHandle, Scope, Stream};

/// Batches a worker may have in flight before it waits for the dataflow to catch up.
pub const IN_FLIGHT: usize = 4;

/// Builds `build(worker_index, scope, positions)` on every worker, feeds `positions`, and returns
/// all shard outcomes sorted by shard number.
pub fn run_graph<B>(
    workers: usize,
    positions: Vec<usize>,
    batch: usize,
    build: B,
) -> Result<Vec<ShardOutcome>, String>
where
    B: for<'s> Fn(
            usize,
            Scope<'s, usize>,
            Stream<'s, usize, Vec<usize>>,
        ) -> Stream<'s, usize, Vec<ShardOutcome>>
        + Send
        + Sync
        + 'static,
{
    let workers = workers.max(1);
    let config = if workers == 1 {
        timely::Config::thread()
    } else {
        timely::Config::process(workers)
    };
    let positions = Arc::new(positions);
    let guards = timely::execute(config, move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let mut input = InputHandle::new();
        let probe = ProbeHandle::new();
        let outcomes = Rc::new(RefCell::new(Vec::<ShardOutcome>::new()));
        let sink = Rc::clone(&outcomes);
        worker.dataflow::<usize, _, _>(|scope| {
            let stream = scope.input_from(&mut input).container::<Vec<usize>>();
            build(index, scope, stream).probe_with(&probe).sink(
                Pipeline,
                "CollectOutcomes",
                move |(input, _)| {
                    input.for_each(|_cap, data| sink.borrow_mut().extend(data.drain(..)));
                },
            );
        });
        let mine: Vec<usize> = positions
            .iter()
            .copied()
            .filter(|i| i % peers == index)
            .collect();
        for (round, chunk) in mine.chunks(batch.max(1)).enumerate() {
            for &i in chunk {
                input.send(i);
            }
            input.advance_to(round + 1);
            while round >= IN_FLIGHT && probe.less_than(&(round + 1 - IN_FLIGHT)) {
                worker.step_or_park(Some(std::time::Duration::from_millis(5)));
            }
        }
        input.close();
        while worker.step_or_park(None) {}
        let collected = outcomes.borrow().clone();
        collected
    })?;
    let mut all = Vec::new();
    for r in guards.join() {
        all.extend(r?);
    }
    all.sort_by_key(ShardOutcome::number);
    Ok(all)
}
