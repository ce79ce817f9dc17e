//! A probe-gated source: feeds items into the dataflow a few per timestamp and stops when too
//! many timestamps are still in flight, so memory stays bounded whatever the input size (timely
//! has no back-pressure of its own; the source slows down instead).
//!
//! The worker threads of a process share one [`ClaimQueue`]: each claims the next `per_step`
//! items once it has taken up its previous ones, then waits at the gate with them, so a worker
//! that drew cheap items takes more of them instead of waiting for one that drew expensive ones
//! (with a fixed split, the gate made the faster worker idle whenever the other fell
//! `in_flight` timestamps behind). Chunk `c` of the queue goes in at timestamp `c / workers`,
//! so a timestamp holds the same items whichever worker claimed them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use timely::dataflow::operators::vec::Input;
use timely::dataflow::{InputHandleVec, ProbeHandle, Scope, StreamVec};
use timely::worker::Worker;

/// How a [`GatedSource`] feeds: items per timestamp, and timestamps allowed in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gate {
    /// Items introduced per timestamp (records, or whole batches).
    pub per_step: usize,
    /// Timestamps that may be outstanding before the source waits.
    pub in_flight: usize,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            per_step: 4,
            in_flight: 4,
        }
    }
}

/// The input side of a gated source; attach [`GatedSource::probe`] to the end of the graph
/// (`probe_with`) and call [`GatedSource::feed`] once the dataflow is built.
pub struct GatedSource<I: Clone + 'static> {
    input: InputHandleVec<usize, I>,
    probe: ProbeHandle<usize>,
    gate: Gate,
}

impl<I: Clone + 'static> GatedSource<I> {
    /// A source in `scope` and the stream of its items (timestamp = claimed chunk / workers).
    pub fn new<'s>(
        scope: Scope<'s, usize>,
        gate: Gate,
    ) -> (GatedSource<I>, StreamVec<'s, usize, I>) {
        let (input, stream) = scope.new_input::<I>();
        let source = GatedSource {
            input,
            probe: ProbeHandle::new(),
            gate: Gate {
                per_step: gate.per_step.max(1),
                in_flight: gate.in_flight.max(1),
            },
        };
        (source, stream)
    }

    /// The probe to place at the end of the graph: the source waits on its frontier.
    pub fn probe(&self) -> &ProbeHandle<usize> {
        &self.probe
    }

    /// Claims items of `queue`, `per_step` at a time (chunk `c` at timestamp `c / workers`),
    /// each chunk once the probe is at most `in_flight` timestamps behind it and after a step
    /// of the worker has taken up the previous one, until the queue is empty; then closes the
    /// input. Returns once everything this worker claimed was introduced (the caller steps the
    /// worker until the dataflow completes).
    pub fn feed(self, worker: &mut Worker, queue: &ClaimQueue<I>) {
        let GatedSource {
            mut input,
            probe,
            gate,
        } = self;
        while let Some((time, items)) = queue.claim(gate.per_step) {
            // claims only grow, so `time` never goes back
            input.advance_to(time);
            while time >= gate.in_flight && probe.less_than(&(time + 1 - gate.in_flight)) {
                worker.step_or_park(Some(Duration::from_millis(5)));
            }
            for item in items {
                input.send(item);
            }
            // Work on the chunk before claiming the next, so that a worker holds no more
            // claimed items than it is about to process.
            input.flush();
            worker.step();
        }
        input.close();
    }
}

/// The items of one process (`items[process + processes * j]` for `j = 0, 1, ..`) that its
/// `workers` worker threads claim in chunks (see the module doc).
pub struct ClaimQueue<I> {
    items: Arc<Vec<I>>,
    process: usize,
    processes: usize,
    /// How many items are this process's.
    len: usize,
    workers: usize,
    next_chunk: AtomicUsize,
}

impl<I: Clone> ClaimQueue<I> {
    /// The share of process `process` of `processes` in `items`, for `workers` threads.
    pub fn new(items: Arc<Vec<I>>, process: usize, processes: usize, workers: usize) -> Self {
        let processes = processes.max(1);
        let len = items.len().saturating_sub(process).div_ceil(processes);
        ClaimQueue {
            items,
            process,
            processes,
            len,
            workers: workers.max(1),
            next_chunk: AtomicUsize::new(0),
        }
    }

