//! `sample_records`: reads, decodes and augments records of a [`Dataset`] (one decoder per
//! worker), each with the generator `sample_rng(seed, epoch, id)`, so a sample never depends on
//! the worker that made it.

use crate::data::{Dataset, RecordError, Sample};
use data_prep::shard::Decoder;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::StreamVec;

/// One sample to make: record `index` at `epoch`, for output position `position`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleRequest {
    /// Where the sample goes (plan or sampler position).
    pub position: usize,
    /// The record of the dataset.
    pub index: usize,
    /// The epoch (or copy) of the generator.
    pub epoch: u64,
}

/// Extension trait: [`SampleRecords::sample_records`].
pub trait SampleRecords<'s> {
    /// `(position, dataset.sample(index, epoch))` for every request.
    fn sample_records(
        self,
        dataset: Arc<Dataset>,
    ) -> StreamVec<'s, usize, (usize, Result<Sample, RecordError>)>;
}

impl<'s> SampleRecords<'s> for StreamVec<'s, usize, SampleRequest> {
    fn sample_records(
        self,
        dataset: Arc<Dataset>,
    ) -> StreamVec<'s, usize, (usize, Result<Sample, RecordError>)> {
        let mut decoder = Decoder::new();
        self.map(move |r: SampleRequest| {
            (r.position, dataset.sample(r.index, r.epoch, &mut decoder))
        })
    }
}
