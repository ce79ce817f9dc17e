//! The resumable dataset writer shared by every job that produces a shard dataset (prep, bulk
//! re-augmentation): output planning with per-shard fingerprints, shard tasks and their
//! outcomes, and the manifest written last.
//!
//! A job (1) computes its shard ranges and fingerprints ([`fingerprint`]), (2) plans the output
//! ([`plan_output`], read-only: it refuses a directory that is not a dataset, and keeps shards
//! whose fingerprint matches), (3) has one process take the [`DatasetLock`] and
//! [`OutputPlan::prepare`] the directory, (4) writes each task's records with a [`TaskWriter`]
//! (in a dataflow, on the worker that owns the shard, appending records as their turn comes), and (5) [`OutputPlan::finish`]es: once
//! every shard is complete the manifest is built from the shard files and written atomically,
//! and the shard files it no longer references are removed. A fresh dataset without a manifest
//! is an unfinished write that no reader accepts; a re-run over a complete dataset writes the
//! shards it replaces under other names, so the old dataset stays readable until the new
//! manifest takes its place.

pub mod fingerprint;
mod finish;
mod lock;
mod plan;
mod task;

pub use finish::{manifest_from_shards, write_folds_csv};
pub use lock::DatasetLock;
pub use plan::{
    plan_output, shard_number, shard_slots, OutputPlan, ShardTask, FOLDS_FILE, LOCK_FILE,
};
pub use task::{write_task, RecordEncoder, ShardOutcome, TaskWriter};
