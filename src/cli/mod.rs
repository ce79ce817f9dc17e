//! The command line: clap definitions of every subcommand; each subcommand's module turns its
//! flags into library calls and reports with anyhow.

pub mod augment;
pub mod blend;
pub mod cluster;
pub mod export;
pub mod fail_fast;
pub mod inspect;
pub mod model;
pub mod model_arg;
pub mod pipeline_job;
pub mod predict;
pub mod prep;
pub mod progress;
pub mod run;
pub mod submit;
pub mod sweep;
pub mod sweep_watch;
pub mod synth;
pub mod torch;
pub mod train;
pub mod weights;

use clap::{Parser, Subcommand};

/// pneumoflow: SIIM-ACR pneumothorax segmentation (1st-place solution) as a dataflow system.
#[derive(Debug, Parser)]
#[command(name = "pneumoflow", version, about, long_about = None)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands. Each variant's args live in the module that runs it.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a synthetic dataset in the SIIM layout (DICOM files and train-rle.csv).
    Synth(synth::SynthArgs),
    /// Ingest SIIM DICOMs and RLE masks into memory-mapped zstd shards (timely dataflow).
    Prep(prep::PrepArgs),
    /// Summarise a shard dataset; --verify checks every record, --ids lists them.
    Inspect(inspect::InspectArgs),
    /// Export one record's image (and mask) as 8-bit grayscale PNG.
    Export(export::ExportArgs),
    /// Re-augment a dataset into new shards (copy k of ID stored as ID#k), or render a preview PNG.
    Augment(augment::AugmentArgs),
    /// Mean Dice of every threshold configuration of a grid over stored predictions (timely dataflow).
    Sweep(sweep::SweepArgs),
    /// Train the pipeline's model over its staged parts, fold by fold, resumably.
    Train(train::TrainArgs),
    /// Probability maps of a run's checkpoints (out of fold and test, TTA, averaged) into the
    /// prediction store.
    Predict(predict::PredictArgs),
    /// Weighted blend of other runs' prediction sets ([blend]) into this pipeline's store.
    Blend(blend::BlendArgs),
    /// The pipeline's stages in order (train -> predict -> blend -> sweep -> submit), each
    /// resuming or skipping by itself.
    Run(run::RunArgs),
    /// Write submission.csv from the test predictions with the [submit] post-processing.
    Submit(submit::SubmitArgs),
    /// Weight files: import PyTorch state_dicts into safetensors checkpoints.
    Weights(weights::WeightsArgs),
    /// Networks: parameter counts and forward FLOPs.
    Model(model::ModelArgs),
}

/// Runs a parsed command. With `TORCH = false` (the `pneumoflow` binary) the commands that need
/// libtorch are handed to the companion binary `pneumoflow-torch` ([`torch::exec`]), so the
/// data commands start without loading libtorch; with `TORCH = true` (that companion) every
/// command runs in-process. Both first apply [`pneumoflow::host_memory`]'s settings.
pub fn run<const TORCH: bool>(command: Command) -> anyhow::Result<()> {
    pneumoflow::host_memory::apply()?;
    match command {
        Command::Synth(args) => synth::run(args),
        Command::Prep(args) => prep::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Export(args) => export::run(args),
        Command::Augment(args) => augment::run(args),
        Command::Submit(args) => submit::run(args),
        Command::Blend(args) => blend::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Weights(args) if TORCH => weights::run(args),
        Command::Model(args) if TORCH => model::run(args),
        Command::Train(args) if TORCH => train::run(args),
        Command::Predict(args) if TORCH => predict::run(args),
        Command::Run(args) if TORCH => run::run(args),
        Command::Weights(_)
        | Command::Model(_)
        | Command::Train(_)
        | Command::Predict(_)
        | Command::Run(_) => torch::exec(),
    }
}

/// This process's command line, for lock files and messages.
pub fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// `path` made absolute without requiring it to exist (its existing parent is canonicalised).
pub fn absolute(path: &std::path::Path) -> Option<std::path::PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Some(p);
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path.file_name()?;
    absolute(&parent).map(|p| p.join(name))
}
