//! `in_order`: brings numbered items (batches) to worker 0 and applies a function to them in
//! number order, 0, 1, 2, ..., whatever order they arrive in. This is how a training step that
//! owns the device consumes batches made by all workers: the step sequence, and so the trained
//! weights, never depend on the number of workers.

use std::collections::BTreeMap;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::StreamVec;
use timely::ExchangeData;

/// Extension trait: [`InOrder::in_order`].
pub trait InOrder<'s, T: ExchangeData> {
    /// Sends every item to worker 0 and calls `f` on them in the order of `number(item)`,
    /// starting at 0 with no gaps (numbers must be 0..n, each once). Emits `f`'s results.
    fn in_order<R, F>(self, number: fn(&T) -> usize, f: F) -> StreamVec<'s, usize, R>
    where
        R: Clone + 'static,
        F: FnMut(T) -> R + 'static;
}

impl<'s, T: ExchangeData> InOrder<'s, T> for StreamVec<'s, usize, T> {
    fn in_order<R, F>(self, number: fn(&T) -> usize, mut f: F) -> StreamVec<'s, usize, R>
    where
        R: Clone + 'static,
        F: FnMut(T) -> R + 'static,
    {
        self.unary(
            Exchange::new(|_: &T| 0u64),
            "InOrder",
            move |_cap, _info| {
                let mut pending: BTreeMap<usize, T> = BTreeMap::new();
                let mut next = 0usize;
                move |input, output| {
                    input.for_each(|cap, data| {
                        let mut session = output.session(&cap);
                        for item in data.drain(..) {
                            pending.insert(number(&item), item);
                        }
                        while let Some(item) = pending.remove(&next) {
                            session.give(f(item));
                            next += 1;
                        }
                    });
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataflow::runner::{run_dataflow, Execution};
    use std::sync::{Arc, Mutex};
    use timely::dataflow::operators::vec::Map;

    #[test]
    fn items_are_consumed_in_number_order_at_any_worker_count() {
        for workers in [1, 2, 3] {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let log = Arc::clone(&seen);
            let out = run_dataflow(
                &Execution::threads(workers),
                Arc::new((0..40usize).rev().collect::<Vec<_>>()),
                move |_info, items| {
                    let log = Arc::clone(&log);
                    items.map(|i: usize| (i, i * 10)).in_order(
                        |(i, _): &(usize, usize)| *i,
                        move |(i, v)| {
                            log.lock().unwrap().push(i);
                            v
                        },
                    )
                },
                |_: &usize| {},
            )
            .unwrap();
            assert_eq!(*seen.lock().unwrap(), (0..40).collect::<Vec<_>>());
            let mut out = out;
            out.sort();
            assert_eq!(out, (0..40).map(|i| i * 10).collect::<Vec<_>>());
        }
    }
}
