//! `pneumoflow synth`: a synthetic dataset in the SIIM layout (DICOM files and train-rle.csv).

use anyhow::Context;
use clap::{Args, ValueEnum};
use data_prep::synth::dicom_writer::{DicomTransferSyntax, DicomWriteOptions};
use data_prep::synth::{write_dataset, SynthOptions};
use std::path::PathBuf;

/// Transfer syntax of the written DICOM files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SynthTransferSyntax {
    /// Explicit VR little endian (uncompressed).
    Explicit,
    /// Implicit VR little endian (uncompressed).
    Implicit,
    /// JPEG baseline 8-bit (lossy, as the real challenge files).
    Jpeg,
}

/// Arguments of `pneumoflow synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Output root (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Training images (with RLE rows; about 22% positive).
    #[arg(long, default_value_t = 200)]
    pub train: usize,
    /// Test images (no labels).
    #[arg(long, default_value_t = 40)]
    pub test: usize,
    /// Image side in pixels.
    #[arg(long, default_value_t = 1024)]
    pub size: usize,
    /// Dataset seed: every image, mask and id is a function of it.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// DICOM transfer syntax.
    #[arg(long, value_enum, default_value_t = SynthTransferSyntax::Explicit)]
    pub transfer_syntax: SynthTransferSyntax,
}

/// Runs `synth`.
pub fn run(args: SynthArgs) -> anyhow::Result<()> {
    let ts = match args.transfer_syntax {
        SynthTransferSyntax::Explicit => DicomTransferSyntax::ExplicitVrLittleEndian,
        SynthTransferSyntax::Implicit => DicomTransferSyntax::ImplicitVrLittleEndian,
        SynthTransferSyntax::Jpeg => DicomTransferSyntax::JpegBaseline,
    };
    let opts = SynthOptions {
        n_train: args.train,
        n_test: args.test,
        size: args.size,
        seed: args.seed,
        dicom: DicomWriteOptions::with_transfer_syntax(ts),
        ..SynthOptions::new(&args.out)
    };
    let s = write_dataset(&opts).with_context(|| format!("writing synthetic dataset to {}", args.out.display()))?;
    println!(
        "synth: {} train ({} positive, {} objects) + {} test images of {}x{} in {} ({:.1} MiB)",
        s.n_train,
        s.train_positive,
        s.train_objects,
        s.n_test,
        args.size,
        args.size,
        s.out.display(),
        s.bytes_written as f64 / (1 << 20) as f64
    );
    Ok(())
}
