//! What the torch commands (`train`, `predict`, `run`) share: their device and thread flags, and
//! what they resolve from a pipeline file alike: its dataset and working size, its network, and
//! the run directory.

use anyhow::{bail, Context};
use clap::Args;
use pneumoflow::config::{ModelConfig, Pipeline};
use std::path::{Path, PathBuf};

/// `[data]`'s shard dataset (checked to be one) and its working size (`data.size`, else the
/// dataset's).
pub fn dataset_of(pipeline: &Pipeline, purpose: &str) -> anyhow::Result<(PathBuf, u32)> {
    let origin = &pipeline.origin;
    let data = pipeline
        .data
        .as_ref()
        .with_context(|| format!("{origin}: no [data] section (data.shards names the dataset)"))?;
    let shards = data.shards.clone().with_context(|| {
        format!("{origin}: data.shards: missing (the shard dataset to {purpose})")
    })?;
    if !shards.join(data_prep::shard::MANIFEST_FILE).exists() {
        bail!(
            "{origin}: data.shards: {} is not a shard dataset (no manifest.json); run `pneumoflow prep` first",
            shards.display()
        );
    }
    let size = match data.size {
        Some(s) => s,
        None => data_prep::shard::Manifest::load(&shards)?.size,
    };
    Ok((shards, size))
}

/// `[model]`, with its initial weights checked to exist.
pub fn model_of(pipeline: &Pipeline) -> anyhow::Result<ModelConfig> {
    let origin = &pipeline.origin;
    let model = pipeline
        .model
        .clone()
        .with_context(|| format!("{origin}: no [model] section (model.arch names the network)"))?;
    if let Some(w) = &model.weights {
        if !w.exists() {
            bail!("{origin}: model.weights: {} does not exist", w.display());
        }
    }
    Ok(model)
}

/// The run directory: `--run-dir`, else `runs/<pipeline file stem>`.
pub fn run_dir_of(arg: Option<&Path>, pipeline_file: &Path) -> PathBuf {
    arg.map(Path::to_path_buf).unwrap_or_else(|| {
        PathBuf::from("runs").join(
            pipeline_file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "run".into()),
        )
    })
}

/// The store `predict` writes: `predict.out`, else `<run dir>/predictions`.
pub fn predict_store_of(pipeline: &pneumoflow::config::Pipeline, run_dir: &Path) -> PathBuf {
    (pipeline.predict.as_ref().and_then(|p| p.out.clone()))
        .unwrap_or_else(|| run_dir.join("predictions"))
}

/// The store `blend` writes: `blend.out`, else `<run dir>/predictions`, or `<run dir>/blend` when
/// the pipeline also predicts (a blend never writes over predict's sets).
pub fn blend_store_of(pipeline: &pneumoflow::config::Pipeline, run_dir: &Path) -> PathBuf {
    (pipeline.blend.as_ref().and_then(|b| b.out.clone())).unwrap_or_else(|| {
        run_dir.join(if pipeline.predict.is_some() {
            "blend"
        } else {
            "predictions"
        })
    })
}

/// The store `sweep` and `submit` read: the blend's when the pipeline declares `[blend]` (its
/// last prediction stage), else predict's.
pub fn store_of(pipeline: &pneumoflow::config::Pipeline, run_dir: &Path) -> PathBuf {
    if pipeline.blend.is_some() {
        blend_store_of(pipeline, run_dir)
    } else {
        predict_store_of(pipeline, run_dir)
    }
}

/// Device and thread flags of the torch commands.
#[derive(Debug, Clone, Args)]
pub struct DeviceArgs {
    /// Data worker threads (read + transforms; default: all cores).
    #[arg(long, short = 'w', value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub workers: Option<u64>,
    /// libtorch threads (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub threads: Option<u64>,
    /// `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

impl DeviceArgs {
    /// The device (refusing CUDA where there is none), the data workers and the libtorch threads,
    /// which it sets.
    pub fn apply(&self) -> anyhow::Result<(tch::Device, usize, usize)> {
        let device = super::train::parse_device(&self.device)?;
        let cores = super::cluster::default_workers();
        let threads = self.threads.map(|t| t as usize).unwrap_or(cores);
        tch::set_num_threads(threads as i32);
        Ok((
            device,
            self.workers.map(|w| w as usize).unwrap_or(cores),
            threads,
        ))
    }
}
