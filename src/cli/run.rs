//! `pneumoflow run PIPELINE.toml`: the pipeline's declared stages in order, train → predict →
//! blend → sweep → submit, each as its own command would run it. Every stage resumes or skips
//! by itself: training continues from the last complete epoch and reports a finished run
//! without training again, a prediction set (or blend) whose inputs and settings did not change
//! is up to date, and the sweep and the submission are skipped when their outputs exist
//! unchanged (size, modification time) and their inputs (the prediction sets' manifests, the
//! grid file, the `[submit]` settings, the output paths) hash as they did when they were written
//! (`<run dir>/.stamps/`), else rewritten atomically.
//! Interrupted anywhere, the same command continues.

use super::cluster::ClusterArgs;
use super::pipeline_job::{run_dir_of, store_of};
use super::{blend, predict, submit, sweep, train};
use anyhow::Context;
use clap::Args;
use data_prep::atomic::write_bytes_atomic;
use data_prep::shard::format::Fnv64;
use data_prep::shard::MANIFEST_FILE;
use pneumoflow::config::Pipeline;
use pneumoflow::data::predictions::prediction_sets;
use std::path::{Path, PathBuf};

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
                let predictions = store.join(&config.predictions);
                let out = config.out.clone().unwrap_or_else(|| run_dir.join("sweep"));
                let stamp = Stamp::new(
                    &run_dir,
                    "sweep",
                    &[out.join("sweep.csv"), out.join("sweep.png")],
                )
                .with_sets(&predictions)
                .with_file(&config.grid);
                if stamp.is_current() {
                    eprintln!("sweep: {} is up to date", out.display());
                    continue;
                }
                sweep::run(sweep::SweepArgs {
                    predictions,
                    grid: config.grid.clone(),
                    out: Some(out),
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
                .and_then(|()| stamp.record())
            }
            _ => {
                let config = pipeline.submit.clone().expect("declared");
                let set = store_of(&pipeline, &run_dir).join(&config.predictions);
                let csv = (config.out.clone()).unwrap_or_else(|| run_dir.join("submission.csv"));
                let stamp = Stamp::new(&run_dir, "submit", std::slice::from_ref(&csv))
                    .with_sets(&set)
                    .with_bytes(format!("{config:?}").as_bytes());
                if stamp.is_current() {
                    eprintln!("submit: {} is up to date", csv.display());
                    continue;
                }
                submit::run(submit::SubmitArgs {
                    pipeline: args.pipeline.clone(),
                    predictions: None,
                    out: None,
                    run_dir: Some(run_dir.clone()),
                    overrides: args.overrides.clone(),
                })
                .and_then(|()| stamp.record())
            }
        };
        result.with_context(|| format!("run: stage {stage}"))?;
    }
    eprintln!("run: done ({})", run_dir.display());
    Ok(())
}

/// A stage's inputs as one hash, kept in `<run dir>/.stamps/<stage>` once the stage has written
/// its outputs.
struct Stamp {
    file: PathBuf,
    outputs: Vec<PathBuf>,
    hash: Fnv64,
}

impl Stamp {
    fn new(run_dir: &Path, stage: &str, outputs: &[PathBuf]) -> Stamp {
        let mut hash = Fnv64::default();
        hash.field(stage.as_bytes());
        for o in outputs {
            hash.field(o.as_os_str().as_encoded_bytes());
        }
        Stamp {
            file: run_dir.join(".stamps").join(stage),
            outputs: outputs.to_vec(),
            hash,
        }
    }

    fn with_bytes(mut self, bytes: &[u8]) -> Stamp {
        self.hash.field(bytes);
        self
    }

    /// A file's bytes (missing: an empty field, so the stage runs and reports it).
    fn with_file(self, path: &Path) -> Stamp {
        let bytes = std::fs::read(path).unwrap_or_default();
        self.with_bytes(&bytes)
    }

    /// The manifests of the prediction set(s) at `path` (a set, or a store of them); each
    /// manifest names its shards' fingerprints, so it changes whenever a set is rewritten.
    fn with_sets(mut self, path: &Path) -> Stamp {
        for (name, dir) in prediction_sets(path).unwrap_or_default() {
            self.hash.field(name.as_bytes());
            let manifest = std::fs::read(dir.join(MANIFEST_FILE)).unwrap_or_default();
            self.hash.field(&manifest);
        }
        self
    }

    /// The inputs' hash, then each output with its size and modification time: an output
    /// rewritten since (by another command) no longer matches.
    fn text(&self) -> String {
        let mut text = format!("{:016x}\n", self.hash.0);
        for o in &self.outputs {
            let state = std::fs::metadata(o)
                .ok()
                .and_then(|m| {
                    let t = m
                        .modified()
                        .ok()?
                        .duration_since(std::time::UNIX_EPOCH)
                        .ok()?;
                    Some(format!("{} {}", m.len(), t.as_nanos()))
                })
                .unwrap_or_else(|| "missing".into());
            text.push_str(&format!("{} {state}\n", o.display()));
        }
        text
    }

    /// Whether every output exists, unchanged since it was written from inputs that hash as now.
    fn is_current(&self) -> bool {
        self.outputs.iter().all(|o| o.is_file())
            && std::fs::read_to_string(&self.file).is_ok_and(|s| s == self.text())
    }

    /// Records the inputs the outputs were just written from, and the outputs as written.
    fn record(&self) -> anyhow::Result<()> {
        let dir = self.file.parent().expect("a stamp directory");
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        write_bytes_atomic(&self.file, self.text().as_bytes())
            .with_context(|| format!("writing {}", self.file.display()))
    }
}
