//! `pneumoflow prep`: SIIM DICOMs + train-rle.csv (+ folds) → memory-mapped zstd shards.
//!
//! Resumable: shards whose fingerprint (inputs and settings) matches an existing file are kept;
//! the manifest is removed while shards change and written last, by process 0.

use super::cluster::ClusterArgs;
use super::progress::{job_bar, report_outcome};
use anyhow::Context;
use clap::Args;
use data_prep::folds::read_folds_csv;
use data_prep::ingest::shard_ranges;
use data_prep::shard::ShardSet;
use data_prep::siim::{plan, FoldSource, RLE_CSV};
use pneumoflow::data::writer::fingerprint::prep_fingerprints;
use pneumoflow::data::writer::{plan_output, write_folds_csv, DatasetLock};
use pneumoflow::dataflow::prep::{run_prep, PrepJob};
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `pneumoflow prep`.
#[derive(Debug, Args)]
pub struct PrepArgs {
    /// SIIM input root (dicom-images-train/, dicom-images-test/, train-rle.csv).
    #[arg(long)]
    pub input: PathBuf,
    /// Output shard directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Import folds from a CSV in the solution's format (fname,fold,exist_labels).
    #[arg(long, conflicts_with_all = ["n_folds"])]
    pub folds: Option<PathBuf>,
    /// Generate this many stratified folds (when --folds is not given).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub n_folds: u8,
    /// Seed of the generated folds.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Stored image size (square); other sizes are resized (bilinear images, nearest masks).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(8..=8192))]
    pub size: u32,
    /// Make every input mismatch (missing RLE rows, unknown fold ids, ...) an error.
    #[arg(long)]
    pub strict: bool,
    /// zstd level of record payloads (negative = zstd "fast" levels: faster reads, larger files).
    #[arg(long, default_value_t = data_prep::shard::DEFAULT_LEVEL, value_parser = clap::value_parser!(i32).range(-7..=19), allow_negative_numbers = true)]
    pub level: i32,
    /// Records per shard file.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub shard_records: u64,
    /// Write into --out even if it holds files that are not a pneumoflow dataset.
    #[arg(long)]
    pub force: bool,
    /// Workers and processes.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Runs `prep`.
pub fn run(args: PrepArgs) -> anyhow::Result<()> {
    let folds = match &args.folds {
        Some(p) => FoldSource::Csv {
            path: p.clone(),
            entries: read_folds_csv(p)?,
        },
        None => FoldSource::Stratified {
            k: args.n_folds,
            seed: args.seed,
        },
    };
    let first = args.cluster.is_first_process();
    refuse_output_over_input(&args.input, &args.out)?;
    let plan = plan(&args.input, &folds, args.strict)?;
    if !plan.report.is_clean() && first {
        eprintln!(
            "input mismatches (use --strict to make them errors):\n{}",
            plan.report
        );
    }
    let ranges = shard_ranges(plan.items.len(), args.shard_records as usize);
    let fingerprints = prep_fingerprints(&plan.items, &ranges, args.size, args.level)?;
    let mut out = plan_output(&args.out, &ranges, &fingerprints, args.force)?;
    // Process 0 writes under the dataset's lock (and plans again once it holds it).
    let _lock = if first {
        let lock = DatasetLock::acquire(&args.out, &super::command_line())?;
        out = plan_output(&args.out, &ranges, &fingerprints, args.force)?;
        Some(lock)
    } else {
        None
    };
    if out.is_up_to_date() {
        if first {
            eprintln!(
                "prep: {} is up to date ({} shards)",
                args.out.display(),
                out.n_shards
            );
            let set = ShardSet::open(&args.out)?;
            write_folds_csv(&set)?;
            print!("{}", super::inspect::summary(&set));
        }
        return Ok(());
    }
    if first {
        out.prepare()?;
    }
    let outcomes = if out.tasks.is_empty() {
        Vec::new()
    } else {
        let todo = out.records_to_write();
        eprintln!(
            "prep: {todo} images ({} shards to write, {} kept) with {}",
            out.tasks.len(),
            out.kept,
            args.cluster.describe()
        );
        let job_token = fingerprints.iter().fold(0u64, |h, f| h.rotate_left(5) ^ f);
        let execution = args.cluster.execution(job_token)?;
        let pb = job_bar(todo as u64, "prep", first);
        let progress = pb.clone();
        let job = PrepJob {
            items: Arc::new(plan.items.clone()),
            csv: args.input.join(RLE_CSV),
            tasks: Arc::new(out.tasks.clone()),
            size: args.size,
            level: args.level,
        };
        let outcomes =
            run_prep(&execution, job, move |n| progress.inc(n)).context("prep dataflow failed")?;
        pb.finish_and_clear();
        outcomes
    };
    if !first {
        eprintln!(
            "prep: process {} done; process 0 writes the manifest",
            args.cluster.process_id
        );
        return Ok(());
    }
    let source = serde_json::json!({
        "command": "prep",
        "input": args.input.display().to_string(),
        "folds": match &folds {
            FoldSource::Csv { path, .. } => format!("csv:{}", path.display()),
            FoldSource::Stratified { k, seed } => format!("stratified k={k} seed={seed}"),
        },
        "zstd_level": args.level,
        "mismatches": plan.report,
    });
    let set = report_outcome(out.finish(&outcomes, args.size, source))?;
    write_folds_csv(&set)?;
    print!("{}", super::inspect::summary(&set));
    Ok(())
}

/// Refuses an output directory that is the input root or inside its DICOM folders.
fn refuse_output_over_input(input: &std::path::Path, out: &std::path::Path) -> anyhow::Result<()> {
    let (Ok(input), Some(out_abs)) = (input.canonicalize(), super::absolute(out)) else {
        return Ok(());
    };
    let inside = [
        input.clone(),
        input.join(data_prep::siim::TRAIN_DIR),
        input.join(data_prep::siim::TEST_DIR),
    ];
    if out_abs == input || inside[1..].iter().any(|d| out_abs.starts_with(d)) {
        anyhow::bail!(
            "--out {} would write into the input {}; choose a directory outside the SIIM folders",
            out.display(),
            inside[0].display()
        );
    }
    Ok(())
}