    /// The next unclaimed chunk of `per_step` items and its timestamp, or `None` when all
    /// are claimed.
    fn claim(&self, per_step: usize) -> Option<(usize, impl Iterator<Item = I> + '_)> {
        let chunk = self.next_chunk.fetch_add(1, Ordering::Relaxed);
        let start = chunk.checked_mul(per_step)?;
        if start >= self.len {
            return None;
        }
        let end = (start + per_step).min(self.len);
        let item = move |j: usize| self.items[self.process + self.processes * j].clone();
        Some((chunk / self.workers, (start..end).map(item)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::collections::VecDeque;
    use std::rc::Rc;
    use std::sync::Mutex;
    use timely::dataflow::channels::pact::Pipeline;
    use timely::dataflow::operators::generic::Operator;
    use timely::dataflow::operators::vec::Map;
    use timely::dataflow::operators::{Capability, Probe};
    use timely::dataflow::StreamVec;

    /// Holds what it receives (and its capability) and passes on one held chunk every third
    /// activation: downstream lags behind the source unless the source waits for it.
    fn hold<'s>(stream: StreamVec<'s, usize, usize>) -> StreamVec<'s, usize, usize> {
        let scope = stream.scope();
        stream.unary(Pipeline, "Hold", move |_cap, info| {
            let activator = scope.activator_for(info.address);
            let mut held: VecDeque<(Capability<usize>, Vec<usize>)> = VecDeque::new();
            let mut activations = 0usize;
            move |input, output| {
                input.for_each(|cap, data| {
                    if let Some(cap) = cap.retain_least(0) {
                        held.push_back((cap, std::mem::take(data)));
                    }
                });
                activations += 1;
                if activations.is_multiple_of(3) {
                    if let Some((cap, data)) = held.pop_front() {
                        let mut session = output.session(&cap);
                        for x in data {
                            session.give(x);
                        }
                    }
                }
                if !held.is_empty() {
                    activator.activate();
                }
            }
        })
    }

    #[test]
    fn source_never_runs_more_than_in_flight_rounds_ahead() {
        let items = Arc::new((0..100).collect::<Vec<usize>>());
        let queue = Arc::new(ClaimQueue::new(items, 0, 1, 1));
        let q = Arc::clone(&queue);
        timely::execute(timely::Config::thread(), move |worker| {
            let seen = Rc::new(Cell::new(0usize));
            let max_ahead = Rc::new(Cell::new(0usize));
            let (s, m, claims) = (Rc::clone(&seen), Rc::clone(&max_ahead), Arc::clone(&q));
            let source = worker.dataflow::<usize, _, _>(|scope| {
                let gate = Gate {
                    per_step: 2,
                    in_flight: 3,
                };
                let (source, stream) = GatedSource::<usize>::new(scope, gate);
                hold(stream)
                    .map(move |x: usize| {
                        s.set(s.get() + 1);
                        let claimed = (claims.next_chunk.load(Ordering::Relaxed) * 2).min(100);
                        m.set(m.get().max(claimed.saturating_sub(s.get())));
                        x
                    })
                    .probe_with(source.probe());
                source
            });
            source.feed(worker, &q);
            while worker.step_or_park(None) {}
            assert_eq!(seen.get(), 100);
            // the timestamps in flight, plus the chunk claimed and waiting at the gate
            assert!(max_ahead.get() <= 2 * 3 + 2, "{}", max_ahead.get());
        })
        .unwrap();
        assert!(queue.claim(2).is_none(), "every item was claimed");
    }

    #[test]
    fn a_process_claims_its_share_in_order() {
        let items = Arc::new((0..11).collect::<Vec<usize>>());
        for (process, share) in [
            (0, vec![0, 3, 6, 9]),
            (1, vec![1, 4, 7, 10]),
            (2, vec![2, 5, 8]),
        ] {
            let queue = ClaimQueue::new(Arc::clone(&items), process, 3, 2);
            let mut claimed = Vec::new();
            let mut times = Vec::new();
            while let Some((time, chunk)) = queue.claim(2) {
                times.push(time);
                claimed.extend(chunk);
            }
            assert_eq!(claimed, share, "process {process}");
            // chunks 0 and 1 at timestamp 0 (two workers), chunk 2 at timestamp 1
            assert_eq!(
                times,
                [0, 0, 1][..share.len().div_ceil(2)],
                "process {process}"
            );
        }
        assert!(ClaimQueue::new(items, 12, 13, 1).claim(1).is_none());
    }

    #[test]
    fn a_slow_worker_claims_fewer_items_and_every_item_goes_in_once() {
        // worker 1 takes 20 ms per item, worker 0 no time: with a fixed split each would
        // feed 20 of the 40 items; claiming, worker 0 takes most of them.
        let queue = Arc::new(ClaimQueue::new(Arc::new((0..40).collect()), 0, 1, 2));
        let fed = Arc::new(Mutex::new(Vec::new()));
        let (q, f) = (Arc::clone(&queue), Arc::clone(&fed));
        timely::execute(timely::Config::process(2), move |worker| {
            let index = worker.index();
            let sink = Arc::clone(&f);
            let source = worker.dataflow::<usize, _, _>(|scope| {
                let gate = Gate {
                    per_step: 1,
                    in_flight: 2,
                };
                let (source, stream) = GatedSource::<usize>::new(scope, gate);
                stream
                    .map(move |x: usize| {
                        if index == 1 {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        sink.lock().unwrap().push((index, x));
                        x
                    })
                    .probe_with(source.probe());
                source
            });
            source.feed(worker, &q);
            while worker.step_or_park(None) {}
        })
        .unwrap();
        let mut fed = fed.lock().unwrap().clone();
        let slow = fed.iter().filter(|(w, _)| *w == 1).count();
        assert!(slow < 20, "the slow worker fed {slow} of 40");
        fed.sort_by_key(|&(_, x)| x);
        let items: Vec<usize> = fed.iter().map(|&(_, x)| x).collect();
        assert_eq!(items, (0..40).collect::<Vec<_>>());
    }
}
