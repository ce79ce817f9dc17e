//! `pneumoflow blend PIPELINE.toml`: the weighted blend of other runs' prediction sets
//! (`[blend]`), one blended set per set name, into this pipeline's prediction store, where
//! `sweep` and `submit` read it like any other set.

use super::cluster::default_workers;
use super::pipeline_job::{blend_store_of, predict_store_of, run_dir_of};
use super::progress::{bar, report_outcome};
use anyhow::{bail, Context};
use clap::Args;
use pneumoflow::config::Pipeline;
use pneumoflow::data::blend::{blend_set_names, BlendConfig, Blender};
use pneumoflow::data::predictions::PREDICTIONS_KIND;
use pneumoflow::data::writer::fingerprint::{blend_fingerprints, BlendInputs};
use pneumoflow::data::writer::{plan_output, DatasetLock};
use pneumoflow::dataflow::blend::{run_blend, BlendJob};
use pneumoflow::dataflow::Execution;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Arguments of `pneumoflow blend`.
#[derive(Debug, Args)]
pub struct BlendArgs {
    /// The pipeline file (`[blend]`).
    pub pipeline: PathBuf,
    /// The run directory (default: `runs/<pipeline file stem>`).
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
    /// The blend's prediction store (default: `blend.out`, else `<run dir>/predictions`, or
    /// `<run dir>/blend` when the pipeline also has `[predict]`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'w', value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub workers: Option<u64>,
    /// Override a key of the pipeline, e.g. `--set blend.size=1024` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

/// Runs `blend`.
pub fn run(args: BlendArgs) -> anyhow::Result<()> {
    let pipeline = Pipeline::load(&args.pipeline, &args.overrides)?;
    let config = pipeline.blend.clone().with_context(|| {
        format!(
            "{}: no [blend] section ([[blend.members]] with predictions = STORE and weight = W)",
            pipeline.origin
        )
    })?;
    let run_dir = run_dir_of(args.run_dir.as_deref(), &args.pipeline);
    let store = args
        .out
        .clone()
        .unwrap_or_else(|| blend_store_of(&pipeline, &run_dir));
    refuse_member_stores(&store, &config)?;
    if pipeline.predict.is_some() {
        let predicted = predict_store_of(&pipeline, &run_dir);
        if super::absolute(&predicted) == super::absolute(&store) {
            bail!(
                "{}: the blend's store {} is also where [predict] writes; set blend.out to another \
                 directory",
                pipeline.origin,
                store.display()
            );
        }
    }
    let workers = args
        .workers
        .map(|w| w as usize)
        .unwrap_or_else(default_workers);
    let names = blend_set_names(&config)?;
    std::fs::create_dir_all(&store)
        .with_context(|| format!("creating the prediction store {}", store.display()))?;
    for name in names {
        let blender = Blender::open(&config, &name)?;
        write_blend(blender, &store, &config, workers)?;
    }
    Ok(())
}

/// The blend must not be written into a member's store (it would replace the member's sets).
fn refuse_member_stores(store: &Path, config: &BlendConfig) -> anyhow::Result<()> {
    let out = super::absolute(store);
    for (k, m) in config.members.iter().enumerate() {
        if out.is_some() && super::absolute(&m.predictions) == out {
            bail!(
                "{} is blend.members[{k}]'s store; the blend needs a store of its own (blend.out \
                 or --out)",
                store.display()
            );
        }
    }
    Ok(())
}

fn write_blend(
    blender: Blender,
    store: &Path,
    config: &BlendConfig,
    workers: usize,
) -> anyhow::Result<()> {
    let dir = store.join(blender.name());
    let size = blender.size();
    let per_shard = (64 * 1024 * 1024 / (size as usize * size as usize)).clamp(1, 256);
    let ranges = data_prep::ingest::shard_ranges(blender.len(), per_shard);
    let members: Vec<(f64, &data_prep::shard::Manifest)> = config
        .members
        .iter()
        .zip(blender.member_sets())
        .map(|(m, set)| (m.weight, set.manifest()))
        .collect();
    let fingerprints = blend_fingerprints(
        &BlendInputs {
            members: &members,
            size,
            encoding: config.encoding,
            level: config.level,
        },
        &ranges,
    );
    let input = blender
        .member_sets()
        .next()
        .and_then(|s| s.manifest().source.get("input").cloned())
        .unwrap_or(serde_json::Value::Null);
    let source = serde_json::json!({
        "kind": PREDICTIONS_KIND,
        "command": "blend",
        "input": input,
        "members": config.members.iter().zip(blender.member_sets()).map(|(m, s)| {
            serde_json::json!({"set": s.dir().display().to_string(), "weight": m.weight})
        }).collect::<Vec<_>>(),
        "size": size,
        "encoding": config.encoding.name(),
    });
    let _lock = DatasetLock::acquire(&dir, &super::command_line())?;
    let out = plan_output(&dir, &ranges, &fingerprints, false)?;
    if out.is_up_to_date() {
        eprintln!(
            "blend: {} is up to date ({} maps)",
            dir.display(),
            blender.len()
        );
        return Ok(());
    }
    out.prepare()?;
    eprintln!(
        "blend: {} ({} maps at {size}², {} members, {} maps) with {workers} worker(s)",
        blender.name(),
        out.records_to_write(),
        config.members.len(),
        config.encoding,
    );
    let started = Instant::now();
    let pb = bar(out.records_to_write() as u64, "blend");
    let progress = pb.clone();
    let job = BlendJob {
        blender: Arc::new(blender),
        level: config.level,
        tasks: Arc::new(out.tasks.clone()),
    };
    let name = job.blender.name().to_string();
    let outcomes = run_blend(&Execution::threads(workers), job, move |n| progress.inc(n))
        .context("blend dataflow failed")?;
    pb.finish_and_clear();
    let set = report_outcome(out.finish(&outcomes, size, source))?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "blend: {name} -> {} ({} maps, {:.1} maps/s)",
        dir.display(),
        set.len(),
        out.records_to_write() as f64 / seconds.max(1e-9)
    );
    Ok(())
}
