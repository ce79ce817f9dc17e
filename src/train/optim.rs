//! [`Adam`] exactly as `torch.optim.Adam(params, lr, weight_decay=wd)` steps on CPU in PyTorch 2.13
//! (`_single_tensor_adam`: coupled L2 decay, not AdamW), with explicit per-parameter state that
//! saves to and loads from safetensors; and [`clip_grad_norm`] exactly as
//! `torch.nn.utils.clip_grad_norm_(params, max_norm)`.
//!
//! Per parameter with a gradient (parameters that do not require grad, e.g. a frozen encoder,
//! and parameters without a gradient are skipped and get no state, as in PyTorch):
//!
//! ```text
//! step += 1                                   (a float32 counter, as PyTorch's state["step"])
//! grad = grad + wd·param                      (grad.add(param, alpha=wd); only if wd != 0)
//! exp_avg.lerp_(grad, 1 - beta1)
//! exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
//! bc1 = 1 - beta1^step;  bc2 = 1 - beta2^step             (float64, libm pow)
//! denom = (exp_avg_sq.sqrt() / bc2^0.5).add_(eps)
//! param.addcdiv_(exp_avg, denom, value=-lr/bc1)
//! ```
//!
//! tch exposes neither `add`'s `alpha` nor `addcmul_`/`addcdiv_`'s `value`, so three ops are
//! spelled differently with the same kernels and the same roundings: `grad.add(param, alpha=wd)`
//! is `grad.addcmul(param, wd)` (a 0-dim `wd`; both fuse the multiply-add on AVX2/AVX-512 and
//! neither does on the baseline kernels), `addcmul_(g, g, value=v)` is `addcmul_(v·g, g)` and
//! `addcdiv_(m, d, value=s)` is `addcdiv_(s·m, d)` (the kernels compute `self + (value·t1)·t2`
//! and `self + (value·t1)/t2`). `tests/train_parity.rs` checks five steps of a small network
//! against PyTorch bit for bit.
//!
//! **Gradient accumulation** is the caller's loop, as in the solution's `Learning.batch_train`
//! (the loss is not divided by the number of micro-batches):
//!
//! ```text
//! for (i, (x, t)) in batches.enumerate() {
//!     loss.forward(&net.forward_t(&x, true)?, &t)?.total.backward();
//!     if i % accumulate == accumulate - 1 {
//!         clip_grad_norm(adam.params().iter().map(|(_, p)| p), max_norm)?;
//!         adam.step()?;
//!         adam.zero_grad();
//!     }
//! }
//! ```
//!
//! [`Adam::zero_grad`] zeroes gradients in place (tch cannot reset a gradient to `None` as
//! PyTorch's `zero_grad(set_to_none=True)` does); the values are the same whenever every trainable
//! parameter gets a gradient in each backward, which holds for the solution's networks (AlbuNet's
//! unused `encoder.fc` never gets one, so it stays without a gradient and without state).
use crate::model::{read_state_dict, write_safetensors_atomic};
use crate::train::error::{InvalidKey, TrainError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use tch::{nn::VarStore, Kind, Tensor};

fn default_lr() -> f64 {
    1e-3
}
fn default_betas() -> [f64; 2] {
    [0.9, 0.999]
}
fn default_eps() -> f64 {
    1e-8
}

/// Adam's hyper-parameters, PyTorch's names and defaults (TOML: `lr = 1e-4`,
/// `weight_decay = 5e-6`, optional `betas = [0.9, 0.999]`, `eps = 1e-8`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamConfig {
    /// Learning rate (PyTorch's default 1e-3; a scheduler changes it with [`Adam::set_lr`]).
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// `(beta1, beta2)`, default `(0.9, 0.999)`.
    #[serde(default = "default_betas")]
    pub betas: [f64; 2],
    /// Term added to the denominator, default 1e-8.
    #[serde(default = "default_eps")]
    pub eps: f64,
    /// Coupled L2 penalty added to the gradient (not AdamW's decoupled decay), default 0.
    #[serde(default)]
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: default_lr(),
            betas: default_betas(),
            eps: default_eps(),
            weight_decay: 0.0,
        }
    }
}

impl AdamConfig {
    /// PyTorch's checks (`0 <= lr`, `0 <= eps`, `0 <= beta < 1`, `0 <= weight_decay`), plus
    /// finiteness, naming the first bad key.
    pub fn validate(&self) -> Result<(), InvalidKey> {
        let non_negative = [
            ("lr", self.lr),
            ("eps", self.eps),
            ("weight_decay", self.weight_decay),
        ];
        for (key, v) in non_negative {
            if !v.is_finite() || v < 0.0 {
                return Err(InvalidKey::new(
                    key,
                    format!("{v}: must be finite and >= 0"),
                ));
            }
        }
        for (i, beta) in self.betas.iter().enumerate() {
            if !(0.0..1.0).contains(beta) {
                return Err(InvalidKey::new(
                    format!("betas[{i}]"),
                    format!("{beta}: must be in [0, 1)"),
                ));
            }
        }
        Ok(())
    }
}

