//! The run directory of a training job and its resume state.
//!
//! ```text
//! <run>/pipeline.toml                 the resolved pipeline the run was started with
//! <run>/metrics.jsonl                 one JSON object per validated epoch
//! <run>/curves.png                    loss, score, lr and sample rate per epoch (redrawn)
//! <run>/best_fold<K>.safetensors      the fold's best weights over all parts
//! <run>/fold<K>/state.json            resume state, written last after every epoch
//! <run>/fold<K>/last.safetensors      weights after the last complete epoch
//! <run>/fold<K>/optimizer.safetensors Adam's state after it
//! <run>/fold<K>/part<P>/epoch<E>.safetensors   the part's top-k checkpoints
//! ```
//!
//! Every file is written atomically and `state.json` last, so after a crash the state names the
//! last complete epoch and every file it relies on is complete; metrics lines after it are
//! dropped on resume.

use crate::train::checkpoint::FoldCheckpoints;
use crate::train::schedule::SchedulerState;
use data_prep::atomic::write_bytes_atomic;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why the run directory could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RunDirError {
    /// A file could not be read or written.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A state or metrics file is not what this version writes.
    #[error("{path}: {problem}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The directory holds a run of a different pipeline.
    #[error("{dir} holds a run of another pipeline ({key} differs); resume it with the pipeline it was started with, or train into a new --run-dir")]
    OtherPipeline {
        /// The run directory.
        dir: PathBuf,
        /// The first differing key.
        key: String,
    },
}

/// Where a fold's training stands: the commit point of every epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoldState {
    /// The fold.
    pub fold: u8,
    /// The part in progress (== number of parts when the fold is finished).
    pub part: usize,
    /// The first epoch of `part` not yet complete.
    pub next_epoch: u32,
    /// The scheduler of `part` after the last complete epoch.
    pub scheduler: Option<SchedulerState>,
    /// Top-k, best and early-stopping state.
    pub checkpoints: FoldCheckpoints,
    /// Whether `last.safetensors` / `optimizer.safetensors` hold the state after `next_epoch - 1`
    /// of `part` (false at the start of a part: it starts from the fold's best).
    pub mid_part: bool,
}

/// One line of `metrics.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Fold validated on.
    pub fold: u8,
    /// Part index.
    pub part: usize,
    /// Epoch within the part.
    pub epoch: u32,
    /// Learning rate used in the epoch.
    pub lr: f64,
    /// Learning rate after the scheduler's step.
    pub next_lr: f64,
    /// The part's sample rate.
    pub sample_rate: f64,
    /// Positives per epoch.
    pub n_pos: usize,
    /// Negatives drawn per epoch.
    pub n_neg: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Mean validation loss over the images.
    pub val_loss: f64,
    /// The epoch's score: the best triplet's mean Dice.
    pub val_score: f64,
    /// That triplet, `[top, area, bottom]`.
    pub best_triplet: [f64; 3],
    /// Mean Dice of every triplet.
    pub per_triplet: Vec<f64>,
    /// Whether the encoder was frozen.
    pub encoder_frozen: bool,
    /// Wall seconds of the epoch (training and validation).
    pub seconds: f64,
    /// Share of the training time the step waited for data.
    pub data_wait_share: f64,
    /// Training images per second.
    pub images_per_second: f64,
    /// Whether this epoch became the fold's best.
    pub best: bool,
}

/// A run directory.
#[derive(Clone, Debug)]
pub struct RunDir {
    dir: PathBuf,
}

