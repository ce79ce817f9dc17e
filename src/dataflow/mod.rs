//! Timely dataflow graphs. This is the only module that uses timely or differential.

pub mod augment;
pub mod driver;
pub mod prep;
pub mod shard_writer;
