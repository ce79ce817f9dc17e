//! `pneumoflow prep`: SIIM DICOMs + train-rle.csv (+ folds) → memory-mapped zstd shards.
//!
//! Resumable: shards whose fingerprint (inputs and settings) matches an existing file are kept;
//! the manifest is removed while shards change and written last.

use crate::dataflow::prep::{run_prep, PrepJob};
use crate::dataflow::shard_writer::{ShardOutcome, ShardTask};
use anyhow::{bail, Context};
use clap::Args;
use data_prep::atomic::{remove_stale_temps, write_bytes_atomic};
use data_prep::folds::{folds_csv_string, read_folds_csv};
use data_prep::ingest::{shard_fingerprint, shard_ranges};
use data_prep::shard::{shard_file_name, Manifest, ManifestRecord, ShardFile, ShardInfo, ShardSet, Split, MANIFEST_FILE};
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
    /// zstd level of record payloads.
    #[arg(long, default_value_t = data_prep::shard::DEFAULT_LEVEL, value_parser = clap::value_parser!(i32).range(1..=19))]
    pub level: i32,
    /// Records per shard file.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub shard_records: u64,
}

/// Default worker count: the machine's cores.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Runs `prep`.
pub fn run(args: PrepArgs) -> anyhow::Result<()> {
    let folds = match &args.folds {
        Some(p) => FoldSource::Csv { path: p.clone(), entries: read_folds_csv(p)? },
        None => FoldSource::Stratified { k: args.n_folds, seed: args.seed },
    };
    let plan = plan(&args.input, &folds, args.strict)?;
    if !plan.report.is_clean() {
        eprintln!("input mismatches (use --strict to make them errors):\n{}", plan.report);
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    remove_stale_temps(&args.out).with_context(|| format!("cleaning {}", args.out.display()))?;

    let ranges = shard_ranges(plan.items.len(), args.shard_records as usize);
    let mut tasks = Vec::new();
    let mut kept = 0usize;
    for (k, range) in ranges.iter().enumerate() {
        let fingerprint = shard_fingerprint(&plan.items[range.clone()], args.size, args.level)?;
        let path = args.out.join(shard_file_name(k));
        let reusable = ShardFile::open(&path).map(|s| s.fingerprint() == fingerprint && s.len() == range.len()).unwrap_or(false);
        if reusable {
            kept += 1;
        } else {
            tasks.push(ShardTask { number: k, path, items: range.clone(), fingerprint });
        }
    }
    remove_extra_shards(&args.out, ranges.len())?;
    let up_to_date = tasks.is_empty() && ShardSet::open(&args.out).is_ok();
    if up_to_date {
        eprintln!("prep: {} is up to date ({} shards)", args.out.display(), ranges.len());
    } else {
        if !tasks.is_empty() {
            // Shards are about to change: a manifest must never describe a half-written dataset.
            let m = args.out.join(MANIFEST_FILE);
            if m.exists() {
                std::fs::remove_file(&m).with_context(|| format!("removing stale {}", m.display()))?;
            }
            let workers = args.workers.unwrap_or_else(default_workers).max(1);
            write_shards(tasks, kept, workers, &plan.items, &args)?;
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
        write_manifest(&args.out, args.size, ranges.len(), source)?;
    }
    let set = ShardSet::open(&args.out)?;
    write_folds_csv(&set, &args.out)?;
    print!("{}", crate::commands::inspect::summary(&set));
    Ok(())
}

/// Runs the prep dataflow over `tasks`; fails listing the images that could not be ingested.
fn write_shards(tasks: Vec<ShardTask>, kept: usize, workers: usize, items: &[data_prep::siim::PrepItem], args: &PrepArgs) -> anyhow::Result<()> {
    let todo: usize = tasks.iter().map(|t| t.items.len()).sum();
    eprintln!("prep: {todo} images ({} shards to write, {kept} kept) with {workers} worker(s)", tasks.len());
    let pb = crate::progress::bar(todo as u64, "prep");
    let job = PrepJob {
        items: Arc::new(items.to_vec()),
        csv: args.input.join(RLE_CSV),
        tasks,
        size: args.size,
        level: args.level,
        workers,
        batch: 4,
    };
    let outcomes = run_prep(job, pb.clone()).map_err(|e| anyhow::anyhow!("prep dataflow failed: {e}"))?;
    pb.finish_and_clear();
    let errors: Vec<String> = outcomes
        .into_iter()
        .filter_map(|o| match o {
            ShardOutcome::Failed { number, errors } => Some(errors.into_iter().map(move |e| format!("shard {number}: {e}"))),
            ShardOutcome::Written { .. } => None,
        })
        .flatten()
        .collect();
    if !errors.is_empty() {
        for e in errors.iter().take(50) {
            eprintln!("error: {e}");
        }
        bail!(
            "{} image(s) could not be ingested (first errors above); completed shards are kept, fix the inputs and re-run to finish",
            errors.len()
        );
    }
    Ok(())
}

/// Builds the manifest from the shard files themselves and writes it (atomically, last).
pub fn write_manifest(dir: &Path, size: u32, n_shards: usize, source: serde_json::Value) -> anyhow::Result<()> {
    let mut m = Manifest::new(size, source);
    for k in 0..n_shards {
        let file = shard_file_name(k);
        let shard = ShardFile::open(&dir.join(&file))?;
        for slot in 0..shard.len() {
            m.records.push(ManifestRecord::new(&shard.meta(slot), k as u32, slot as u32));
        }
        m.shards.push(ShardInfo { file, records: shard.len(), bytes: shard.file_len(), raw_bytes: shard.raw_len(), fingerprint: shard.fingerprint() });
    }
    m.save(dir)?;
    Ok(())
}

/// Deletes `shard-NNNNN.pfs` files numbered `n` and above (left by an earlier, larger run).
pub fn remove_extra_shards(dir: &Path, n: usize) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let number = name.strip_prefix("shard-").and_then(|s| s.strip_suffix(".pfs")).and_then(|s| s.parse::<usize>().ok());
        if number.is_some_and(|k| k >= n) {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
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
    write_bytes_atomic(&path, folds_csv_string(&rows).as_bytes()).with_context(|| format!("writing {}", path.display()))
}
