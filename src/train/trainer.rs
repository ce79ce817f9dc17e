//! [`Trainer`]: the network, its loss and optimizer on one device, fed host batches: the
//! training step (forward, ComboLoss, backward, accumulation, clipping, Adam) and the
//! evaluation pass (probabilities and loss, no gradients).

use crate::data::{HostBatch, InputBatch};
use crate::model::precision::autocast;
use crate::model::Net;
use crate::train::config::{PartConfig, Precision, TrainConfig};
use crate::train::error::TrainError;
use crate::train::loss::{ComboLoss, LossValues};
use crate::train::optim::{clip_grad_norm, var_store_parameters, Adam, AdamConfig};
use tch::{Device, Kind, Tensor};

/// What one training batch gave.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchStats {
    /// The loss and its terms.
    pub loss: LossValues,
    /// The total gradient norm before clipping, when this batch completed an optimizer step.
    pub grad_norm: Option<f64>,
}

/// A network being trained.
pub struct Trainer {
    net: Net,
    device: Device,
    loss: ComboLoss,
    adam: Adam,
    clip: f64,
    accumulation: usize,
    precision: Precision,
    pending: usize,
}

/// `[N, 3, H, W]` float32 raw pixels (0..255; the gray value in all three channels) and
/// `[N, 1, H, W]` float32 targets in {0, 1} of a host batch, on `device`.
pub fn batch_tensors(batch: &HostBatch, device: Device) -> (Tensor, Tensor) {
    let (w, h) = batch.size();
    let n = batch.len() as i64;
    let (h, w) = (h as i64, w as i64);
    let images = Tensor::from_slice(batch.images())
        .view([n, 1, h, w])
        .to_device(device)
        .to_kind(Kind::Float)
        .expand([n, 3, h, w], false)
        .contiguous();
    let masks = Tensor::from_slice(batch.masks())
        .view([n, 1, h, w])
        .to_device(device)
        .to_kind(Kind::Float)
        / 255.0;
    (images, masks)
}

/// Calls `f` with the `[N, 3, H, W]` network input and `[N, 1, H, W]` targets of an
/// [`InputBatch`] on `device`. On the CPU the tensors borrow the batch's buffers (no copy); they
/// must not outlive `f` (nothing `f` returns may be a view of them).
pub fn with_input_tensors<R>(
    input: &InputBatch,
    device: Device,
    f: impl FnOnce(&Tensor, &Tensor) -> R,
) -> R {
    let (w, h) = input.host.size();
    let n = input.host.len() as i64;
    let (h, w) = (h as i64, w as i64);
    assert_eq!(input.images.len() as i64, n * 3 * h * w, "input size");
    assert_eq!(input.targets.len() as i64, n * h * w, "target size");
    let blob = |data: &[f32], c: i64| {
        let size = [n, c, h, w];
        let strides = [c * h * w, h * w, w, 1];
        // SAFETY: `data` holds exactly `n * c * h * w` f32 values laid out as `strides` say,
        // and it outlives the tensor: both tensors (and their device copies) are dropped at the
        // end of this function, before the borrow of `input` ends.
        let t = unsafe {
            Tensor::from_blob(
                data.as_ptr() as *const u8,
                &size,
                &strides,
                Kind::Float,
                Device::Cpu,
            )
        };
        t.to_device(device)
    };
    let x = blob(&input.images, 3);
    let t = blob(&input.targets, 1);
    let r = f(&x, &t);
    drop((x, t));
    r
}

impl Trainer {
    /// A trainer for `net` (already on `device`) starting `part` of `train`.
    pub fn new(
        net: Net,
        device: Device,
        train: &TrainConfig,
        part: &PartConfig,
    ) -> Result<Trainer, TrainError> {
        let adam = Adam::new(var_store_parameters(net.var_store()), adam_config(part))?;
        Ok(Trainer {
            loss: ComboLoss::new(part.loss)?,
            net,
            device,
            adam,
            clip: train.clip,
            accumulation: train.accumulation,
            precision: train.precision,
            pending: 0,
        })
    }

    /// The network.
    pub fn net(&self) -> &Net {
        &self.net
    }

    /// The network, mutably (to load weights).
    pub fn net_mut(&mut self) -> &mut Net {
        &mut self.net
    }

    /// The optimizer (its state goes into checkpoints).
    pub fn adam(&self) -> &Adam {
        &self.adam
    }

    /// The optimizer, mutably (to restore its state, or set the learning rate).
    pub fn adam_mut(&mut self) -> &mut Adam {
        &mut self.adam
    }

