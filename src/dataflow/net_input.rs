//! `net_inputs`: computes each batch's network input (float32 through the network's
//! normalisation tables, see [`InputBatch`]) on the worker that assembled the batch, so the
//! worker that owns the device only copies it into a tensor. No exchange.

use super::batch::{BatchError, BatchOutput};
use crate::data::{BufferPool, InputBatch, InputTables};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::StreamVec;

/// A batch with its network input, or why it could not be made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputOutput {
    /// Batch number.
    pub number: usize,
    /// The batch and its input.
    pub batch: Result<InputBatch, BatchError>,
}

/// Extension trait: [`NetInputs::net_inputs`].
pub trait NetInputs<'s> {
    /// Each batch with its network input through `tables`, on the batch's own worker, in
    /// buffers of `pool`.
    fn net_inputs(
        self,
        tables: Arc<InputTables>,
        pool: BufferPool,
    ) -> StreamVec<'s, usize, InputOutput>;
}

impl<'s> NetInputs<'s> for StreamVec<'s, usize, BatchOutput> {
    fn net_inputs(
        self,
        tables: Arc<InputTables>,
        pool: BufferPool,
    ) -> StreamVec<'s, usize, InputOutput> {
        self.map(move |b: BatchOutput| InputOutput {
            number: b.number,
            batch: b.batch.map(|host| InputBatch::new_in(host, &tables, &pool)),
        })
    }
}
