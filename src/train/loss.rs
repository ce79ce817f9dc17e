//! [`ComboLoss`]: the solution's training loss, `w_bce·BCE + w_dice·Dice + w_focal·Focal` on logits
//! `[B, 1, H, W]` and float targets in {0, 1}, floored at 1e-5, with the reference's op sequence so
//! that values and gradients equal PyTorch 2.13's bit for bit on the same CPU.
//!
//! - BCE (the solution's `StableBCELoss`, on logits, mean over every pixel of the batch):
//!   `mean(clamp(x, min=0) - x·t + log(1 + exp(-|x|)))` (`log` of `1 + exp`, not `log1p`).
//! - Dice (soft, on `sigmoid(x)`, one score for the whole batch, not per image):
//!   `1 - (2·Σp·t + eps) / (Σp + Σt + eps)`, eps 1e-5 (the competition-time value; 1e-6 after
//!   Dec 2019).
//! - Focal (γ = 2, no α, on `sigmoid(x)`): `p_c = clamp(p, 1e-8, 1-1e-8)`, `t_c = clamp(t, 1e-8,
//!   1-1e-8)`, `pt = (1-t_c)(1-p_c) + t_c·p_c`, `mean(-(1-pt)²·log(pt))`. In float32 `1 - 1e-8`
//!   rounds to 1, so `p_c` can be exactly 1.
//!
//! Terms are added in the order bce, dice, focal; a term whose weight is 0 is not computed. The
//! total is clamped to at least 1e-5 (below it, the gradient is 0). The solution's per-channel
//! loop (channel weight 1), `0 +` accumulation and ignore-index mask do not change a bit of the
//! value or the gradient: `tests/fixtures/train/gen_train_fixtures.py` checks it against PyTorch.
//!
//! The ops are created in the reference's order on purpose: autograd sums the gradients reaching
//! a tensor (the flattened logits feed three BCE ops) in the order its consumers run, which follows
//! their creation order, and a different order changes gradients in the last bit.
use crate::train::error::{InvalidKey, TrainError};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// The total is clamped to at least this (the solution's `loss.clamp(min=1e-5)`).
pub const LOSS_FLOOR: f64 = 1e-5;
/// Focal's clamp of probabilities and targets (`eps = 1e-8`).
pub const FOCAL_EPS: f64 = 1e-8;
/// Dice's smoothing term during the competition (`soft_dice_loss`'s `eps = 1e-5`).
pub const DICE_EPS: f64 = 1e-5;

fn default_dice_eps() -> f64 {
    DICE_EPS
}

/// The loss's weights and Dice eps (TOML: `bce = 3`, `dice = 1`, `focal = 4`, `dice_eps = 1e-5`).
/// A weight left out is 0 (that term is not computed); [`Default`] is the solution's
/// `{bce: 3, dice: 1, focal: 4}` with eps 1e-5.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComboLossConfig {
    /// Weight of the BCE term.
    #[serde(default)]
    pub bce: f64,
    /// Weight of the soft Dice term.
    #[serde(default)]
    pub dice: f64,
    /// Weight of the focal term.
    #[serde(default)]
    pub focal: f64,
    /// Dice's smoothing term (default 1e-5).
    #[serde(default = "default_dice_eps")]
    pub dice_eps: f64,
}

impl Default for ComboLossConfig {
    fn default() -> Self {
        ComboLossConfig {
            bce: 3.0,
            dice: 1.0,
            focal: 4.0,
            dice_eps: DICE_EPS,
        }
    }
}

impl ComboLossConfig {
    /// Checks every value, naming the first bad key.
    pub fn validate(&self) -> Result<(), InvalidKey> {
        for (key, w) in [
            ("bce", self.bce),
            ("dice", self.dice),
            ("focal", self.focal),
        ] {
            if !w.is_finite() || w < 0.0 {
                return Err(InvalidKey::new(
                    key,
                    format!("{w}: a weight must be finite and >= 0"),
                ));
            }
        }
        if self.bce == 0.0 && self.dice == 0.0 && self.focal == 0.0 {
            return Err(InvalidKey::new(
                "bce",
                "bce, dice and focal are all 0: at least one weight must be positive",
            ));
        }
        if !self.dice_eps.is_finite() || self.dice_eps <= 0.0 {
            return Err(InvalidKey::new(
                "dice_eps",
                format!("{}: must be finite and > 0", self.dice_eps),
            ));
        }
        Ok(())
    }
}

