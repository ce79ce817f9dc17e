//! `pneumoflow train PIPELINE.toml`: trains the pipeline's model on its dataset over the staged
//! parts of `[train]`, one fold after another, into a run directory that a re-run resumes.

use super::progress::bar;
use anyhow::{bail, Context};
use clap::Args;
use indicatif::ProgressBar;
use pneumoflow::config::Pipeline;
use pneumoflow::data::writer::DatasetLock;
use pneumoflow::dataflow::train_epoch::StepReport;
use pneumoflow::dataflow::training::{run_training, TrainJob, TrainObserver};
use pneumoflow::dataflow::Execution;
use pneumoflow::train::{BatchStats, EpochMetrics, RunDir};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Arguments of `pneumoflow train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The pipeline file (`[data]`, `[model]`, `[train]`, and `[augment]` for the train transforms).
    pub pipeline: PathBuf,
    /// Train only these folds (repeatable; default: `train.folds`).
    #[arg(long = "fold")]
    pub folds: Vec<u8>,
    /// Device, data workers and libtorch threads.
    #[command(flatten)]
    pub device: super::pipeline_job::DeviceArgs,
    /// Run directory (default: `runs/<pipeline file stem>`).
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
    /// Override a key of the pipeline, e.g. `--set train.parts[0].epochs=3` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

/// Parses `cpu`, `cuda`, `cuda:N`, refusing CUDA where there is none.
pub fn parse_device(text: &str) -> anyhow::Result<tch::Device> {
    let device = match text {
        "cpu" => return Ok(tch::Device::Cpu),
        "cuda" => 0,
        t => match t
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) => n,
            None => bail!("--device {text}: expected cpu, cuda or cuda:N"),
        },
    };
    let available = tch::Cuda::device_count() as usize;
    if available == 0 {
        bail!("--device {text}: no CUDA device is available to this libtorch (it is CPU-only here, or no GPU is visible); use --device cpu");
    }
    if device >= available {
        bail!(
            "--device {text}: only {available} CUDA device(s) (cuda:0..cuda:{})",
            available - 1
        );
    }
    Ok(tch::Device::Cuda(device))
}

/// Runs `train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let pipeline = Pipeline::load(&args.pipeline, &args.overrides)?;
    let origin = &pipeline.origin;
    let (shards, size) = super::pipeline_job::dataset_of(&pipeline, "train on")?;
    let data = pipeline.data.clone().unwrap_or_default();
    let model = super::pipeline_job::model_of(&pipeline)?;
    let mut train = pipeline
        .train
        .clone()
        .with_context(|| format!("{origin}: no [train] section"))?;
    for (i, p) in train.parts.iter().enumerate() {
        for (key, path) in [("folds_file", &p.folds_file), ("transforms", &p.transforms)] {
            if let Some(path) = path {
                if !path.exists() {
                    bail!(
                        "{origin}: train.parts[{i}].{key}: {} does not exist",
                        path.display()
                    );
                }
            }
        }
    }
    if !args.folds.is_empty() {
        train.folds = args.folds.clone();
    }
    let (device, workers, threads) = args.device.apply()?;
    let run_dir = super::pipeline_job::run_dir_of(args.run_dir.as_deref(), &args.pipeline);
    let _lock = DatasetLock::acquire(&run_dir, &super::command_line())
        .with_context(|| format!("locking the run directory {}", run_dir.display()))?;
    let run = RunDir::open(&run_dir, &pipeline.document)?;
    eprintln!(
        "train: {} on {} ({}²), folds {:?}, {} part(s); {workers} data worker(s), {threads} torch thread(s), {device:?}; run dir {}",
        model.arch,
        shards.display(),
        size,
        train.folds,
        train.parts.len(),
        run_dir.display()
    );
    let mut execution = Execution::threads(workers);
    execution.gate.in_flight = train.in_flight;
    let job = TrainJob {
        dataset: shards,
        size,
        folds_file: data.folds.clone(),
        seed: data.seed,
        model: model.arch,
        initial_weights: model.weights.clone(),
        train,
        augment: pipeline.augment.clone(),
        device,
        execution,
        run,
    };
    let observer = Arc::new(Progress::default());
    let started = Instant::now();
    let summaries = run_training(&job, observer.clone())?;
    observer.finish();
    for s in &summaries {
        match s.best {
            Some((score, part, epoch)) => println!(
                "fold {}: best validation score {score:.4} (part {part}, epoch {epoch}); all-empty baseline {:.4} (margin {:+.4}); {}",
                s.fold,
                s.empty_share,
                score - s.empty_share,
                s.checkpoint.display()
            ),
            None => println!("fold {}: no validated epoch", s.fold),
        }
    }
    println!(
        "train: done in {:.0} s; metrics in {}, curves in {}",
        started.elapsed().as_secs_f64(),
        job.run.dir().join("metrics.jsonl").display(),
        job.run.dir().join("curves.png").display()
    );
    Ok(())
}

/// The bar of the epoch in progress: bar, start, learning rate, seconds in steps, images.
type EpochBar = (ProgressBar, Instant, f64, f64, u64);

/// Progress bars: one per epoch (batches, loss, lr, images/s, data wait), one per validation.
#[derive(Default)]
struct Progress {
    bar: Mutex<Option<EpochBar>>,
}

impl Progress {
    fn finish(&self) {
        if let Some((pb, ..)) = self.bar.lock().expect("bar").take() {
            pb.finish_and_clear();
        }
    }
}

impl TrainObserver for Progress {
    fn epoch_start(&self, fold: u8, part: usize, epoch: u32, batches: usize, lr: f64) {
        let pb = bar(batches as u64, &format!("f{fold} p{part} e{epoch}"));
        pb.set_message(format!("lr {lr:.2e}"));
        *self.bar.lock().expect("bar") = Some((pb, Instant::now(), lr, 0.0, 0));
    }

    fn step(&self, report: &StepReport, _stats: Option<&BatchStats>) {
        if let Some((pb, start, lr, step_s, images)) = self.bar.lock().expect("bar").as_mut() {
            *step_s += report.step_seconds;
            *images += report.samples as u64;
            let wall = start.elapsed().as_secs_f64().max(1e-9);
            let loss = report
                .outcome
                .as_ref()
                .map(|l| format!("{l:.4}"))
                .unwrap_or_else(|e| e.clone());
            pb.set_message(format!(
                "loss {loss} lr {lr:.2e} {:.1} img/s wait {:.0}%",
                *images as f64 / wall,
                100.0 * (1.0 - *step_s / wall).clamp(0.0, 1.0)
            ));
            pb.inc(1);
        }
    }

    fn validation_start(&self, images: usize) {
        if let Some((pb, ..)) = self.bar.lock().expect("bar").as_ref() {
            pb.set_message(format!("validating {images} images"));
        }
    }

    fn epoch_end(&self, m: &EpochMetrics) {
        self.finish();
        eprintln!(
            "fold {} part {} epoch {:>3}: train loss {:.4}  val loss {:.4}  score {:.4} {:?}{}  lr {:.2e}  {:.1} img/s  wait {:.0}%  {:.0} s",
            m.fold,
            m.part,
            m.epoch,
            m.train_loss,
            m.val_loss,
            m.val_score,
            m.best_triplet,
            if m.best { " best" } else { "" },
            m.lr,
            m.images_per_second,
            100.0 * m.data_wait_share,
            m.seconds
        );
    }

    fn note(&self, text: &str) {
        eprintln!("{text}");
    }
}
