//! A probe-gated source: feeds a worker's items into the dataflow a few per timestamp and stops
//! when too many timestamps are still in flight, so memory stays bounded whatever the input
//! size (timely has no back-pressure of its own; the source slows down instead).

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
    /// A source in `scope` and the stream of its items (timestamp = feeding round).
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

    /// Feeds `items`, `per_step` per timestamp, never more than `in_flight` timestamps ahead of
    /// the probe; then closes the input. Returns once everything was introduced (the caller
    /// steps the worker until the dataflow completes).
    pub fn feed(self, worker: &mut Worker, items: impl IntoIterator<Item = I>) {
        let GatedSource {
            mut input,
            probe,
            gate,
        } = self;
        let mut items = items.into_iter().peekable();
        let mut round = 0usize;
        while items.peek().is_some() {
            for item in items.by_ref().take(gate.per_step) {
                input.send(item);
            }
            round += 1;
            input.advance_to(round);
            while round >= gate.in_flight && probe.less_than(&(round - gate.in_flight + 1)) {
                worker.step_or_park(Some(Duration::from_millis(5)));
            }
        }
        input.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;
    use timely::dataflow::operators::vec::Map;
    use timely::dataflow::operators::Probe;

    #[test]
    fn source_never_runs_more_than_in_flight_rounds_ahead() {
        timely::execute(timely::Config::thread(), |worker| {
            let seen = Rc::new(Cell::new(0usize));
            let max_ahead = Rc::new(Cell::new(0usize));
            let sent = Rc::new(Cell::new(0usize));
            let (s, m, sent_in) = (Rc::clone(&seen), Rc::clone(&max_ahead), Rc::clone(&sent));
            let source = worker.dataflow::<usize, _, _>(|scope| {
                let gate = Gate {
                    per_step: 2,
                    in_flight: 3,
                };
                let (source, stream) = GatedSource::<usize>::new(scope, gate);
                stream
                    .map(move |x: usize| {
                        s.set(s.get() + 1);
                        m.set(m.get().max(sent_in.get().saturating_sub(s.get())));
                        x
                    })
                    .probe_with(source.probe());
                source
            });
            let counter = Rc::clone(&sent);
            source.feed(
                worker,
                (0..100).inspect(move |_| counter.set(counter.get() + 1)),
            );
            while worker.step_or_park(None) {}
            assert_eq!(seen.get(), 100);
            assert!(max_ahead.get() <= 2 * 3 + 2, "{}", max_ahead.get());
        })
        .unwrap();
    }
}
