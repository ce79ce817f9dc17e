//! Timely dataflow: the only module that uses timely. One operator per file, each an extension
//! trait on streams, tested in-process at 1 and 2 workers; graphs are short compositions of
//! them run by [`runner::run_dataflow`].
//!
//! - [`gated_source`]: probe-gated source, bounded work in flight.
//! - [`sample`]: read + decode + augment records of a dataset.
//! - [`encode`]: compress records where they were made.
//! - [`batch`]: group samples into host batches, deterministic order.
//! - [`net_input`]: a batch's float32 network input, computed where the batch was assembled.
//! - [`write_shards`]: exchange by shard, write atomically in plan order.
//! - [`gather`]: collect small results on worker 0.
//! - [`in_order`]: numbered items to worker 0, consumed in number order (the training step).
//! - [`runner`]: start threads / processes / a cluster ([`cluster`]) and run a graph.
//! - graphs: [`prep`], [`augment`], [`sweep`] (threshold sweeps over prediction sets),
//!   [`incremental_sweep`] (differential: sweep results maintained as prediction sets come and go),
//!   [`train_epoch`] (one epoch of training, a validation), the training job over folds, parts
//!   and epochs ([`training`]), [`predict`] (probability maps into the prediction store) and
//!   [`blend`] (weighted blends of other runs' prediction sets).

pub mod augment;
pub mod batch;
pub mod blend;
pub mod cluster;
pub mod encode;
pub mod gated_source;
pub mod gather;
pub mod in_order;
pub mod incremental_sweep;
pub mod net_input;
pub mod predict;
pub mod prep;
pub mod runner;
pub mod sample;
pub mod sweep;
pub mod train_epoch;
pub mod training;
pub mod write_shards;

pub use runner::{run_dataflow, DataflowError, Execution, WorkerInfo};

#[cfg(test)]
mod tests;
