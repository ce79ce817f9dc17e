//! The resumable dataset writer shared by every job that produces a shard dataset (prep, bulk
//! re-augmentation): output planning with per-shard fingerprints, shard tasks and their
//! outcomes, and the manifest written last.
//!
//! A job (1) computes its shard ranges and fingerprints ([`fingerprint`]), (2) plans the output
//! ([`plan_output`], read-only: shards whose fingerprint matches are kept), (3) has one process
//! [`OutputPlan::prepare`] the directory, (4) writes each task's records with [`write_task`]
//! (in a dataflow, on the worker that owns the shard), and (5) [`OutputPlan::finish`]es: once
//! every shard is complete the manifest is built from the shard files and written atomically.
//! A dataset without a manifest is an unfinished write that no reader accepts.

pub mod fingerprint;
mod finish;
mod plan;
mod task;

pub use finish::{manifest_from_shards, write_folds_csv};
pub use plan::{plan_output, OutputPlan, ShardTask};
pub use task::{write_task, RecordEncoder, ShardOutcome};
