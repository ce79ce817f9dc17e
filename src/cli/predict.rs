//! `pneumoflow predict PIPELINE.toml`: probability maps of a training run's checkpoints into the
//! prediction store: out-of-fold maps of the validation folds (`valid-<choice>`, each image by
//! its own fold's checkpoints) and test maps averaged over every fold's checkpoints
//! (`test-<choice>`), or the average of `--checkpoints` over a split (`--name`).

use super::pipeline_job::{dataset_of, model_of, run_dir_of};
use super::progress::{bar, report_outcome};
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use pneumoflow::augment::{
    Compose, Interpolation, Pipeline as Transforms, Prob, Resize, Transform,
};
use pneumoflow::config::Pipeline;
use pneumoflow::data::predictions::{MapEncoding, PREDICTIONS_KIND};
use pneumoflow::data::writer::fingerprint::{
    file_fingerprint, prediction_fingerprints, PredictionInputs,
};
use pneumoflow::data::writer::{plan_output, DatasetLock};
use pneumoflow::data::Dataset;
use pneumoflow::dataflow::predict::{run_predict, PredictJob};
use pneumoflow::dataflow::Execution;
use pneumoflow::predict::{fold_checkpoints, PredictConfig, Predictor};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Which records to predict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SplitArg {
    /// The validation folds, out of fold.
    Valid,
    /// The test images.
    Test,
    /// Both (valid first).
    All,
}

/// Arguments of `pneumoflow predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The pipeline file (`[data]`, `[model]`, `[train]`, `[predict]`).
    pub pipeline: PathBuf,
    /// `valid`, `test` or `all`.
    #[arg(long, value_enum, default_value = "all")]
    pub split: SplitArg,
    /// Only these folds (repeatable; default: `train.folds`).
    #[arg(long = "fold")]
    pub folds: Vec<u8>,
    /// Predict with the average of these checkpoints instead of the run's (needs --name).
    #[arg(long, num_args = 1.., requires = "name")]
    pub checkpoints: Vec<PathBuf>,
    /// Name of the set written from --checkpoints.
    #[arg(long)]
    pub name: Option<String>,
    /// The training run directory (default: `runs/<pipeline file stem>`).
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
    /// The prediction store (default: `predict.out`, else `<run dir>/predictions`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Device, data workers and libtorch threads.
    #[command(flatten)]
    pub device: super::pipeline_job::DeviceArgs,
    /// Override a key of the pipeline, e.g. `--set predict.tta=false` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

/// One prediction set to write.
struct SetPlan {
    name: String,
    /// Dataset record and checkpoint group of every position.
    records: Vec<usize>,
    groups: Vec<usize>,
    /// Checkpoints per group.
    checkpoints: Vec<Vec<PathBuf>>,
    split: &'static str,
}

/// Runs `predict`.
pub fn run(args: PredictArgs) -> anyhow::Result<()> {
    let pipeline = Pipeline::load(&args.pipeline, &args.overrides)?;
    let origin = pipeline.origin.clone();
    let (shards, data_size) = dataset_of(&pipeline, "predict")?;
    let model = model_of(&pipeline)?;
    let config = pipeline.predict.clone().unwrap_or_default();
    let run_dir = run_dir_of(args.run_dir.as_deref(), &args.pipeline);
    let store = args
        .out
        .clone()
        .or_else(|| config.out.clone())
        .unwrap_or_else(|| run_dir.join("predictions"));
    let size = config
        .size
        .or_else(|| pipeline.train.as_ref().and_then(|t| t.parts.last()?.size))
        .unwrap_or(data_size);
    let multiple = model.arch.size_multiple() as u32;
    if size % multiple != 0 {
        bail!(
            "{origin}: predict.size: {size}: {} needs a multiple of {multiple}",
            model.arch
        );
    }
    let (device, workers, _) = args.device.apply()?;

    let dataset = Arc::new(
        Dataset::open(&shards)
            .with_context(|| format!("opening dataset {}", shards.display()))?
            .with_augment(resize_to(size), 0),
    );
    let folds = if args.folds.is_empty() {
        pipeline
            .train
            .as_ref()
            .map(|t| t.folds.clone())
            .unwrap_or_default()
    } else {
        args.folds.clone()
    };
    let plans = plan_sets(&args, &config, &dataset, &run_dir, &folds, &origin)?;
    std::fs::create_dir_all(&store)
        .with_context(|| format!("creating the prediction store {}", store.display()))?;
    for plan in plans {
        write_set(
            &plan,
            &store,
            Arc::clone(&dataset),
            &shards,
            &config,
            size,
            data_size,
            model.arch,
            device,
            workers,
        )?;
    }
    Ok(())
}