/// The solution's `ComboLoss` (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ComboLoss {
    config: ComboLossConfig,
}

/// A forward pass of [`ComboLoss`]: the total (backpropagate this) and the terms that were
/// computed (unweighted; `None` where the weight is 0), all 0-dim tensors of the logits' dtype.
#[derive(Debug)]
pub struct LossOutput {
    /// `max(w_bce·bce + w_dice·dice + w_focal·focal, 1e-5)`.
    pub total: Tensor,
    /// The BCE term.
    pub bce: Option<Tensor>,
    /// The soft Dice term.
    pub dice: Option<Tensor>,
    /// The focal term.
    pub focal: Option<Tensor>,
}

/// [`LossOutput`] as numbers, for metrics and logs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossValues {
    /// The total.
    pub total: f64,
    /// The BCE term, if computed.
    pub bce: Option<f64>,
    /// The soft Dice term, if computed.
    pub dice: Option<f64>,
    /// The focal term, if computed.
    pub focal: Option<f64>,
}

impl LossOutput {
    /// The values as `f64` (detached; one device-to-host copy each).
    pub fn values(&self) -> Result<LossValues, TrainError> {
        let value = |t: &Tensor| t.f_double_value(&[]);
        let opt = |t: &Option<Tensor>| t.as_ref().map(value).transpose();
        Ok(LossValues {
            total: value(&self.total)?,
            bce: opt(&self.bce)?,
            dice: opt(&self.dice)?,
            focal: opt(&self.focal)?,
        })
    }
}

impl ComboLoss {
    /// A loss with checked weights.
    pub fn new(config: ComboLossConfig) -> Result<Self, TrainError> {
        config.validate()?;
        Ok(ComboLoss { config })
    }

    /// The weights and eps.
    pub fn config(&self) -> &ComboLossConfig {
        &self.config
    }

    /// The loss of `logits` against `targets` (both `[B, 1, H, W]`, one floating-point dtype;
    /// targets in {0, 1}, which is not checked). Builds the autograd graph in the reference's op
    /// order: sigmoid, then the BCE, Dice and focal terms, then their weighted sum and the floor.
    pub fn forward(&self, logits: &Tensor, targets: &Tensor) -> Result<LossOutput, TrainError> {
        check_inputs(logits, targets)?;
        let c = &self.config;
        let sig = if c.dice != 0.0 || c.focal != 0.0 {
            Some(logits.f_sigmoid()?)
        } else {
            None
        };
        let mut total: Option<Tensor> = None;
        let (mut bce, mut dice, mut focal) = (None, None, None);
        if c.bce != 0.0 {
            let term = stable_bce(logits, targets)?;
            total = Some(term.f_mul_scalar(c.bce)?);
            bce = Some(term);
        }
        if let Some(sig) = sig.as_ref().filter(|_| c.dice != 0.0) {
            let term = soft_dice(sig, targets, c.dice_eps)?;
            total = Some(accumulate(total, term.f_mul_scalar(c.dice)?)?);
            dice = Some(term);
        }
        if let Some(sig) = sig.as_ref().filter(|_| c.focal != 0.0) {
            let term = focal_term(sig, targets)?;
            total = Some(accumulate(total, term.f_mul_scalar(c.focal)?)?);
            focal = Some(term);
        }
        // validate() guarantees a positive weight, so a term exists.
        let total = total.ok_or_else(|| InvalidKey::new("bce", "all weights are 0"))?;
        Ok(LossOutput {
            total: total.f_clamp_min(LOSS_FLOOR)?,
            bce,
            dice,
            focal,
        })
    }
}

