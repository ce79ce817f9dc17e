//! One module per CLI subcommand; each exposes `run(args) -> anyhow::Result<()>`.
pub mod augment;
pub mod export;
pub mod inspect;
pub mod model;
pub mod prep;
pub mod shard_out;
pub mod synth;
pub mod weights;
