//! `batch_samples`: groups samples into [`HostBatch`]es of `n` consecutive positions. Batch `b`
//! (positions `b*n .. (b+1)*n`, the last one possibly shorter) is assembled on worker
//! `b % peers` once all its samples have arrived, in position order, so a batch's content and
//! order never depend on the number of workers. Samples cross at most this one exchange.

use crate::data::{BatchSizeError, BufferPool, HostBatch, RecordError, Sample};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::StreamVec;

/// A finished batch: its number and samples, or every error of its samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchOutput {
    /// Batch number (`position / n`).
    pub number: usize,
    /// The batch, or why it could not be made.
    pub batch: Result<HostBatch, BatchError>,
}

/// Why a batch could not be assembled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum BatchError {
    /// Some samples failed (the others are dropped with the batch).
    #[error("{} sample(s) failed, first: {}", .0.len(), .0[0])]
    Records(Vec<RecordError>),
    /// The samples do not all have the same size.
    #[error("{0}")]
    Size(BatchSizeError),
}

/// Extension trait: [`BatchSamples::batch_samples`].
pub trait BatchSamples<'s> {
    /// Batches of `n` positions out of `total` positions (`0..total`, each exactly once).
    ///
    /// # Panics
    /// If `n == 0`, or a position is `>= total`.
    /// Batch planes come from `pool` and return to it when the batch is dropped.
    fn batch_samples(
        self,
        n: usize,
        total: usize,
        pool: BufferPool<u8>,
    ) -> StreamVec<'s, usize, BatchOutput>;
}

type Item = (usize, Result<Sample, RecordError>);

impl<'s> BatchSamples<'s> for StreamVec<'s, usize, Item> {
    fn batch_samples(
        self,
        n: usize,
        total: usize,
        pool: BufferPool<u8>,
    ) -> StreamVec<'s, usize, BatchOutput> {
        assert!(n > 0, "batch size must be positive");
        self.unary(
            Exchange::new(move |(p, _): &Item| (p / n) as u64),
            "BatchSamples",
            move |_cap, _info| {
                let mut pending: HashMap<usize, Vec<Item>> = HashMap::new();
                move |input, output| {
                    input.for_each(|cap, data| {
                        let mut session = output.session(&cap);
                        for (p, s) in data.drain(..) {
                            assert!(p < total, "position {p} out of 0..{total}");
                            let number = p / n;
                            let expected = n.min(total - number * n);
                            let items = pending.entry(number).or_default();
                            items.push((p, s));
                            if items.len() == expected {
                                let items = pending.remove(&number).unwrap_or_default();
                                session.give(BatchOutput {
                                    number,
                                    batch: assemble(items, &pool),
                                });
                            }
                        }
                    });
                }
            },
        )
    }
}

fn assemble(mut items: Vec<Item>, pool: &BufferPool<u8>) -> Result<HostBatch, BatchError> {
    items.sort_by_key(|(p, _)| *p);
    let errors: Vec<RecordError> = items
        .iter()
        .filter_map(|(_, s)| s.as_ref().err().cloned())
        .collect();
    if !errors.is_empty() {
        return Err(BatchError::Records(errors));
    }
    let mut batch: Option<HostBatch> = None;
    for (p, s) in &items {
        if let Ok(sample) = s {
            let b = batch.get_or_insert_with(|| {
                let (w, h) = (sample.image.width(), sample.image.height());
                HostBatch::new_in(w, h, items.len(), pool)
            });
            b.push(*p, sample).map_err(BatchError::Size)?;
        }
    }
    Ok(batch.expect("a batch has at least one sample"))
}
