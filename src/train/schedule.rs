//! Learning-rate schedulers stepped once per epoch after validation, each matching PyTorch 2.13's
//! `torch.optim.lr_scheduler` class in float64 bit for bit (pure Rust, no tensors):
//!
//! - `reduce_on_plateau` = `ReduceLROnPlateau(mode, factor, patience, threshold, threshold_mode,
//!   cooldown, min_lr, eps)`, stepped with the validation score;
//! - `cosine` = `CosineAnnealingLR(T_max, eta_min)` in its closed form
//!   `eta_min + (lr0 - eta_min)·(1 + cos(π·e/T_max))/2` (periodic past `T_max`), which is
//!   PyTorch's `_get_closed_form_lr` and what PyTorch ≤ 1.3 (the competition's) computed. Since
//!   1.4 PyTorch's `step()` updates the rate recursively from the previous one instead; the two
//!   drift apart by rounding only (≤ 1e-14 relative over 40 epochs in the fixtures); the epoch-0
//!   rate is `lr0` itself in both;
//! - `cosine_warm_restarts` = `CosineAnnealingWarmRestarts(T_0, T_mult, eta_min)`:
//!   `eta_min + (lr0 - eta_min)·(1 + cos(π·T_cur/T_i))/2`, `T_i` multiplied by `T_mult` at each
//!   restart (its epoch-0 rate is that formula at `T_cur = 0`, which can differ from `lr0` in the
//!   last bit when `eta_min != 0`, as in PyTorch).
//!
//! [`SchedulerConfig`] is the serde form embedded in a pipeline's `[[train.parts]]`
//! (`scheduler = { type = "cosine", t_max = 8, eta_min = 1e-7 }`); [`LrScheduler`] runs one, and its
//! [`SchedulerState`] serializes for resuming.
use crate::train::error::InvalidKey;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// `ReduceLROnPlateau`'s `mode`: whether a lower or a higher score is better.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlateauMode {
    /// Lower is better (a loss); PyTorch's default.
    #[default]
    Min,
    /// Higher is better (the validation Dice).
    Max,
}

/// `ReduceLROnPlateau`'s `threshold_mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdMode {
    /// Better means beyond `best·(1 ± threshold)`; PyTorch's default.
    #[default]
    Rel,
    /// Better means beyond `best ± threshold`.
    Abs,
}

/// `ReduceLROnPlateau`'s settings, PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlateauConfig {
    /// `min` or `max`.
    pub mode: PlateauMode,
    /// `new_lr = lr·factor` (0 < factor < 1; default 0.1).
    pub factor: f64,
    /// Epochs without improvement tolerated before reducing (default 10).
    pub patience: u32,
    /// Improvement needed to count as better (default 1e-4).
    pub threshold: f64,
    /// `rel` or `abs`.
    pub threshold_mode: ThresholdMode,
    /// Epochs to wait after a reduction before counting bad epochs again (default 0).
    pub cooldown: u32,
    /// Floor of the learning rate (default 0).
    pub min_lr: f64,
    /// A reduction smaller than this is skipped (default 1e-8).
    pub eps: f64,
}

impl Default for PlateauConfig {
    fn default() -> Self {
        PlateauConfig {
            mode: PlateauMode::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
        }
    }
}

/// `CosineAnnealingLR`'s settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CosineConfig {
    /// Half period in epochs (`T_max`, >= 1).
    pub t_max: u32,
    /// Lowest rate (default 0).
    #[serde(default)]
    pub eta_min: f64,
}

/// `CosineAnnealingWarmRestarts`' settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarmRestartsConfig {
    /// Epochs until the first restart (`T_0`, >= 1).
    pub t_0: u32,
    /// Growth of the period at each restart (`T_mult`, >= 1; default 1).
    #[serde(default = "one")]
    pub t_mult: u32,
    /// Lowest rate (default 0).
    #[serde(default)]
    pub eta_min: f64,
}

fn one() -> u32 {
    1
}

/// A scheduler as written in a pipeline: `type = "reduce_on_plateau" | "cosine" |
/// "cosine_warm_restarts"` and that type's keys; unknown keys are refused.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SchedulerConfig {
    /// `ReduceLROnPlateau`.
    ReduceOnPlateau(PlateauConfig),
    /// `CosineAnnealingLR` (closed form).
    Cosine(CosineConfig),
    /// `CosineAnnealingWarmRestarts`.
    CosineWarmRestarts(WarmRestartsConfig),
}

fn check(ok: bool, key: &str, problem: impl FnOnce() -> String) -> Result<(), InvalidKey> {
    if ok {
        Ok(())
    } else {
        Err(InvalidKey::new(key, problem()))
    }
}

fn check_rate(key: &str, v: f64) -> Result<(), InvalidKey> {
    check(v.is_finite() && v >= 0.0, key, || {
        format!("{v}: must be finite and >= 0")
    })
}