fn io(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> RunDirError {
    let path = path.to_path_buf();
    move |source| RunDirError::Io {
        path,
        action,
        source,
    }
}

impl RunDir {
    /// Opens (creating it) the run directory, recording `pipeline` (TOML text) the first time
    /// and refusing a run of another pipeline. Only what determines the training counts: the
    /// later stages' sections (`[predict]`, `[sweep]`, `[submit]`) may change between runs.
    pub fn open(dir: &Path, pipeline: &toml::Table) -> Result<RunDir, RunDirError> {
        std::fs::create_dir_all(dir).map_err(io(dir, "creating"))?;
        let path = dir.join("pipeline.toml");
        if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(io(&path, "reading"))?;
            let old: toml::Table = toml::from_str(&text).map_err(|e| RunDirError::Corrupt {
                path: path.clone(),
                problem: e.to_string(),
            })?;
            if let Some(key) = first_difference(&training_part(&old), &training_part(pipeline), "")
            {
                return Err(RunDirError::OtherPipeline {
                    dir: dir.to_path_buf(),
                    key,
                });
            }
        } else {
            let text = toml::to_string(pipeline).unwrap_or_default();
            write_bytes_atomic(&path, text.as_bytes()).map_err(io(&path, "writing"))?;
        }
        Ok(RunDir {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `fold<K>/`, created.
    pub fn fold_dir(&self, fold: u8) -> Result<PathBuf, RunDirError> {
        let d = self.dir.join(format!("fold{fold}"));
        std::fs::create_dir_all(&d).map_err(io(&d, "creating"))?;
        Ok(d)
    }

    /// `fold<K>/part<P>/`, created.
    pub fn part_dir(&self, fold: u8, part: usize) -> Result<PathBuf, RunDirError> {
        let d = self.fold_dir(fold)?.join(format!("part{part}"));
        std::fs::create_dir_all(&d).map_err(io(&d, "creating"))?;
        Ok(d)
    }

    /// The top-k checkpoint of `epoch` of `part`.
    pub fn epoch_checkpoint(
        &self,
        fold: u8,
        part: usize,
        epoch: u32,
    ) -> Result<PathBuf, RunDirError> {
        Ok(self
            .part_dir(fold, part)?
            .join(format!("epoch{epoch:03}.safetensors")))
    }

    /// The fold's best checkpoint.
    pub fn best_checkpoint(&self, fold: u8) -> PathBuf {
        self.dir.join(format!("best_fold{fold}.safetensors"))
    }

    /// Weights after the last complete epoch.
    pub fn last_weights(&self, fold: u8) -> Result<PathBuf, RunDirError> {
        Ok(self.fold_dir(fold)?.join("last.safetensors"))
    }

    /// Adam's state after the last complete epoch.
    pub fn optimizer_state(&self, fold: u8) -> Result<PathBuf, RunDirError> {
        Ok(self.fold_dir(fold)?.join("optimizer.safetensors"))
    }

    /// The fold's resume state, if a previous run committed one.
    pub fn load_state(&self, fold: u8) -> Result<Option<FoldState>, RunDirError> {
        let path = self.fold_dir(fold)?.join("state.json");
        if !path.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(&path).map_err(io(&path, "reading"))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| RunDirError::Corrupt {
                path,
                problem: e.to_string(),
            })
    }

    /// Commits the fold's state (atomically; the epoch's other files must be written first).
    pub fn save_state(&self, state: &FoldState) -> Result<(), RunDirError> {
        let path = self.fold_dir(state.fold)?.join("state.json");
        let text = serde_json::to_vec_pretty(state).expect("serialisable state");
        write_bytes_atomic(&path, &text).map_err(io(&path, "writing"))
    }

    fn metrics_path(&self) -> PathBuf {
        self.dir.join("metrics.jsonl")
    }

    /// Every metrics line written so far.
    pub fn metrics(&self) -> Result<Vec<EpochMetrics>, RunDirError> {
        let path = self.metrics_path();
        if !path.exists() {
            return Ok(Vec::new());
        }
        let text = std::fs::read_to_string(&path).map_err(io(&path, "reading"))?;
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| RunDirError::Corrupt {
                    path: path.clone(),
                    problem: format!("line {}: {e}", i + 1),
                })
            })
            .collect()
    }

    /// Keeps only the metrics lines `keep` accepts (those of committed epochs), atomically.
    pub fn retain_metrics(&self, keep: impl Fn(&EpochMetrics) -> bool) -> Result<(), RunDirError> {
        let lines: Vec<EpochMetrics> = self.metrics()?.into_iter().filter(keep).collect();
        let mut text = String::new();
        for m in &lines {
            text.push_str(&serde_json::to_string(m).expect("serialisable metrics"));
            text.push('\n');
        }
        let path = self.metrics_path();
        write_bytes_atomic(&path, text.as_bytes()).map_err(io(&path, "writing"))
    }

    /// Appends one metrics line (and fsyncs it).
    pub fn append_metrics(&self, m: &EpochMetrics) -> Result<(), RunDirError> {
        let path = self.metrics_path();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path, "opening"))?;
        let mut line = serde_json::to_string(m).expect("serialisable metrics");
        line.push('\n');
        f.write_all(line.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(io(&path, "appending"))
    }
}

impl RunDir {
    /// Redraws `curves.png` from every metrics line.
    pub fn write_curves(&self) -> Result<(), RunDirError> {
        let path = self.dir.join("curves.png");
        let png = crate::train::curves::render_curves(&self.metrics()?).map_err(|e| {
            RunDirError::Corrupt {
                path: path.clone(),
                problem: format!("cannot encode: {e}"),
            }
        })?;
        write_bytes_atomic(&path, &png).map_err(io(&path, "writing"))
    }
}

/// The first key path whose value differs between two TOML tables.
/// The sections of a pipeline document that determine a training run.
fn training_part(pipeline: &toml::Table) -> toml::Table {
    let mut t = pipeline.clone();
    for later in ["predict", "sweep", "submit"] {
        t.remove(later);
    }
    t
}

fn first_difference(a: &toml::Table, b: &toml::Table, prefix: &str) -> Option<String> {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match (a.get(k), b.get(k)) {
            (Some(toml::Value::Table(x)), Some(toml::Value::Table(y))) => {
                if let Some(p) = first_difference(x, y, &path) {
                    return Some(p);
                }
            }
            (x, y) if x != y => return Some(path),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_another_pipeline_is_refused_naming_the_key() {
        let tmp = tempfile::tempdir().unwrap();
        let a: toml::Table =
            toml::from_str("[train]\nbatch_size = 2\n[data]\nsize = 64\n").unwrap();
        let b: toml::Table =
            toml::from_str("[train]\nbatch_size = 4\n[data]\nsize = 64\n").unwrap();
        RunDir::open(tmp.path(), &a).unwrap();
        RunDir::open(tmp.path(), &a).unwrap();
        let err = RunDir::open(tmp.path(), &b).unwrap_err().to_string();
        assert!(err.contains("train.batch_size"), "{err}");
    }
}