fn check_inputs(logits: &Tensor, targets: &Tensor) -> Result<(), TrainError> {
    let (ls, ts) = (logits.size(), targets.size());
    if ls.len() != 4 || ls[1] != 1 || ls != ts || ls.contains(&0) {
        return Err(TrainError::LossShape {
            logits: ls,
            targets: ts,
        });
    }
    let (lk, tk) = (logits.kind(), targets.kind());
    let float = matches!(lk, Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16);
    if !float || lk != tk {
        return Err(TrainError::LossKind {
            logits: lk,
            targets: tk,
        });
    }
    Ok(())
}

fn accumulate(total: Option<Tensor>, term: Tensor) -> Result<Tensor, TrainError> {
    Ok(match total {
        Some(total) => total.f_add(&term)?,
        None => term,
    })
}

/// `mean(clamp(x, min=0) - x·t + log(1 + exp(-|x|)))`, in StableBCELoss's evaluation order.
fn stable_bce(logits: &Tensor, targets: &Tensor) -> Result<Tensor, TrainError> {
    let x = logits.f_view([-1])?;
    let t = targets.f_view([-1])?;
    let neg_abs = x.f_abs()?.f_neg()?;
    let relu = x.f_clamp_min(0.0)?;
    let xt = x.f_mul(&t)?;
    let diff = relu.f_sub(&xt)?;
    let softplus = neg_abs.f_exp()?.f_add_scalar(1.0)?.f_log()?;
    Ok(diff.f_add(&softplus)?.f_mean(None::<Kind>)?)
}

/// `1 - (2·Σp·t + eps) / (Σp + Σt + eps)` over the whole batch (`per_image=False`).
fn soft_dice(sig: &Tensor, targets: &Tensor, eps: f64) -> Result<Tensor, TrainError> {
    let dim: &[i64] = &[1];
    let p = sig.f_view([1, -1])?;
    let t = targets.f_view([1, -1])?;
    let inter = p.f_mul(&t)?.f_sum_dim_intlist(dim, false, None::<Kind>)?;
    let union = p
        .f_sum_dim_intlist(dim, false, None::<Kind>)?
        .f_add(&t.f_sum_dim_intlist(dim, false, None::<Kind>)?)?
        .f_add_scalar(eps)?;
    let ratio = inter.f_mul_scalar(2.0)?.f_add_scalar(eps)?.f_div(&union)?;
    Ok(ratio.f_rsub_scalar(1.0)?.f_mean(None::<Kind>)?)
}