/// Valid transforms: a bilinear resize to the network's side.
fn resize_to(size: u32) -> Transforms {
    let s = size as usize;
    let compose = Compose {
        transforms: vec![Transform::Resize(Resize {
            height: s,
            width: s,
            interpolation: Interpolation::Linear,
            prob: Prob::always(),
        })],
        p: 1.0,
    };
    Transforms::new(compose, None)
}

fn plan_sets(
    args: &PredictArgs,
    config: &PredictConfig,
    dataset: &Dataset,
    run_dir: &Path,
    folds: &[u8],
    origin: &str,
) -> anyhow::Result<Vec<SetPlan>> {
    use data_prep::folds::Fold;
    use data_prep::shard::Split;
    let of_split = |split: Split| -> Vec<usize> {
        (0..dataset.len())
            .filter(|&i| dataset.record(i).split == split)
            .collect()
    };
    let mut splits: Vec<(&'static str, Split)> = Vec::new();
    if matches!(args.split, SplitArg::Valid | SplitArg::All) {
        splits.push(("valid", Split::Train));
    }
    if matches!(args.split, SplitArg::Test | SplitArg::All) {
        splits.push(("test", Split::Test));
    }
    let mut plans = Vec::new();
    if let Some(name) = &args.name {
        for c in &args.checkpoints {
            if !c.is_file() {
                bail!("--checkpoints: {} does not exist", c.display());
            }
        }
        for (split_name, split) in splits {
            let records = of_split(split);
            let set_name = if args.split == SplitArg::All {
                format!("{name}-{split_name}")
            } else {
                name.clone()
            };
            plans.push(SetPlan {
                name: set_name,
                groups: vec![0; records.len()],
                records,
                checkpoints: vec![args.checkpoints.clone()],
                split: split_name,
            });
        }
        return Ok(plans);
    }
    if folds.is_empty() {
        bail!("{origin}: train.folds: no fold to predict with (or pass --checkpoints and --name)");
    }
    let choice = format!("{:?}", config.checkpoints).to_lowercase();
    let per_fold: Vec<Vec<PathBuf>> = folds
        .iter()
        .map(|&f| fold_checkpoints(run_dir, f, config.checkpoints))
        .collect::<Result<_, _>>()?;
    for (split_name, split) in splits {
        if split == Split::Train {
            // Out of fold: each validation image by its own fold's checkpoints.
            let mut records = Vec::new();
            let mut groups = Vec::new();
            for i in of_split(Split::Train) {
                if let Fold::Index(f) = dataset.record(i).fold {
                    if let Some(g) = folds.iter().position(|&k| k == f) {
                        records.push(i);
                        groups.push(g);
                    }
                }
            }
            if records.is_empty() {
                bail!("{origin}: no training image lies in folds {folds:?}");
            }
            plans.push(SetPlan {
                name: format!("valid-{choice}"),
                records,
                groups,
                checkpoints: per_fold.clone(),
                split: split_name,
            });
        } else {
            let records = of_split(Split::Test);
            if records.is_empty() {
                eprintln!("predict: the dataset has no test image; no test set written");
                continue;
            }
            plans.push(SetPlan {
                name: format!("test-{choice}"),
                groups: vec![0; records.len()],
                records,
                checkpoints: vec![per_fold.concat()],
                split: split_name,
            });
        }
    }
    Ok(plans)
}

#[allow(clippy::too_many_arguments)]
fn write_set(
    plan: &SetPlan,
    store: &Path,
    dataset: Arc<Dataset>,
    shards: &Path,
    config: &PredictConfig,
    size: u32,
    data_size: u32,
    arch: pneumoflow::model::ModelKind,
    device: tch::Device,
    workers: usize,
) -> anyhow::Result<()> {
    let dir = store.join(&plan.name);
    let hashes: Vec<Vec<u64>> = plan
        .checkpoints
        .iter()
        .map(|g| g.iter().map(|p| file_fingerprint(p)).collect())
        .collect::<Result<_, _>>()?;
    let per_shard =
        (64 * 1024 * 1024 / (data_size as usize * data_size as usize).max(1)).clamp(1, 256);
    let ranges = data_prep::ingest::shard_ranges(plan.records.len(), per_shard);
    let fingerprints = prediction_fingerprints(
        &PredictionInputs {
            checkpoints: &hashes,
            groups: &plan.groups,
            records: &plan.records,
            size,
            tta: config.tta,
            level: config.level,
            encoding: config.encoding,
            input: dataset.shards().manifest(),
        },
        &ranges,
    );
    let _lock = DatasetLock::acquire(&dir, &super::command_line())?;
    let out = plan_output(&dir, &ranges, &fingerprints, false)?;
    if out.is_up_to_date() {
        eprintln!(
            "predict: {} is up to date ({} maps)",
            dir.display(),
            plan.records.len()
        );
        return Ok(());
    }
    out.prepare()?;
    let n_checkpoints: usize = plan.checkpoints.iter().map(Vec::len).sum();
    eprintln!(
        "predict: {} ({} {} images at {size}², {} checkpoint(s) in {} group(s), TTA {}, {} maps) on {device:?}, {workers} data worker(s)",
        plan.name,
        out.records_to_write(),
        plan.split,
        n_checkpoints,
        plan.checkpoints.len(),
        if config.tta { "on" } else { "off" },
        config.encoding,
    );
    let started = Instant::now();
    let predictor = Predictor::load(arch, device, &plan.checkpoints, config.tta)?;
    let pb = bar(out.records_to_write() as u64, "predict");
    let progress = pb.clone();
    let job = PredictJob {
        dataset,
        records: Arc::new(plan.records.clone()),
        groups: Arc::new(plan.groups.clone()),
        batch_size: config.batch_size,
        predictor: Arc::new(Mutex::new(Some(predictor))),
        tasks: Arc::new(out.tasks.clone()),
        level: config.level,
        encoding: config.encoding,
    };
    let outcomes = run_predict(&Execution::threads(workers), job, move |n| progress.inc(n))
        .context("predict dataflow failed")?;
    pb.finish_and_clear();
    let checkpoints: Vec<Vec<String>> = plan
        .checkpoints
        .iter()
        .map(|g| g.iter().map(|p| p.display().to_string()).collect())
        .collect();
    let source = serde_json::json!({
        "kind": PREDICTIONS_KIND,
        "command": "predict",
        "input": shards.display().to_string(),
        "split": plan.split,
        "model": arch.to_string(),
        "size": size,
        "tta": config.tta,
        "checkpoint_groups": checkpoints,
        "encoding": config.encoding.name(),
        "quantisation": match config.encoding {
            MapEncoding::U8 => "q = round(clamp(p, 0, 1) * 255)",
            MapEncoding::F16 => "h = f16(clamp(p, 0, 1)), round to nearest even",
        },
    });
    let set = report_outcome(out.finish(&outcomes, data_size, source))?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "predict: {} -> {} ({} maps, {:.1} img/s)",
        plan.name,
        dir.display(),
        set.len(),
        out.records_to_write() as f64 / seconds.max(1e-9)
    );
    Ok(())
}