/// One parameter's Adam state, as PyTorch's `optimizer.state[p]`.
#[derive(Debug)]
pub struct ParamState {
    /// Steps taken with this parameter (a float32 counter like PyTorch's; exact to 2^24).
    pub step: f32,
    /// First-moment running average.
    pub exp_avg: Tensor,
    /// Second-moment running average.
    pub exp_avg_sq: Tensor,
}

const STEP: &str = "step";
const EXP_AVG: &str = "exp_avg";
const EXP_AVG_SQ: &str = "exp_avg_sq";

/// `torch.optim.Adam` over named parameters (see the module docs).
#[derive(Debug)]
pub struct Adam {
    config: AdamConfig,
    params: Vec<(String, Tensor)>,
    states: Vec<Option<ParamState>>,
    /// Two flat buffers of the largest parameter's size, kind and device, in which each step
    /// computes its temporaries instead of allocating (and page-faulting) fresh tensors.
    scratch: Option<[Tensor; 2]>,
}

/// Whether a scratch buffer can hold the temporaries of `param`: the same kind and device,
/// and at least as many elements.
fn scratch_fits(scratch: &Tensor, param: &Tensor) -> bool {
    scratch.kind() == param.kind()
        && scratch.device() == param.device()
        && scratch.numel() >= param.numel()
}

impl Adam {
    /// An optimizer over `params` (names must be unique; their order is kept and is the order
    /// [`Adam::params`] hands to [`clip_grad_norm`]) with no state.
    pub fn new(params: Vec<(String, Tensor)>, config: AdamConfig) -> Result<Self, TrainError> {
        config.validate()?;
        let mut seen = HashSet::new();
        for (name, _) in &params {
            if !seen.insert(name.as_str()) {
                return Err(TrainError::DuplicateParameter { name: name.clone() });
            }
        }
        let states = params.iter().map(|_| None).collect();
        Ok(Adam {
            config,
            params,
            states,
            scratch: None,
        })
    }

    /// The hyper-parameters (with the current learning rate).
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// The current learning rate.
    pub fn lr(&self) -> f64 {
        self.config.lr
    }

    /// Sets the learning rate (what a scheduler writes into `param_groups[0]["lr"]`).
    pub fn set_lr(&mut self, lr: f64) -> Result<(), TrainError> {
        AdamConfig { lr, ..self.config }.validate()?;
        self.config.lr = lr;
        Ok(())
    }

    /// The parameters, in the order given.
    pub fn params(&self) -> &[(String, Tensor)] {
        &self.params
    }

    /// The state of parameter `name`, if it has taken a step.
    pub fn state(&self, name: &str) -> Option<&ParamState> {
        let i = self.params.iter().position(|(n, _)| n == name)?;
        self.states[i].as_ref()
    }

    /// Forgets every parameter's state (a fresh optimizer, as each training part creates).
    pub fn reset(&mut self) {
        self.states.iter_mut().for_each(|s| *s = None);
    }

    /// Zeroes every defined gradient in place (see the module docs for `set_to_none`).
    pub fn zero_grad(&mut self) {
        for (_, p) in &self.params {
            p.shallow_clone().zero_grad();
        }
    }