/// `mean(-(1-pt)²·log(pt))` with `pt = (1-t_c)(1-p_c) + t_c·p_c` (FocalLoss2d, γ = 2).
fn focal_term(sig: &Tensor, targets: &Tensor) -> Result<Tensor, TrainError> {
    let p = sig.f_view([-1])?.f_clamp(FOCAL_EPS, 1.0 - FOCAL_EPS)?;
    let t = targets.f_view([-1])?.f_clamp(FOCAL_EPS, 1.0 - FOCAL_EPS)?;
    let miss = t.f_rsub_scalar(1.0)?.f_mul(&p.f_rsub_scalar(1.0)?)?;
    let pt = miss.f_add(&t.f_mul(&p)?)?;
    let weight = pt.f_rsub_scalar(1.0)?.f_pow_tensor_scalar(2i64)?.f_neg()?;
    Ok(weight.f_mul(&pt.f_log()?)?.f_mean(None::<Kind>)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn f32s(values: &[f32], shape: [i64; 4]) -> Tensor {
        Tensor::from_slice(values).view(shape)
    }

    fn loss(bce: f64, dice: f64, focal: f64) -> ComboLoss {
        ComboLoss::new(ComboLossConfig {
            bce,
            dice,
            focal,
            dice_eps: DICE_EPS,
        })
        .expect("valid weights")
    }

    #[test]
    fn zero_logits_give_closed_form_terms() {
        // x = 0: BCE = log 2, p = 0.5, pt = 0.5 for every pixel.
        let x = Tensor::zeros([2, 1, 2, 2], (Kind::Float, Device::Cpu));
        let t = f32s(&[1., 0., 0., 1., 0., 0., 0., 1.], [2, 1, 2, 2]);
        let v = loss(3.0, 1.0, 4.0)
            .forward(&x, &t)
            .unwrap()
            .values()
            .unwrap();
        let bce = v.bce.unwrap();
        let dice = v.dice.unwrap();
        let focal = v.focal.unwrap();
        assert!((bce - std::f64::consts::LN_2).abs() < 1e-6, "{bce}");
        // inter = 0.5·3, union = 0.5·8 + 3 + eps
        let want_dice = 1.0 - (3.0 + DICE_EPS) / (7.0 + DICE_EPS);
        assert!((dice - want_dice).abs() < 1e-6, "{dice}");
        let want_focal = -(0.25f64) * 0.5f64.ln();
        assert!((focal - want_focal).abs() < 1e-6, "{focal}");
        let want = 3.0 * bce + dice + 4.0 * focal;
        assert!((v.total - want).abs() < 1e-5, "{} vs {want}", v.total);
    }

    #[test]
    fn zero_weights_skip_terms_and_the_floor_clamps() {
        let t = f32s(&[1., 0., 0., 1.], [1, 1, 2, 2]);
        let x = (&t * 60.0) - 30.0; // confident and right: BCE rounds to 0 in f32
        let x = x.set_requires_grad(true);
        let out = loss(1.0, 0.0, 0.0).forward(&x, &t).unwrap();
        assert!(out.dice.is_none() && out.focal.is_none());
        let v = out.values().unwrap();
        assert_eq!(v.bce, Some(0.0));
        assert_eq!(v.total, LOSS_FLOOR as f32 as f64);
        out.total.backward();
        assert_eq!(x.grad().abs().sum(Kind::Float).double_value(&[]), 0.0);
        let dice_only = loss(0.0, 2.0, 0.0).forward(&x, &t).unwrap();
        assert!(dice_only.bce.is_none() && dice_only.dice.is_some() && dice_only.focal.is_none());
    }

    #[test]
    fn bad_inputs_are_refused() {
        let l = loss(1.0, 1.0, 1.0);
        let x = Tensor::zeros([2, 1, 4, 4], (Kind::Float, Device::Cpu));
        let cases = [
            Tensor::zeros([2, 1, 4, 5], (Kind::Float, Device::Cpu)),
            Tensor::zeros([2, 4, 4], (Kind::Float, Device::Cpu)),
        ];
        for t in &cases {
            assert!(matches!(
                l.forward(&x, t),
                Err(TrainError::LossShape { .. })
            ));
        }
        let two_channels = Tensor::zeros([2, 2, 4, 4], (Kind::Float, Device::Cpu));
        let err = l.forward(&two_channels, &two_channels).unwrap_err();
        assert!(err.to_string().contains("[B, 1, H, W]"), "{err}");
        let bytes = Tensor::zeros([2, 1, 4, 4], (Kind::Uint8, Device::Cpu));
        assert!(matches!(
            l.forward(&x, &bytes),
            Err(TrainError::LossKind { .. })
        ));
    }

    #[test]
    fn config_errors_name_the_key() {
        let bad = |c: ComboLossConfig| c.validate().unwrap_err();
        let base = ComboLossConfig::default();
        assert_eq!(
            base,
            ComboLossConfig {
                bce: 3.0,
                dice: 1.0,
                focal: 4.0,
                dice_eps: 1e-5
            }
        );
        assert_eq!(
            bad(ComboLossConfig {
                focal: -1.0,
                ..base
            })
            .key,
            "focal"
        );
        assert_eq!(
            bad(ComboLossConfig {
                dice: f64::NAN,
                ..base
            })
            .key,
            "dice"
        );
        assert_eq!(
            bad(ComboLossConfig {
                dice_eps: 0.0,
                ..base
            })
            .key,
            "dice_eps"
        );
        let none = bad(ComboLossConfig {
            bce: 0.0,
            dice: 0.0,
            focal: 0.0,
            ..base
        });
        assert!(none.problem.contains("all 0"), "{none}");
        let parsed: ComboLossConfig = toml::from_str("bce = 3\nfocal = 4.0").unwrap();
        assert_eq!(parsed, ComboLossConfig { dice: 0.0, ..base });
        let unknown = toml::from_str::<ComboLossConfig>("bce = 1\njaccard = 1").unwrap_err();
        assert!(unknown.to_string().contains("jaccard"), "{unknown}");
    }
}
