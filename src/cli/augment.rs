//! `pneumoflow augment`: bulk re-augmentation of a shard dataset into new shards, or a PNG preview.

use super::cluster::ClusterArgs;
use super::progress::{job_bar, report_outcome};
use anyhow::{bail, Context};
use clap::Args;
use data_prep::ingest::shard_ranges;
use data_prep::shard::Decoder;
use pneumoflow::augment::{load_transforms, render_preview, PreviewOptions, PreviewSample};
use pneumoflow::config::Pipeline;
use pneumoflow::data::writer::fingerprint::{augment_fingerprints, AugmentInputs};
use pneumoflow::data::writer::{plan_output, DatasetLock};
use pneumoflow::data::{Dataset, Sample};
use pneumoflow::dataflow::augment::{run_augment, AugmentJob};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Arguments of `pneumoflow augment`.
#[derive(Debug, Args)]
pub struct AugmentArgs {
    /// Input shard directory.
    #[arg(long)]
    pub shards: PathBuf,
    /// Transforms: a pipeline TOML (its `[augment]` section) or the solution's albumentations JSON.
    #[arg(long)]
    pub transforms: PathBuf,
    /// Override a key of the pipeline TOML, e.g. `--set augment.transforms[0].p=1` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Output shard directory (bulk mode).
    #[arg(long, required_unless_present_any = ["preview", "plan"], conflicts_with_all = ["preview", "plan"])]
    pub out: Option<PathBuf>,
    /// Augmented copies per record; copy k of ID is stored as `ID#k`.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10000))]
    pub copies: u64,
    /// Seed; copy k of ID uses the generator (seed, k, ID).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// zstd level of record payloads (negative = zstd "fast" levels: faster reads, larger files).
    #[arg(long, default_value_t = data_prep::shard::DEFAULT_LEVEL, value_parser = clap::value_parser!(i32).range(-7..=19), allow_negative_numbers = true)]
    pub level: i32,
    /// Records per output shard file.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub shard_records: u64,
    /// Instead of writing shards, render a PNG grid of augmented samples with mask outlines.
    #[arg(long)]
    pub preview: Option<PathBuf>,
    /// Instead of writing shards, print how many of the job's copies each transform runs on
    /// (from the copies' own generators, without reading or augmenting any image).
    #[arg(long, conflicts_with = "preview")]
    pub plan: bool,
    /// Samples in the preview (positives first).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub count: u64,
    /// Write into --out even if it holds files that are not a pneumoflow dataset.
    #[arg(long)]
    pub force: bool,
    /// Workers and processes (bulk mode).
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Loads the transforms: a pipeline TOML's `[augment]` (with overrides) or an albumentations JSON.
fn load_pipeline(args: &AugmentArgs) -> anyhow::Result<pneumoflow::augment::Pipeline> {
    let is_toml = args
        .transforms
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    if !is_toml {
        if !args.overrides.is_empty() {
            bail!(
                "--set applies to pipeline TOML files; {} is not one",
                args.transforms.display()
            );
        }
        return Ok(load_transforms(&args.transforms)?);
    }
    let pipeline = Pipeline::load(&args.transforms, &args.overrides)?;
    pipeline.augment.with_context(|| {
        format!(
            "{}: no [augment] section (and no top-level transforms)",
            args.transforms.display()
        )
    })
}

/// Runs `augment`.
pub fn run(args: AugmentArgs) -> anyhow::Result<()> {
    let pipeline = load_pipeline(&args)?;
    let dataset = Dataset::open(&args.shards)
        .with_context(|| format!("opening dataset {}", args.shards.display()))?
        .with_augment(pipeline, args.seed);
    if dataset.is_empty() {
        bail!("dataset {} has no records", args.shards.display());
    }
    if let Some(preview) = &args.preview {
        return write_preview(&dataset, args.count as usize, preview);
    }
    if args.plan {
        print!("{}", plan_table(&dataset, args.copies, args.seed));
        return Ok(());
    }
    let out_dir = args
        .out
        .clone()
        .expect("clap requires --out without --preview");
    if let (Some(out), Ok(input)) = (super::absolute(&out_dir), args.shards.canonicalize()) {
        if out == input || out.starts_with(&input) {
            bail!(
                "--out {} would write into the input dataset {}; choose another directory",
                out_dir.display(),
                args.shards.display()
            );
        }
    }
    let first = args.cluster.is_first_process();
    let copies = args.copies as usize;
    let n = dataset.len() * copies;
    let ranges = shard_ranges(n, args.shard_records as usize);
    let transforms = std::fs::read(&args.transforms)
        .with_context(|| format!("reading {}", args.transforms.display()))?;
    let overrides = args.overrides.join("\n");
    let transforms = [transforms, overrides.into_bytes()].concat();
    let fingerprints = augment_fingerprints(
        &AugmentInputs {
            transforms: &transforms,
            seed: args.seed,
            copies: args.copies,
            level: args.level,
            input: dataset.shards().manifest(),
        },
        &ranges,
    );
    let mut out = plan_output(&out_dir, &ranges, &fingerprints, args.force)?;
    // Process 0 writes under the dataset's lock (and plans again once it holds it).
    let _lock = if first {
        let lock = DatasetLock::acquire(&out_dir, &super::command_line())?;
        out = plan_output(&out_dir, &ranges, &fingerprints, args.force)?;
        Some(lock)
    } else {
        None
    };
    let size = dataset.sample_size();
    if out.is_up_to_date() {
        if first {
            eprintln!(
                "augment: {} is up to date ({} shards)",
                out_dir.display(),
                out.n_shards
            );
            print!(
                "{}",
                super::inspect::summary(&data_prep::shard::ShardSet::open(&out_dir)?)
            );
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
            "augment: {todo} records ({} x {copies} copies; {} shards to write, {} kept) with {}",
            dataset.len(),
            out.tasks.len(),
            out.kept,
            args.cluster.describe()
        );
        let job_token = fingerprints.iter().fold(0u64, |h, f| h.rotate_left(5) ^ f);
        let execution = args.cluster.execution(job_token)?;
        let pb = job_bar(todo as u64, "augment", first);
        let progress = pb.clone();
        let job = AugmentJob {
            dataset: Arc::new(dataset),
            copies,
            level: args.level,
            tasks: Arc::new(out.tasks.clone()),
        };
        let outcomes = run_augment(&execution, job, move |n| progress.inc(n))
            .context("augment dataflow failed")?;
        pb.finish_and_clear();
        outcomes
    };
    if !first {
        eprintln!(
            "augment: process {} done; process 0 writes the manifest",
            args.cluster.process_id
        );
        return Ok(());
    }
    let mut source = serde_json::json!({
        "command": "augment",
        "input": args.shards.display().to_string(),
        "transforms": args.transforms.display().to_string(),
        "copies": args.copies,
        "seed": args.seed,
        "zstd_level": args.level,
    });
    if !args.overrides.is_empty() {
        source["overrides"] = serde_json::json!(args.overrides);
    }
    let set = report_outcome(out.finish(&outcomes, size, source))?;
    print!("{}", super::inspect::summary(&set));
    Ok(())
}

/// How many of the job's copies (every record, copies `0..copies`) each leaf transform runs on,
/// in the pipeline's order: one line per transform, `name count percent`.
fn plan_table(dataset: &Dataset, copies: u64, seed: u64) -> String {
    let names = dataset
        .pipeline()
        .map(|p| p.leaf_names())
        .unwrap_or_default();
    let mut counts: Vec<(&'static str, usize)> = names.into_iter().map(|n| (n, 0)).collect();
    for index in 0..dataset.len() {
        for k in 0..copies {
            for applied in dataset.plan(index, k) {
                if let Some((_, n)) = counts.iter_mut().find(|(name, _)| *name == applied.name) {
                    *n += 1;
                }
            }
        }
    }
    let total = dataset.len() as u64 * copies;
    let mut table = format!(
        "plan: {total} copies ({} records x {copies}), seed {seed}; copies each transform runs on\n",
        dataset.len()
    );
    for (name, n) in counts {
        let percent = 100.0 * n as f64 / total as f64;
        table.push_str(&format!("{name:<20} {n:>8} {percent:>6.1}%\n"));
    }
    table
}

/// Renders `count` augmented samples (positives first, then the rest, in dataset order); the
/// k-th visit of a record shows its copy k, exactly as bulk mode writes it.
fn write_preview(dataset: &Dataset, count: usize, path: &Path) -> anyhow::Result<()> {
    let mut order: Vec<usize> = (0..dataset.len())
        .filter(|&i| dataset.record(i).label == Some(true))
        .collect();
    order.extend((0..dataset.len()).filter(|&i| dataset.record(i).label != Some(true)));
    let mut decoder = Decoder::new();
    let mut tiles: Vec<Sample> = Vec::with_capacity(count);
    for t in 0..count {
        let (index, k) = (order[t % order.len()], t / order.len());
        tiles.push(dataset.sample(index, k as u64, &mut decoder)?);
    }
    let samples: Vec<PreviewSample<'_>> = tiles
        .iter()
        .map(|s| PreviewSample {
            image: &s.image,
            mask: s.mask.as_ref(),
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