    /// One Adam step over every parameter that requires grad and has a gradient.
    pub fn step(&mut self) -> Result<(), TrainError> {
        let AdamConfig {
            lr,
            betas: [beta1, beta2],
            eps,
            weight_decay,
        } = self.config;
        tch::no_grad(|| {
            self.ensure_scratch()?;
            for ((_, param), slot) in self.params.iter().zip(self.states.iter_mut()) {
                if !param.requires_grad() {
                    continue;
                }
                let mut grad = param.grad();
                if !grad.defined() {
                    continue;
                }
                let state = match slot {
                    Some(state) => state,
                    None => slot.insert(ParamState {
                        step: 0.0,
                        exp_avg: param.f_zeros_like()?,
                        exp_avg_sq: param.f_zeros_like()?,
                    }),
                };
                state.step += 1.0;
                let scalar = |v: f64| Tensor::f_scalar_tensor(v, (param.kind(), param.device()));
                // Temporaries live in the scratch buffers (views of a parameter's shape) when
                // they fit; a parameter of another kind or device gets fresh ones.
                let [s1, s2] = match &self.scratch {
                    Some([a, b]) if scratch_fits(a, param) => {
                        let n = param.numel() as i64;
                        let view =
                            |t: &Tensor| t.f_narrow(0, 0, n)?.f_view(param.size().as_slice());
                        [view(a)?, view(b)?]
                    }
                    _ => [param.f_empty_like()?, param.f_empty_like()?],
                };
                // PyTorch's single-tensor Adam, op for op (the same roundings):
                // grad = grad.add(param, alpha=wd), here in place: the gradient is zeroed after
                // the step and nothing reads it in between.
                if weight_decay != 0.0 {
                    let _ = grad.f_addcmul_(param, &scalar(weight_decay)?)?;
                }
                let _ = state.exp_avg.f_lerp_(&grad, 1.0 - beta1)?;
                // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2): the kernel
                // computes (value * grad) * grad.
                let _ = grad.f_mul_out(&s1, &scalar(1.0 - beta2)?)?;
                let _ = state
                    .exp_avg_sq
                    .f_mul_scalar_(beta2)?
                    .f_addcmul_(&s1, &grad)?;
                let step = f64::from(state.step);
                let bias_correction1 = 1.0 - beta1.powf(step);
                let bias_correction2 = 1.0 - beta2.powf(step);
                let step_size = lr / bias_correction1;
                // Python's `bc2 ** 0.5` is libm pow; a literal 0.5 would let LLVM use sqrt.
                let bias_correction2_sqrt = bias_correction2.powf(std::hint::black_box(0.5));
                // denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
                let mut denom = state.exp_avg_sq.f_sqrt_out(&s2)?;
                let _ = denom.f_div_scalar_(bias_correction2_sqrt)?;
                let _ = denom.f_add_scalar_(eps)?;
                // param.addcdiv_(exp_avg, denom, value=-step_size): (value * exp_avg) / denom.
                let update = state.exp_avg.f_mul_out(&s1, &scalar(-step_size)?)?;
                let _ = param.shallow_clone().f_addcdiv_(&update, &denom)?;
            }
            Ok(())
        })
    }

    /// Allocates the scratch buffers when there are none or they are too small for the
    /// largest parameter that requires grad (kind and device of that parameter).
    fn ensure_scratch(&mut self) -> Result<(), TrainError> {
        let Some(largest) = (self.params.iter().map(|(_, p)| p))
            .filter(|p| p.requires_grad())
            .max_by_key(|p| p.numel())
        else {
            return Ok(());
        };
        if !(self.scratch.as_ref()).is_some_and(|[a, _]| scratch_fits(a, largest)) {
            let n = [largest.numel() as i64];
            let options = (largest.kind(), largest.device());
            self.scratch = Some([Tensor::f_empty(n, options)?, Tensor::f_empty(n, options)?]);
        }
        Ok(())
    }

    /// The state as named tensors: `<param>.step` (0-dim f32), `<param>.exp_avg`,
    /// `<param>.exp_avg_sq`, for parameters that have state, in parameter order.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for ((name, _), state) in self.params.iter().zip(&self.states) {
            if let Some(s) = state {
                out.push((format!("{name}.{STEP}"), Tensor::from(s.step)));
                out.push((format!("{name}.{EXP_AVG}"), s.exp_avg.shallow_clone()));
                out.push((format!("{name}.{EXP_AVG_SQ}"), s.exp_avg_sq.shallow_clone()));
            }
        }
        out
    }

    /// Replaces the whole state with `tensors` (as [`Adam::state_tensors`] produced; parameters
    /// absent from them start fresh). Every key must name a parameter and one of its three
    /// entries, shapes and dtypes must match, and each parameter needs all three entries;
    /// nothing changes on error.
    pub fn load_state_tensors(&mut self, tensors: Vec<(String, Tensor)>) -> Result<(), TrainError> {
        let index: BTreeMap<&str, usize> = self
            .params
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.as_str(), i))
            .collect();
        let mut parts: BTreeMap<usize, [Option<Tensor>; 3]> = BTreeMap::new();
        for (key, tensor) in tensors {
            let bad = |problem: String| TrainError::State {
                key: key.clone(),
                problem,
            };
            let (name, field) = [(EXP_AVG_SQ, 2), (EXP_AVG, 1), (STEP, 0)]
                .iter()
                .find_map(|&(suffix, field)| {
                    let name = key.strip_suffix(suffix)?.strip_suffix('.')?;
                    Some((name, field))
                })
                .ok_or_else(|| bad("not <parameter>.step, .exp_avg or .exp_avg_sq".into()))?;
            let &i = index
                .get(name)
                .ok_or_else(|| bad(format!("the optimizer has no parameter {name}")))?;
            let param = &self.params[i].1;
            if field == 0 {
                if !tensor.size().is_empty() || tensor.kind() != Kind::Float {
                    return Err(bad(format!(
                        "must be a 0-dim float32 tensor, got {:?} {:?}",
                        tensor.kind(),
                        tensor.size()
                    )));
                }
            } else if tensor.size() != param.size() || tensor.kind() != param.kind() {
                return Err(bad(format!(
                    "{:?} {:?} does not fit the parameter's {:?} {:?}",
                    tensor.kind(),
                    tensor.size(),
                    param.kind(),
                    param.size()
                )));
            }
            let slot = &mut parts.entry(i).or_default()[field];
            if slot.is_some() {
                return Err(bad("given twice".into()));
            }
            *slot = Some(tensor);
        }
        let mut states: Vec<Option<ParamState>> = self.params.iter().map(|_| None).collect();
        for (i, [step, exp_avg, exp_avg_sq]) in parts {
            let name = &self.params[i].0;
            let device = self.params[i].1.device();
            let missing = |field: &str| TrainError::State {
                key: format!("{name}.{field}"),
                problem: "missing (each parameter needs step, exp_avg and exp_avg_sq)".into(),
            };
            let step = step.ok_or_else(|| missing(STEP))?.f_double_value(&[])?;
            if !(step >= 0.0 && step.fract() == 0.0) {
                return Err(TrainError::State {
                    key: format!("{name}.{STEP}"),
                    problem: format!("{step}: must be a whole number >= 0"),
                });
            }
            let exp_avg = exp_avg.ok_or_else(|| missing(EXP_AVG))?;
            let exp_avg_sq = exp_avg_sq.ok_or_else(|| missing(EXP_AVG_SQ))?;
            states[i] = Some(ParamState {
                step: step as f32,
                exp_avg: exp_avg.f_to_device(device)?.f_contiguous()?,
                exp_avg_sq: exp_avg_sq.f_to_device(device)?.f_contiguous()?,
            });
        }
        self.states = states;
        Ok(())
    }

    /// Writes [`Adam::state_tensors`] to a safetensors file atomically.
    pub fn save_state(&self, path: &Path) -> Result<(), TrainError> {
        write_safetensors_atomic(path, &self.state_tensors())
            .map_err(|e| TrainError::StateFile(Box::new(e)))
    }

    /// Reads a file written by [`Adam::save_state`] and loads it with
    /// [`Adam::load_state_tensors`].
    pub fn load_state(&mut self, path: &Path) -> Result<(), TrainError> {
        let tensors = read_state_dict(path).map_err(|e| TrainError::StateFile(Box::new(e)))?;
        self.load_state_tensors(tensors)
    }
}

