//! `gather`: sends every record of a stream to worker 0 (of process 0), where a job's small
//! results (shard outcomes, progress counts, scores) are collected once for the whole cluster.

use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::StreamVec;
use timely::ExchangeData;

/// Extension trait: [`Gather::gather`].
pub trait Gather<'s, R: ExchangeData> {
    /// All records, on worker 0; other workers' output is empty.
    fn gather(self) -> StreamVec<'s, usize, R>;
}

impl<'s, R: ExchangeData> Gather<'s, R> for StreamVec<'s, usize, R> {
    fn gather(self) -> StreamVec<'s, usize, R> {
        self.unary(Exchange::new(|_: &R| 0u64), "Gather", |_cap, _info| {
            move |input, output| {
                input.for_each(|cap, data| {
                    output.session(&cap).give_container(data);
                });
            }
        })
    }
}
