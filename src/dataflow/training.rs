//! The training job: for every fold, the staged parts, each a sequence of epochs of the
//! training graph and validations ([`super::train_epoch`]), driving the scheduler, the top-k and
//! best checkpoints and early stopping, and committing every epoch to the run directory so a
//! killed run resumes where it stopped and ends with the same weights and metrics.

use super::runner::{DataflowError, Execution};
use super::train_epoch::{run_train_epoch, run_validation, Batching, SharedTrainer, StepReport};
use crate::augment::{load_transforms, Compose, Interpolation, Pipeline, Prob, Resize, Transform};
use crate::data::{DataError, Dataset, Sampler, SamplerError};
use crate::model::{ModelKind, Net, WeightsError};
use crate::train::{
    BatchStats, CheckpointAction, CheckpointPolicy, EpochMetrics, FoldCheckpoints, FoldState,
    LrScheduler, PartConfig, RunDir, RunDirError, TrainConfig, TrainError, Trainer,
    ValidationResult, ValidationScore,
};
use data_prep::folds::{read_folds_csv, Fold};
use data_prep::shard::Split;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tch::Device;
use thiserror::Error;

/// Why training stopped.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TrainJobError {
    /// A setting does not fit the data or the model (the key names it).
    #[error("{key}: {problem}")]
    Config {
        /// The pipeline key.
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// The dataset could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The sampler could not be built.
    #[error("fold {fold}, part {part}: {source}")]
    Sampler {
        /// The fold.
        fold: u8,
        /// The part.
        part: usize,
        /// Why.
        source: SamplerError,
    },
    /// Weights could not be loaded or saved.
    #[error(transparent)]
    Weights(#[from] WeightsError),
    /// The run directory could not be used.
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    /// The loss or optimizer failed outside a batch.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The dataflow could not run.
    #[error(transparent)]
    Dataflow(#[from] DataflowError),
    /// A batch failed (a non-finite loss, a bad record); the last complete epoch is kept.
    #[error("fold {fold}, part {part}, epoch {epoch}, batch {batch}: {problem}; the run keeps its last complete epoch (re-running resumes from it)")]
    Batch {
        /// The fold.
        fold: u8,
        /// The part.
        part: usize,
        /// The epoch.
        epoch: u32,
        /// The batch.
        batch: usize,
        /// What happened.
        problem: String,
    },
}

/// Everything a training job needs.
pub struct TrainJob {
    /// The shard dataset.
    pub dataset: PathBuf,
    /// Working resolution when a part does not set one.
    pub size: u32,
    /// A folds CSV overriding the dataset's folds, unless a part sets its own.
    pub folds_file: Option<PathBuf>,
    /// Seed of the sampler and the augmentation.
    pub seed: u64,
    /// The network.
    pub model: ModelKind,
    /// Initial weights of part 0 (a full checkpoint), else the reference initialisation.
    pub initial_weights: Option<PathBuf>,
    /// `[train]`.
    pub train: TrainConfig,
    /// The pipeline's `[augment]`: the train transforms of parts that name none.
    pub augment: Option<Pipeline>,
    /// Where the network trains.
    pub device: Device,
    /// Data workers.
    pub execution: Execution,
    /// The run directory.
    pub run: RunDir,
}

/// What the job reports while it runs.
pub trait TrainObserver: Send + Sync {
    /// An epoch starts: `batches` training batches at learning rate `lr`.
    fn epoch_start(&self, fold: u8, part: usize, epoch: u32, batches: usize, lr: f64);
    /// A training step finished.
    fn step(&self, report: &StepReport, stats: Option<&BatchStats>);
    /// Validation of the epoch starts.
    fn validation_start(&self, images: usize);
    /// An epoch was committed.
    fn epoch_end(&self, metrics: &EpochMetrics);
    /// A line for the user (resume, part start, early stop).
    fn note(&self, text: &str);
}

/// The result of a training job, per fold.
#[derive(Clone, Debug, PartialEq)]
pub struct FoldSummary {
    /// The fold.
    pub fold: u8,
    /// Its best score and where it came from (part, epoch).
    pub best: Option<(f64, u32, u32)>,
    /// Share of validation images with an empty mask (the all-empty baseline's score).
    pub empty_share: f64,
    /// The best checkpoint.
    pub checkpoint: PathBuf,
}

/// Fold and label of every id of a folds CSV.
type FoldMap = HashMap<String, (Fold, bool)>;

/// Records of the fold split: `(train: (index, positive), valid: index)`.
fn split(dataset: &Dataset, folds: &Option<FoldMap>, fold: u8) -> (Vec<(usize, bool)>, Vec<usize>) {
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    for i in 0..dataset.len() {
        let r = dataset.record(i);
        if r.split != Split::Train {
            continue;
        }
        let (f, positive) = match folds {
            Some(map) => match map.get(&r.id) {
                Some(&(f, l)) => (f, l),
                None => continue,
            },
            None => (r.fold, r.label == Some(true)),
        };
        if f == Fold::Index(fold) {
            valid.push(i);
        } else if f.is_train_for(fold) {
            train.push((i, positive));
        }
    }
    (train, valid)
}

/// `base` followed by a Resize to `size`² unless its output size is already that.
fn with_resize(base: Option<&Pipeline>, size: u32) -> Pipeline {
    let s = size as usize;
    if let Some(p) = base {
        if p.fixed_output_size() == Some((s, s)) {
            return p.clone();
        }
    }
    let mut compose = base.map(|p| p.compose().clone()).unwrap_or(Compose {
        transforms: Vec::new(),
        p: 1.0,
    });
    compose.transforms.push(Transform::Resize(Resize {
        height: s,
        width: s,
        interpolation: Interpolation::Linear,
        prob: Prob::always(),
    }));
    Pipeline::new(compose, None)
}

/// Runs the job; returns the folds' summaries.
pub fn run_training(
    job: &TrainJob,
    observer: Arc<dyn TrainObserver>,
) -> Result<Vec<FoldSummary>, TrainJobError> {
    job.train.validate().map_err(|e| TrainJobError::Config {
        key: format!("train.{}", e.key),
        problem: e.problem,
    })?;
    let multiple = job.model.size_multiple() as u32;
    for (i, p) in job.train.parts.iter().enumerate() {
        let size = p.size.unwrap_or(job.size);
        if size % multiple != 0 {
            return Err(TrainJobError::Config {
                key: format!("train.parts[{i}].size"),
                problem: format!("{size}: {} needs a multiple of {multiple}", job.model),
            });
        }
    }
    let mut summaries = Vec::new();
    for &fold in &job.train.folds {
        summaries.push(train_fold(job, fold, Arc::clone(&observer))?);
    }
    Ok(summaries)
}

fn folds_of(job: &TrainJob, part: &PartConfig) -> Result<Option<FoldMap>, TrainJobError> {
    let Some(path) = part.folds_file.as_ref().or(job.folds_file.as_ref()) else {
        return Ok(None);
    };
    let entries = read_folds_csv(path).map_err(|e| TrainJobError::Config {
        key: "folds_file".into(),
        problem: e.to_string(),
    })?;
    Ok(Some(
        entries
            .into_iter()
            .map(|e| (e.id, (e.fold, e.label)))
            .collect(),
    ))
}

fn train_fold(
    job: &TrainJob,
    fold: u8,
    observer: Arc<dyn TrainObserver>,
) -> Result<FoldSummary, TrainJobError> {
    let run = &job.run;
    let parts = &job.train.parts;
    let state = run.load_state(fold)?;
    let policy_of = |p: &PartConfig| CheckpointPolicy {
        top_k: p.top_k,
        early_stopping: p.early_stopping,
    };
    let (mut checkpoints, start_part, mut start_epoch, mut sched_state, mut mid_part) = match state
    {
        Some(s) => {
            observer.note(&format!(
                "fold {fold}: resuming at part {}, epoch {}",
                s.part, s.next_epoch
            ));
            (s.checkpoints, s.part, s.next_epoch, s.scheduler, s.mid_part)
        }
        None => (
            FoldCheckpoints::new(policy_of(&parts[0])),
            0,
            0,
            None,
            false,
        ),
    };
    // Metrics lines of epochs that were not committed are dropped.
    run.retain_metrics(|m| {
        m.fold != fold || m.part < start_part || (m.part == start_part && m.epoch < start_epoch)
    })?;
    tch::manual_seed(job.seed as i64);
    let mut net = Net::new(job.model, job.device);
    if let Some(w) = &job.initial_weights {
        net.load(w)?;
    }
    let trainer: SharedTrainer = Arc::new(Mutex::new(None));
    let batching = Batching::new(job.train.batch_size, job.model.input_norm().tables());
    let mut empty_share = 0.0;
    for (pi, part) in parts.iter().enumerate().skip(start_part) {
        let size = part.size.unwrap_or(job.size);
        let folds = folds_of(job, part)?;
        let base = match &part.transforms {
            Some(path) => Some(load_transforms(path).map_err(|e| TrainJobError::Config {
                key: format!("train.parts[{pi}].transforms"),
                problem: e.to_string(),
            })?),
            None => job.augment.clone(),
        };
        let train_set = Arc::new(
            Dataset::open(&job.dataset)?.with_augment(with_resize(base.as_ref(), size), job.seed),
        );
        let valid_set =
            Arc::new(Dataset::open(&job.dataset)?.with_augment(with_resize(None, size), job.seed));
        let (train_records, valid_records) = split(&train_set, &folds, fold);
        if valid_records.is_empty() {
            return Err(TrainJobError::Config {
                key: "train.folds".into(),
                problem: format!("fold {fold} has no validation image in this dataset"),
            });
        }
        empty_share = valid_records
            .iter()
            .filter(|&&i| valid_set.record(i).label != Some(true))
            .count() as f64
            / valid_records.len() as f64;
        let sampler = Sampler::new(train_records, part.sample_rate).map_err(|source| {
            TrainJobError::Sampler {
                fold,
                part: pi,
                source,
            }
        })?;
        // Weights at the part's start: mid-part, the last complete epoch; else the fold's best
        // so far (parts after the first), else the initial weights.
        if mid_part {
            net.load(&run.last_weights(fold)?)?;
        } else if pi > 0 && checkpoints.best().is_some() {
            net.load(&run.best_checkpoint(fold))?;
        }
        let mut t = Trainer::new(net, job.device, &job.train, part)?;
        let mut scheduler = match (mid_part, sched_state.take()) {
            (true, Some(s)) => {
                LrScheduler::from_state(part.scheduler, s).map_err(|e| TrainJobError::Config {
                    key: format!("train.parts[{pi}].scheduler.{}", e.key),
                    problem: e.problem,
                })?
            }
            _ => LrScheduler::new(part.scheduler, part.lr).map_err(|e| TrainJobError::Config {
                key: format!("train.parts[{pi}].scheduler.{}", e.key),
                problem: e.problem,
            })?,
        };
        if mid_part {
            t.adam_mut().load_state(&run.optimizer_state(fold)?)?;
        } else {
            checkpoints.start_part_with(pi as u32, policy_of(part));
            observer.note(&format!(
                "fold {fold}, part {pi}: lr {}, sample rate {}, {} positives + {} negatives per epoch, {}²",
                part.lr,
                part.sample_rate,
                sampler.n_pos(),
                sampler.n_neg(),
                size
            ));
        }
        t.adam_mut().set_lr(scheduler.lr())?;
        *trainer.lock().expect("trainer lock") = Some(t);
        for epoch in start_epoch..part.epochs {
            let started = Instant::now();
            let frozen = epoch < part.freeze_encoder_epochs;
            let lr = scheduler.lr();
            {
                let mut g = trainer.lock().expect("trainer lock");
                let t = g.as_mut().expect("trainer present");
                t.freeze_encoder(frozen);
            }
            let order = Arc::new(sampler.epoch(job.seed, fold, pi as u32, epoch as u64));
            let batches = order.len().div_ceil(job.train.batch_size);
            observer.epoch_start(fold, pi, epoch, batches, lr);
            let epoch_key = ((fold as u64) << 48) | ((pi as u64) << 32) | epoch as u64;
            let train_started = Instant::now();
            let reports = run_train_epoch(
                &job.execution,
                Arc::clone(&train_set),
                order,
                epoch_key,
                batching.clone(),
                Arc::clone(&trainer),
                {
                    let o = Arc::clone(&observer);
                    move |r: &StepReport, s: Option<&BatchStats>| o.step(r, s)
                },
            )?;
            let train_seconds = train_started.elapsed().as_secs_f64();
            let mut reports = reports;
            reports.sort_by_key(|r| r.batch);
            if let Some(bad) = reports.iter().find(|r| r.outcome.is_err()) {
                return Err(TrainJobError::Batch {
                    fold,
                    part: pi,
                    epoch,
                    batch: bad.batch,
                    problem: bad.outcome.clone().unwrap_err(),
                });
            }
            trainer
                .lock()
                .expect("trainer lock")
                .as_mut()
                .expect("trainer present")
                .flush()?;
            let losses: Vec<f64> = reports
                .iter()
                .filter_map(|r| r.outcome.clone().ok())
                .collect();
            let train_loss = losses.iter().sum::<f64>() / losses.len().max(1) as f64;
            let step_seconds: f64 = reports.iter().map(|r| r.step_seconds).sum();
            let images: usize = reports.iter().map(|r| r.samples).sum();
            let validate = (epoch + 1) % job.train.validate_every == 0 || epoch + 1 == part.epochs;
            let (result, decision, next_lr) = if validate {
                observer.validation_start(valid_records.len());
                let score = Arc::new(Mutex::new(ValidationScore::new(
                    &job.train.triplets,
                    size,
                    job.train.scale_area,
                    job.train.metric_eps,
                )));
                let outcomes = run_validation(
                    &job.execution,
                    Arc::clone(&valid_set),
                    Arc::new(valid_records.clone()),
                    batching.clone(),
                    Arc::clone(&trainer),
                    Arc::clone(&score),
                )?;
                if let Some(Err(problem)) = outcomes.into_iter().find(|o| o.is_err()) {
                    return Err(TrainJobError::Batch {
                        fold,
                        part: pi,
                        epoch,
                        batch: usize::MAX,
                        problem: format!("validation: {problem}"),
                    });
                }
                let result = score
                    .lock()
                    .expect("score lock")
                    .result(&job.train.triplets);
                let decision = checkpoints.observe(epoch, result.score).map_err(|e| {
                    TrainJobError::Config {
                        key: "train".into(),
                        problem: e.to_string(),
                    }
                })?;
                let next = scheduler.step(result.score);
                (Some(result), Some(decision), next)
            } else {
                (None, None, scheduler.lr())
            };
            // Commit the epoch: checkpoint files, last weights and optimizer, metrics, state.
            let mut best = false;
            {
                let mut g = trainer.lock().expect("trainer lock");
                let t = g.as_mut().expect("trainer present");
                t.adam_mut().set_lr(next_lr)?;
                if let Some(d) = &decision {
                    for action in &d.actions {
                        match *action {
                            CheckpointAction::Save { epoch: e } => {
                                t.net().save(&run.epoch_checkpoint(fold, pi, e)?)?
                            }
                            CheckpointAction::Delete { epoch: e } => {
                                let _ = std::fs::remove_file(run.epoch_checkpoint(fold, pi, e)?);
                            }
                            CheckpointAction::ReplaceBest { .. } => {
                                best = true;
                                t.net().save(&run.best_checkpoint(fold))?
                            }
                        }
                    }
                }
                t.net().save(&run.last_weights(fold)?)?;
                t.adam().save_state(&run.optimizer_state(fold)?)?;
            }
            let result = result.unwrap_or(ValidationResult {
                score: f64::NAN,
                best_triplet: [0.0; 3],
                per_triplet: Vec::new(),
                loss: f64::NAN,
                images: 0,
            });
            let metrics = EpochMetrics {
                fold,
                part: pi,
                epoch,
                lr,
                next_lr,
                sample_rate: part.sample_rate,
                n_pos: sampler.n_pos(),
                n_neg: sampler.n_neg(),
                train_loss,
                val_loss: result.loss,
                val_score: result.score,
                best_triplet: result.best_triplet,
                per_triplet: result.per_triplet,
                encoder_frozen: frozen,
                seconds: started.elapsed().as_secs_f64(),
                data_wait_share: if train_seconds > 0.0 {
                    (1.0 - step_seconds / train_seconds).clamp(0.0, 1.0)
                } else {
                    0.0
                },
                images_per_second: images as f64 / train_seconds.max(1e-9),
                best,
            };
            run.append_metrics(&metrics)?;
            run.write_curves()?;
            let stop = decision.as_ref().is_some_and(|d| d.stop) || epoch + 1 == part.epochs;
            run.save_state(&FoldState {
                fold,
                part: if stop { pi + 1 } else { pi },
                next_epoch: if stop { 0 } else { epoch + 1 },
                scheduler: if stop { None } else { Some(*scheduler.state()) },
                checkpoints: checkpoints.clone(),
                mid_part: !stop,
            })?;
            observer.epoch_end(&metrics);
            if stop {
                if epoch + 1 < part.epochs {
                    observer.note(&format!(
                        "fold {fold}, part {pi}: early stop after epoch {epoch}"
                    ));
                }
                break;
            }
        }
        net = trainer
            .lock()
            .expect("trainer lock")
            .take()
            .expect("trainer present")
            .into_net();
        start_epoch = 0;
        mid_part = false;
    }
    if start_part >= parts.len() {
        // Finished earlier: the baseline of the last part's validation split.
        let last = parts.last().expect("validated: at least one part");
        let set = Dataset::open(&job.dataset)?;
        let (_, valid) = split(&set, &folds_of(job, last)?, fold);
        empty_share = valid
            .iter()
            .filter(|&&i| set.record(i).label != Some(true))
            .count() as f64
            / valid.len().max(1) as f64;
    }
    Ok(FoldSummary {
        fold,
        best: checkpoints.best().map(|b| (b.score, b.part, b.epoch)),
        empty_share,
        checkpoint: run.best_checkpoint(fold),
    })
}