/// `torch.nn.utils.clip_grad_norm_(params, max_norm)` (norm type 2) as in PyTorch 2.13: the
/// 2-norm of each gradient, the 2-norm of those norms (stacked in the order given, which decides
/// the last rounding: pass PyTorch's `model.parameters()` order for a bit-exact total),
/// `coef = min(max_norm · 1/(total + 1e-6), 1)` (PyTorch evaluates `max_norm / tensor` as
/// `tensor.reciprocal() * max_norm`, not as a division) and every gradient multiplied by `coef`
/// in place. Parameters that do not require grad or have no gradient are skipped. Returns the total norm before clipping (0 when there is
/// no gradient). All gradients must share one device and dtype.
pub fn clip_grad_norm<'a>(
    params: impl IntoIterator<Item = &'a Tensor>,
    max_norm: f64,
) -> Result<f64, TrainError> {
    if !(max_norm.is_finite() && max_norm > 0.0) {
        let problem = format!("{max_norm}: must be finite and > 0");
        return Err(InvalidKey::new("max_norm", problem).into());
    }
    let grads: Vec<Tensor> = params
        .into_iter()
        .filter(|p| p.requires_grad())
        .map(Tensor::grad)
        .filter(Tensor::defined)
        .collect();
    if grads.is_empty() {
        return Ok(0.0);
    }
    tch::no_grad(|| {
        let norms = grads
            .iter()
            .map(Tensor::f_norm)
            .collect::<Result<Vec<_>, _>>()?;
        let total = Tensor::f_stack(&norms, 0)?.f_norm()?;
        let coef = total
            .f_add_scalar(1e-6)?
            .f_reciprocal()?
            .f_mul_scalar(max_norm)?
            .f_clamp_max(1.0)?;
        for g in &grads {
            let _ = g.shallow_clone().f_mul_(&coef)?;
        }
        Ok(total.f_double_value(&[])?)
    })
}

/// The trainable variables of a var store (frozen ones included, buffers such as BatchNorm
/// running statistics excluded) with their names, sorted by name. PyTorch iterates parameters in
/// registration order; sort them that way instead where the clip norm must be bit-exact.
pub fn var_store_parameters(vs: &VarStore) -> Vec<(String, Tensor)> {
    let trainable: HashSet<usize> = vs
        .trainable_variables()
        .iter()
        .map(|t| t.data_ptr() as usize)
        .collect();
    let mut named: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .filter(|(_, t)| trainable.contains(&(t.data_ptr() as usize)))
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named
}

#[cfg(test)]
mod tests;
