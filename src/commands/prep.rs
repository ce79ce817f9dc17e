//! `pneumoflow prep`: SIIM DICOMs + train-rle.csv (+ folds) → memory-mapped zstd shards.
//!
//! Resumable: shards whose fingerprint (inputs and settings) matches an existing file are kept;
//! the manifest is removed while shards change and written last.

use super::shard_out::{check_outcomes, plan_output, write_manifest};
use crate::dataflow::prep::{run_prep, PrepJob};
use anyhow::Context;
use clap::Args;
use data_prep::atomic::write_bytes_atomic;
use data_prep::folds::{folds_csv_string, read_folds_csv};
use data_prep::ingest::{shard_fingerprint, shard_ranges};
use data_prep::shard::{ShardSet, Split};
use data_prep::siim::{plan, FoldSource, RLE_CSV};
use std::path::{Path, PathBuf};
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
    /// Timely worker threads (default: all cores).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Make every input mismatch (missing RLE rows, unknown fold ids, ...) an error.
    #[arg(long)]
    pub strict: bool,
    /// zstd level of record payloads (negative = zstd "fast" levels: faster reads, larger files).
    #[arg(long, default_value_t = data_prep::shard::DEFAULT_LEVEL, value_parser = clap::value_parser!(i32).range(-7..=19), allow_negative_numbers = true)]
    pub level: i32,
    /// Records per shard file.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub shard_records: u64,
}

/// Default worker count: the machine's cores.
pub fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
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
    let plan = plan(&args.input, &folds, args.strict)?;
    if !plan.report.is_clean() {
        eprintln!(
            "input mismatches (use --strict to make them errors):\n{}",
            plan.report
        );
    }
    let ranges = shard_ranges(plan.items.len(), args.shard_records as usize);
    let fingerprints = ranges
        .iter()
        .map(|r| shard_fingerprint(&plan.items[r.clone()], args.size, args.level))
        .collect::<Result<Vec<_>, _>>()?;
    let out = plan_output(&args.out, &ranges, &fingerprints)?;
    if out.up_to_date(&args.out) {
        eprintln!(
            "prep: {} is up to date ({} shards)",
            args.out.display(),
            out.n_shards
        );
    } else {
        if !out.tasks.is_empty() {
            let todo: usize = out.tasks.iter().map(|t| t.items.len()).sum();
            let workers = args.workers.unwrap_or_else(default_workers).max(1);
            eprintln!(
                "prep: {todo} images ({} shards to write, {} kept) with {workers} worker(s)",
                out.tasks.len(),
                out.kept
            );
            let pb = crate::progress::bar(todo as u64, "prep");
            let job = PrepJob {
                items: Arc::new(plan.items.clone()),
                csv: args.input.join(RLE_CSV),
                tasks: out.tasks,
                size: args.size,
                level: args.level,
                workers,
                batch: 4,
            };
            let outcomes = run_prep(job, pb.clone())
                .map_err(|e| anyhow::anyhow!("prep dataflow failed: {e}"))?;
            pb.finish_and_clear();
            check_outcomes(outcomes)?;
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
        write_manifest(&args.out, args.size, out.n_shards, source)?;
    }
    let set = ShardSet::open(&args.out)?;
    write_folds_csv(&set, &args.out)?;
    print!("{}", crate::commands::inspect::summary(&set));
    Ok(())
}

/// Writes the dataset's folds in the solution's CSV format (train records only).
fn write_folds_csv(set: &ShardSet, dir: &Path) -> anyhow::Result<()> {
    let rows: Vec<_> = set
        .manifest()
        .records
        .iter()
        .filter(|r| r.split == Split::Train)
        .map(|r| (r.id.clone(), r.fold, r.label == Some(true)))
        .collect();
    let path = dir.join("folds.csv");
    write_bytes_atomic(&path, folds_csv_string(&rows).as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