    /// Starts `part`: a fresh optimizer (zero moments) at the part's rate and decay, and the
    /// part's loss weights. Weights are left as they are (the caller loads the fold's best).
    pub fn start_part(&mut self, part: &PartConfig) -> Result<(), TrainError> {
        self.adam = Adam::new(
            var_store_parameters(self.net.var_store()),
            adam_config(part),
        )?;
        self.loss = ComboLoss::new(part.loss)?;
        self.pending = 0;
        Ok(())
    }

    /// Freezes (`true`) or unfreezes the encoder's parameters.
    pub fn freeze_encoder(&mut self, frozen: bool) {
        self.net.set_encoder_trainable(!frozen);
    }

    /// One training batch: forward in train mode, ComboLoss, backward; every `accumulation`
    /// batches, clip the total gradient norm and take an Adam step. A non-finite loss is an
    /// error and leaves the weights untouched (no step).
    pub fn train_batch(&mut self, batch: &HostBatch) -> Result<BatchStats, TrainError> {
        let (raw, targets) = batch_tensors(batch, self.device);
        let x = self.net.normalize(&raw);
        self.train_tensors(&x, &targets)
    }

    /// [`Trainer::train_batch`] on a batch whose network input was computed on the data worker
    /// (the same values, see [`InputBatch`]).
    pub fn train_input(&mut self, input: &InputBatch) -> Result<BatchStats, TrainError> {
        let device = self.device;
        with_input_tensors(input, device, |x, targets| self.train_tensors(x, targets))
    }

    fn train_tensors(&mut self, x: &Tensor, targets: &Tensor) -> Result<BatchStats, TrainError> {
        let logits = match self.precision {
            Precision::Fp32 => self.net.forward_t(x, true),
            Precision::Bf16 => autocast(Kind::BFloat16, || self.net.forward_t(x, true)),
        }
        .map_err(|e| TrainError::Model(e.to_string()))?
        .to_kind(Kind::Float);
        let out = self.loss.forward(&logits, targets)?;
        let values = out.values()?;
        if !values.total.is_finite() {
            self.adam.zero_grad();
            self.pending = 0;
            return Err(TrainError::NonFinite {
                value: values.total,
            });
        }
        out.total.backward();
        self.pending += 1;
        let mut grad_norm = None;
        if self.pending == self.accumulation {
            grad_norm = Some(self.step()?);
        }
        Ok(BatchStats {
            loss: values,
            grad_norm,
        })
    }

    /// Takes the optimizer step for gradients accumulated so far (end of an epoch whose batch
    /// count is not a multiple of `accumulation`); does nothing if none are pending.
    pub fn flush(&mut self) -> Result<Option<f64>, TrainError> {
        if self.pending == 0 {
            return Ok(None);
        }
        self.step().map(Some)
    }

    fn step(&mut self) -> Result<f64, TrainError> {
        let norm = if self.clip > 0.0 {
            clip_grad_norm(self.adam.params().iter().map(|(_, t)| t), self.clip)?
        } else {
            0.0
        };
        self.adam.step()?;
        self.adam.zero_grad();
        self.pending = 0;
        Ok(norm)
    }

    /// Evaluation pass (eval mode, no gradients): per-pixel probabilities `[N, H, W]` float32
    /// on the CPU, and the batch's loss values.
    pub fn evaluate(&self, batch: &HostBatch) -> Result<(Tensor, LossValues), TrainError> {
        let (raw, targets) = batch_tensors(batch, self.device);
        let x = self.net.normalize(&raw);
        self.evaluate_tensors(&x, &targets)
    }

    /// [`Trainer::evaluate`] on a batch whose network input was computed on the data worker.
    pub fn evaluate_input(&self, input: &InputBatch) -> Result<(Tensor, LossValues), TrainError> {
        with_input_tensors(input, self.device, |x, targets| {
            self.evaluate_tensors(x, targets)
        })
    }

    fn evaluate_tensors(
        &self,
        x: &Tensor,
        targets: &Tensor,
    ) -> Result<(Tensor, LossValues), TrainError> {
        tch::no_grad(|| {
            let logits = match self.precision {
                Precision::Fp32 => self.net.forward_t(x, false),
                Precision::Bf16 => autocast(Kind::BFloat16, || self.net.forward_t(x, false)),
            }
            .map_err(|e| TrainError::Model(e.to_string()))?
            .to_kind(Kind::Float);
            let values = self.loss.forward(&logits, targets)?.values()?;
            let probs = logits.sigmoid().squeeze_dim(1).to_device(Device::Cpu);
            Ok((probs.contiguous(), values))
        })
    }

    /// Gives the network back.
    pub fn into_net(self) -> Net {
        self.net
    }
}

fn adam_config(part: &PartConfig) -> AdamConfig {
    AdamConfig {
        lr: part.lr,
        weight_decay: part.weight_decay,
        ..AdamConfig::default()
    }
}