impl SchedulerConfig {
    /// Checks every value, naming the first bad key (relative to the scheduler's table).
    pub fn validate(&self) -> Result<(), InvalidKey> {
        match self {
            SchedulerConfig::ReduceOnPlateau(c) => {
                check(c.factor > 0.0 && c.factor < 1.0, "factor", || {
                    format!("{}: must be in (0, 1)", c.factor)
                })?;
                check(
                    c.threshold.is_finite() && c.threshold >= 0.0,
                    "threshold",
                    || format!("{}: must be finite and >= 0", c.threshold),
                )?;
                check_rate("min_lr", c.min_lr)?;
                check_rate("eps", c.eps)
            }
            SchedulerConfig::Cosine(c) => {
                check(c.t_max >= 1, "t_max", || {
                    format!("{}: must be >= 1", c.t_max)
                })?;
                check_rate("eta_min", c.eta_min)
            }
            SchedulerConfig::CosineWarmRestarts(c) => {
                check(c.t_0 >= 1, "t_0", || format!("{}: must be >= 1", c.t_0))?;
                check(c.t_mult >= 1, "t_mult", || {
                    format!("{}: must be >= 1", c.t_mult)
                })?;
                check_rate("eta_min", c.eta_min)
            }
        }
    }
}

/// Where a scheduler is, for resuming (serde; `type` names the scheduler as in its config).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SchedulerState {
    /// `ReduceLROnPlateau`'s `lr`, `last_epoch`, `best`, `num_bad_epochs`, `cooldown_counter`.
    ReduceOnPlateau {
        /// The current rate.
        lr: f64,
        /// Steps taken.
        last_epoch: u64,
        /// Best score so far; `None` before the first step (PyTorch's `mode_worse`, ±inf).
        best: Option<f64>,
        /// Consecutive epochs without improvement.
        num_bad_epochs: u32,
        /// Epochs of cooldown left.
        cooldown_counter: u32,
    },
    /// `CosineAnnealingLR`'s `base_lr`, `lr`, `last_epoch`.
    Cosine {
        /// The initial rate `lr0`.
        base_lr: f64,
        /// The current rate.
        lr: f64,
        /// Steps taken.
        last_epoch: u64,
    },
    /// `CosineAnnealingWarmRestarts`' `base_lr`, `lr`, `last_epoch`, `T_cur`, `T_i`.
    CosineWarmRestarts {
        /// The initial rate `lr0`.
        base_lr: f64,
        /// The current rate.
        lr: f64,
        /// Steps taken.
        last_epoch: u64,
        /// Epochs since the last restart.
        t_cur: u64,
        /// The current period.
        t_i: u64,
    },
}

/// A running scheduler: [`LrScheduler::lr`] is the rate for the coming epoch; call
/// [`LrScheduler::step`] once after each validation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrScheduler {
    config: SchedulerConfig,
    state: SchedulerState,
}

/// `eta_min + (base - eta_min)·(1 + cos(π·num/den))/2`, in PyTorch's operation order.
fn cosine(base: f64, eta_min: f64, num: u64, den: u64) -> f64 {
    eta_min + (base - eta_min) * (1.0 + (PI * num as f64 / den as f64).cos()) / 2.0
}

impl LrScheduler {
    /// A scheduler for an optimizer whose rate is `base_lr`, as PyTorch's constructor leaves it
    /// (`lr()` is `base_lr`, or the warm-restart formula at `T_cur = 0`).
    pub fn new(config: SchedulerConfig, base_lr: f64) -> Result<Self, InvalidKey> {
        config.validate()?;
        check_rate("lr", base_lr)?;
        let state = match config {
            SchedulerConfig::ReduceOnPlateau(_) => SchedulerState::ReduceOnPlateau {
                lr: base_lr,
                last_epoch: 0,
                best: None,
                num_bad_epochs: 0,
                cooldown_counter: 0,
            },
            SchedulerConfig::Cosine(_) => SchedulerState::Cosine {
                base_lr,
                lr: base_lr,
                last_epoch: 0,
            },
            SchedulerConfig::CosineWarmRestarts(c) => SchedulerState::CosineWarmRestarts {
                base_lr,
                lr: cosine(base_lr, c.eta_min, 0, u64::from(c.t_0)),
                last_epoch: 0,
                t_cur: 0,
                t_i: u64::from(c.t_0),
            },
        };
        Ok(LrScheduler { config, state })
    }

