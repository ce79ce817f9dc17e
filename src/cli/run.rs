//! `pneumoflow run PIPELINE.toml`: the pipeline's declared stages in order, train → predict →
//! blend → sweep → submit, each as its own command would run it. Every stage resumes or skips
//! by itself: training continues from the last complete epoch and reports a finished run
//! without training again, a prediction set (or blend) whose inputs and settings did not change
//! is up to date, and the sweep and the submission (seconds) are rewritten atomically from the
//! current predictions. Interrupted anywhere, the same command continues.

use super::cluster::ClusterArgs;
use super::pipeline_job::{run_dir_of, store_of};
use super::{blend, predict, submit, sweep, train};
use anyhow::Context;
use clap::Args;
use pneumoflow::config::Pipeline;
use std::path::PathBuf;

/// Arguments of `pneumoflow run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline file; its `[train]`, `[predict]`, `[blend]`, `[sweep]` and `[submit]` sections
    /// are the stages that run.
    pub pipeline: PathBuf,
    /// The run directory (default: `runs/<pipeline file stem>`).
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
    /// Device, data workers and libtorch threads.
    #[command(flatten)]
    pub device: super::pipeline_job::DeviceArgs,
    /// Override a key of the pipeline for every stage (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

/// Runs `run`.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let pipeline = Pipeline::load(&args.pipeline, &args.overrides)?;
    let run_dir = run_dir_of(args.run_dir.as_deref(), &args.pipeline);
    let stages: Vec<&str> = [
        ("train", pipeline.train.is_some()),
        ("predict", pipeline.predict.is_some()),
        ("blend", pipeline.blend.is_some()),
        ("sweep", pipeline.sweep.is_some()),
        ("submit", pipeline.submit.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, declared)| declared.then_some(name))
    .collect();
    if stages.is_empty() {
        anyhow::bail!(
            "{}: declares none of [train], [predict], [blend], [sweep], [submit]; nothing to run",
            pipeline.origin
        );
    }
    eprintln!("run: {} ({})", args.pipeline.display(), stages.join(" -> "));
    for stage in stages {
        eprintln!("run: == {stage}");
        let result = match stage {
            "train" => train::run(train::TrainArgs {
                pipeline: args.pipeline.clone(),
                folds: Vec::new(),
                device: args.device.clone(),
                run_dir: Some(run_dir.clone()),
                overrides: args.overrides.clone(),
            }),
            "predict" => predict::run(predict::PredictArgs {
                pipeline: args.pipeline.clone(),
                split: predict::SplitArg::All,
                folds: Vec::new(),
                checkpoints: Vec::new(),
                name: None,
                run_dir: Some(run_dir.clone()),
                out: None,
                device: args.device.clone(),
                overrides: args.overrides.clone(),
            }),
            "blend" => blend::run(blend::BlendArgs {
                pipeline: args.pipeline.clone(),
                run_dir: Some(run_dir.clone()),
                out: None,
                workers: args.device.workers,
                overrides: args.overrides.clone(),
            }),
            "sweep" => {
                let config = pipeline.sweep.clone().expect("declared");
                let store = store_of(&pipeline, &run_dir);
                sweep::run(sweep::SweepArgs {
                    predictions: store.join(&config.predictions),
                    grid: config.grid.clone(),
                    out: Some(config.out.clone().unwrap_or_else(|| run_dir.join("sweep"))),
                    top: 5,
                    watch: false,
                    interval: 10.0,
                    max_updates: None,
                    cluster: ClusterArgs {
                        workers: args.device.workers,
                        processes: 1,
                        process_id: 0,
                        hostfile: None,
                        connect_timeout: 60,
                    },
                })
            }
            _ => submit::run(submit::SubmitArgs {
                pipeline: args.pipeline.clone(),
                predictions: None,
                out: None,
                run_dir: Some(run_dir.clone()),
                overrides: args.overrides.clone(),
            }),
        };
        result.with_context(|| format!("run: stage {stage}"))?;
    }
    eprintln!("run: done ({})", run_dir.display());
    Ok(())
}
