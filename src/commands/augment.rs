//! `pneumoflow augment`: bulk re-augmentation of a shard dataset into new shards, or a PNG preview.

use super::prep::default_workers;
use super::shard_out::{check_outcomes, plan_output, write_manifest};
use crate::augment::{load_transforms, render_preview, ImageU8, PreviewOptions, PreviewSample};
use crate::dataflow::augment::{augment_record, run_augment, AugmentJob};
use anyhow::{bail, Context};
use clap::Args;
use data_prep::ingest::shard_ranges;
use data_prep::shard::format::Fnv64;
use data_prep::shard::{Decoder, ShardSet};
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `pneumoflow augment`.
#[derive(Debug, Args)]
pub struct AugmentArgs {
    /// Input shard directory.
    #[arg(long)]
    pub shards: PathBuf,
    /// Transforms: a TOML pipeline (`[augment]`) or the solution's albumentations JSON.
    #[arg(long)]
    pub transforms: PathBuf,
    /// Output shard directory (bulk mode).
    #[arg(long, required_unless_present = "preview", conflicts_with = "preview")]
    pub out: Option<PathBuf>,
    /// Augmented copies per record; copy k of ID is stored as `ID#k`.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10000))]
    pub copies: u64,
    /// Seed; copy k of ID uses the generator (seed, k, ID).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Timely worker threads (default: all cores).
    #[arg(long)]
    pub workers: Option<usize>,
    /// zstd level of record payloads (negative = zstd "fast" levels: faster reads, larger files).
    #[arg(long, default_value_t = data_prep::shard::DEFAULT_LEVEL, value_parser = clap::value_parser!(i32).range(-7..=19), allow_negative_numbers = true)]
    pub level: i32,
    /// Records per output shard file.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub shard_records: u64,
    /// Instead of writing shards, render a PNG grid of augmented samples with mask outlines.
    #[arg(long)]
    pub preview: Option<PathBuf>,
    /// Samples in the preview (positives first).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub count: u64,
}

/// Runs `augment`.
pub fn run(args: AugmentArgs) -> anyhow::Result<()> {
    let pipeline = load_transforms(&args.transforms)?;
    let set = ShardSet::open(&args.shards)
        .with_context(|| format!("opening dataset {}", args.shards.display()))?;
    if set.is_empty() {
        bail!("dataset {} has no records", args.shards.display());
    }
    if let Some(preview) = &args.preview {
        return write_preview(&set, &pipeline, &args, preview);
    }
    let out_dir = args
        .out
        .clone()
        .expect("clap requires --out without --preview");
    if out_dir.canonicalize().ok() == args.shards.canonicalize().ok() {
        bail!("--out must differ from --shards ({})", out_dir.display());
    }
    let copies = args.copies as usize;
    let n = set.len() * copies;
    let ranges = shard_ranges(n, args.shard_records as usize);
    let transforms_text = std::fs::read(&args.transforms)
        .with_context(|| format!("reading {}", args.transforms.display()))?;
    let mut base = Fnv64::default();
    base.field(b"augment-v1")
        .field(&transforms_text)
        .field(&args.seed.to_le_bytes())
        .field(&args.copies.to_le_bytes())
        .field(&args.level.to_le_bytes());
    for s in &set.manifest().shards {
        base.field(&s.fingerprint.to_le_bytes());
    }
    let fingerprints: Vec<u64> = ranges
        .iter()
        .map(|r| {
            let mut h = base;
            h.field(&(r.start as u64).to_le_bytes())
                .field(&(r.end as u64).to_le_bytes());
            h.0
        })
        .collect();
    let out = plan_output(&out_dir, &ranges, &fingerprints)?;
    let size = pipeline
        .fixed_output_size()
        .map(|(w, _)| w as u32)
        .unwrap_or(set.manifest().size);
    if out.up_to_date(&out_dir) {
        eprintln!(
            "augment: {} is up to date ({} shards)",
            out_dir.display(),
            out.n_shards
        );
    } else {
        if !out.tasks.is_empty() {
            let todo: usize = out.tasks.iter().map(|t| t.items.len()).sum();
            let workers = args.workers.unwrap_or_else(default_workers).max(1);
            eprintln!(
                "augment: {todo} records ({} x {copies} copies; {} shards to write, {} kept) with {workers} worker(s)",
                set.len(),
                out.tasks.len(),
                out.kept
            );
            let pb = crate::progress::bar(todo as u64, "augment");
            let job = AugmentJob {
                input: Arc::new(set),
                pipeline,
                copies,
                seed: args.seed,
                level: args.level,
                tasks: out.tasks,
                workers,
                batch: 2,
            };
            let outcomes = run_augment(job, pb.clone())
                .map_err(|e| anyhow::anyhow!("augment dataflow failed: {e}"))?;
            pb.finish_and_clear();
            check_outcomes(outcomes)?;
        }
        let source = serde_json::json!({
            "command": "augment",
            "input": args.shards.display().to_string(),
            "transforms": args.transforms.display().to_string(),
            "copies": args.copies,
            "seed": args.seed,
            "zstd_level": args.level,
        });
        write_manifest(&out_dir, size, out.n_shards, source)?;
    }
    let out_set = ShardSet::open(&out_dir)?;
    print!("{}", crate::commands::inspect::summary(&out_set));
    Ok(())
}

/// Renders `--count` augmented samples (positives first, then the rest, in dataset order).
fn write_preview(
    set: &ShardSet,
    pipeline: &crate::augment::Pipeline,
    args: &AugmentArgs,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let mut order: Vec<usize> = (0..set.len())
        .filter(|&i| set.record(i).label == Some(true))
        .collect();
    order.extend((0..set.len()).filter(|&i| set.record(i).label != Some(true)));
    let count = args.count as usize;
    let mut dec = Decoder::new();
    let mut tiles: Vec<(ImageU8, Option<ImageU8>)> = Vec::with_capacity(count);
    for t in 0..count {
        // Cycle through records; the k-th visit of a record shows its copy k, exactly as bulk mode.
        let (index, k) = (order[t % order.len()], t / order.len());
        let rec = augment_record(set, index, k, pipeline, args.seed, &mut dec)
            .map_err(|e| anyhow::anyhow!(e))?;
        let (w, h) = (rec.meta.width as usize, rec.meta.height as usize);
        let image = ImageU8::from_vec(w, h, rec.image)?;
        let mask = rec.mask.map(|m| ImageU8::from_vec(w, h, m)).transpose()?;
        tiles.push((image, mask));
    }
    let samples: Vec<PreviewSample<'_>> = tiles
        .iter()
        .map(|(i, m)| PreviewSample {
            image: i,
            mask: m.as_ref(),
        })
        .collect();
    let png = render_preview(&samples, &PreviewOptions::default())?;
    data_prep::atomic::write_bytes_atomic(path, &png)
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "augment: preview of {count} samples written to {}",
        path.display()
    );
    Ok(())
}