    /// Resumes from a saved state; the state must be of the config's type and consistent with
    /// it (a warm-restart period `T_0·T_mult^k` with `T_cur < T_i`, finite rates).
    pub fn from_state(config: SchedulerConfig, state: SchedulerState) -> Result<Self, InvalidKey> {
        config.validate()?;
        let consistent = match (&config, &state) {
            (
                SchedulerConfig::ReduceOnPlateau(_),
                SchedulerState::ReduceOnPlateau { lr, best, .. },
            ) => {
                check_rate("state.lr", *lr)?;
                best.is_none_or(f64::is_finite)
            }
            (SchedulerConfig::Cosine(_), SchedulerState::Cosine { base_lr, lr, .. }) => {
                check_rate("state.base_lr", *base_lr)?;
                lr.is_finite()
            }
            (
                SchedulerConfig::CosineWarmRestarts(c),
                SchedulerState::CosineWarmRestarts {
                    base_lr,
                    lr,
                    t_cur,
                    t_i,
                    ..
                },
            ) => {
                check_rate("state.base_lr", *base_lr)?;
                let mut period = u64::from(c.t_0);
                while period < *t_i && c.t_mult > 1 {
                    period = period.saturating_mul(u64::from(c.t_mult));
                }
                lr.is_finite() && period == *t_i && t_cur < t_i
            }
            _ => {
                return Err(InvalidKey::new(
                    "type",
                    "the saved scheduler state is of another type than the config",
                ))
            }
        };
        check(consistent, "state", || {
            format!("{state:?} is not a state of {config:?}")
        })?;
        Ok(LrScheduler { config, state })
    }

    /// The config.
    pub fn config(&self) -> &SchedulerConfig {
        &self.config
    }

    /// The state, for saving.
    pub fn state(&self) -> &SchedulerState {
        &self.state
    }

    /// The learning rate for the coming epoch.
    pub fn lr(&self) -> f64 {
        match self.state {
            SchedulerState::ReduceOnPlateau { lr, .. }
            | SchedulerState::Cosine { lr, .. }
            | SchedulerState::CosineWarmRestarts { lr, .. } => lr,
        }
    }

    /// Steps taken.
    pub fn epoch(&self) -> u64 {
        match self.state {
            SchedulerState::ReduceOnPlateau { last_epoch, .. }
            | SchedulerState::Cosine { last_epoch, .. }
            | SchedulerState::CosineWarmRestarts { last_epoch, .. } => last_epoch,
        }
    }

    /// Ends an epoch: `score` is its validation score (only `reduce_on_plateau` reads it; NaN
    /// counts as no improvement, as in PyTorch). Returns the rate for the next epoch.
    pub fn step(&mut self, score: f64) -> f64 {
        match (&self.config, &mut self.state) {
            (SchedulerConfig::ReduceOnPlateau(c), state) => plateau_step(c, state, score),
            (
                SchedulerConfig::Cosine(c),
                SchedulerState::Cosine {
                    base_lr,
                    lr,
                    last_epoch,
                },
            ) => {
                *last_epoch += 1;
                let period = u64::from(c.t_max);
                *lr = cosine(*base_lr, c.eta_min, *last_epoch, period);
            }
            (
                SchedulerConfig::CosineWarmRestarts(c),
                SchedulerState::CosineWarmRestarts {
                    base_lr,
                    lr,
                    last_epoch,
                    t_cur,
                    t_i,
                },
            ) => {
                *last_epoch += 1;
                *t_cur += 1;
                if *t_cur >= *t_i {
                    *t_cur %= *t_i;
                    *t_i = t_i.saturating_mul(u64::from(c.t_mult));
                }
                *lr = cosine(*base_lr, c.eta_min, *t_cur, *t_i);
            }
            // new() and from_state() pair every config with its own state type.
            _ => unreachable!("scheduler state of another type than its config"),
        }
        self.lr()
    }
}

/// `ReduceLROnPlateau.step(score)`.
fn plateau_step(c: &PlateauConfig, state: &mut SchedulerState, current: f64) {
    let SchedulerState::ReduceOnPlateau {
        lr,
        last_epoch,
        best,
        num_bad_epochs,
        cooldown_counter,
    } = state
    else {
        unreachable!("plateau config with another state");
    };
    *last_epoch += 1;
    if is_better(c, current, *best) {
        *best = Some(current);
        *num_bad_epochs = 0;
    } else {
        *num_bad_epochs += 1;
    }
    if *cooldown_counter > 0 {
        *cooldown_counter -= 1;
        *num_bad_epochs = 0;
    }
    if *num_bad_epochs > c.patience {
        let new_lr = f64::max(*lr * c.factor, c.min_lr);
        if *lr - new_lr > c.eps {
            *lr = new_lr;
        }
        *cooldown_counter = c.cooldown;
        *num_bad_epochs = 0;
    }
}

/// `ReduceLROnPlateau._is_better(a, best)`; `best = None` is `mode_worse` (±inf).
fn is_better(c: &PlateauConfig, a: f64, best: Option<f64>) -> bool {
    let best = best.unwrap_or(match c.mode {
        PlateauMode::Min => f64::INFINITY,
        PlateauMode::Max => f64::NEG_INFINITY,
    });
    match (c.mode, c.threshold_mode) {
        (PlateauMode::Min, ThresholdMode::Rel) => a < best * (1.0 - c.threshold),
        (PlateauMode::Min, ThresholdMode::Abs) => a < best - c.threshold,
        (PlateauMode::Max, ThresholdMode::Rel) => a > best * (c.threshold + 1.0),
        (PlateauMode::Max, ThresholdMode::Abs) => a > best + c.threshold,
    }
}

#[cfg(test)]
mod tests;
