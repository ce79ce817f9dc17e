//! Command-line interface: clap derive definitions of every subcommand.
use clap::{Parser, Subcommand};

/// pneumoflow: SIIM-ACR pneumothorax segmentation (1st-place solution) as a dataflow system.
#[derive(Debug, Parser)]
#[command(name = "pneumoflow", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands. Each variant's args live in the module that runs it.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a synthetic dataset in the SIIM layout (DICOM files and train-rle.csv).
    Synth(pneumoflow::commands::synth::SynthArgs),
    /// Ingest SIIM DICOMs and RLE masks into memory-mapped zstd shards (timely dataflow).
    Prep(pneumoflow::commands::prep::PrepArgs),
    /// Summarise a shard dataset; --verify checks every record, --ids lists them.
    Inspect(pneumoflow::commands::inspect::InspectArgs),
    /// Export one record's image (and mask) as 8-bit grayscale PNG.
    Export(pneumoflow::commands::export::ExportArgs),
    /// Re-augment a dataset into new shards (copy k of ID stored as ID#k), or render a preview PNG.
    Augment(pneumoflow::commands::augment::AugmentArgs),
    /// Weight files: import PyTorch state_dicts into safetensors checkpoints.
    Weights(pneumoflow::commands::weights::WeightsArgs),
    /// Networks: parameter counts and forward FLOPs.
    Model(pneumoflow::commands::model::ModelArgs),
}
