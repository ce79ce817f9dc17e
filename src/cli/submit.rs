//! `pneumoflow submit PIPELINE.toml`: `submission.csv` from the run's test predictions with the
//! pipeline's `[submit]` post-processing.

use super::pipeline_job::{run_dir_of, store_of};
use anyhow::Context;
use clap::Args;
use pneumoflow::config::Pipeline;
use pneumoflow::submit::write_submission;
use std::path::PathBuf;

/// Arguments of `pneumoflow submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The pipeline file (`[submit]`, and `[predict]` or `[blend]` for the store).
    pub pipeline: PathBuf,
    /// The prediction set (default: `submit.predictions` in the run's prediction store).
    #[arg(long)]
    pub predictions: Option<PathBuf>,
    /// The CSV (default: `submit.out`, else `<run dir>/submission.csv`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The training run directory (default: `runs/<pipeline file stem>`).
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
    /// Override a key of the pipeline, e.g. `--set submit.top=0.7` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

/// Runs `submit`.
pub fn run(args: SubmitArgs) -> anyhow::Result<()> {
    let pipeline = Pipeline::load(&args.pipeline, &args.overrides)?;
    let config = pipeline.submit.clone().with_context(|| {
        format!(
            "{}: no [submit] section (submit.top, submit.area and submit.bottom set the post-processing)",
            pipeline.origin
        )
    })?;
    let run_dir = run_dir_of(args.run_dir.as_deref(), &args.pipeline);
    let store = store_of(&pipeline, &run_dir);
    let set = args
        .predictions
        .clone()
        .unwrap_or_else(|| store.join(&config.predictions));
    let csv = args
        .out
        .clone()
        .or_else(|| config.out.clone())
        .unwrap_or_else(|| run_dir.join("submission.csv"));
    let summary = write_submission(&set, &config, &csv)?;
    println!(
        "submit: {} ({} images, {} with a mask; triplet ({}, {}, {}), min contour area {}) from {}",
        csv.display(),
        summary.images,
        summary.non_empty,
        config.top,
        config.area,
        config.bottom,
        config.min_contour_area,
        set.display()
    );
    Ok(())
}
