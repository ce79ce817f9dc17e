//! `pneumoflow synth`: a synthetic dataset in the SIIM layout (DICOM files and train-rle.csv),
//! cases written in parallel (rayon) with a progress bar; the CSV is written last.

use anyhow::Context;
use clap::{Args, ValueEnum};
use data_prep::synth::dicom_writer::{DicomTransferSyntax, DicomWriteOptions};
use data_prep::synth::{
    prepare_output, write_case, write_train_csv, Split, SynthOptions, WrittenCase,
};
use rayon::prelude::*;
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
    /// Training images (with RLE rows; 22% positive).
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
    let context = || format!("writing synthetic dataset to {}", args.out.display());
    prepare_output(&opts).with_context(context)?;
    let pb = super::progress::bar((args.train + args.test) as u64, "synth");
    let write = |split: Split, n: usize| -> anyhow::Result<Vec<WrittenCase>> {
        (0..n)
            .into_par_iter()
            .map(|i| {
                let c = write_case(&opts, split, i);
                pb.inc(1);
                c
            })
            .collect::<Result<Vec<_>, _>>()
            .with_context(context)
    };
    let train = write(Split::Train, args.train)?;
    let test = write(Split::Test, args.test)?;
    let (_, csv_bytes) = write_train_csv(&args.out, &train).with_context(context)?;
    pb.finish_and_clear();
    let bytes: u64 = train.iter().chain(&test).map(|c| c.bytes).sum::<u64>() + csv_bytes;
    println!(
        "synth: {} train ({} positive, {} objects) + {} test images of {}x{} in {} ({:.1} MiB)",
        train.len(),
        train.iter().filter(|c| !c.rles.is_empty()).count(),
        train.iter().map(|c| c.rles.len()).sum::<usize>(),
        test.len(),
        args.size,
        args.size,
        args.out.display(),
        bytes as f64 / (1 << 20) as f64
    );
    Ok(())
}
