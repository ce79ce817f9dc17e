//! `encode_records`: compresses records on the worker that produced them (one zstd context per
//! worker), before they cross the exchange to their shard writer.

use super::write_shards::Payload;
use crate::data::writer::RecordEncoder;
use crate::data::{RecordError, RecordOrigin};
use data_prep::shard::Record;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::StreamVec;

/// Extension trait: [`EncodeRecords::encode_records`].
pub trait EncodeRecords<'s> {
    /// Compresses each `(position, record)` at zstd `level`; `origin(position)` names the
    /// source of a record whose compression fails.
    fn encode_records<O>(self, level: i32, origin: O) -> StreamVec<'s, usize, Payload>
    where
        O: Fn(usize) -> RecordOrigin + 'static;
}

impl<'s> EncodeRecords<'s> for StreamVec<'s, usize, (usize, Result<Record, RecordError>)> {
    fn encode_records<O>(self, level: i32, origin: O) -> StreamVec<'s, usize, Payload>
    where
        O: Fn(usize) -> RecordOrigin + 'static,
    {
        let mut encoder = RecordEncoder::new(level);
        self.map(move |(position, record)| (position, encoder.encode(record, || origin(position))))
    }
}
