//! [`Predictor`]: the networks of a prediction's checkpoints on one device, in groups (one per
//! fold for out-of-fold predictions, one for all test images). A host batch gives per image,
//! over the checkpoints of the image's group, the running mean over the checkpoints (`mean = (mean · i + p_i) / (i + 1)`, as
//! `Inference.py`) of `p = sigmoid(net(x))`, or with TTA of
//! `(sigmoid(net(x)) + flip_w(sigmoid(net(flip_w(x))))) / 2`; eval mode, no gradients.

use crate::data::HostBatch;
use crate::model::{ModelKind, Net, WeightsError};
use crate::train::batch_tensors;
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};
use thiserror::Error;

/// Why a prediction failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PredictError {
    /// A checkpoint could not be loaded.
    #[error("checkpoint {path}: {source}")]
    Weights {
        /// The checkpoint.
        path: PathBuf,
        /// Why.
        source: WeightsError,
    },
    /// No checkpoint was given.
    #[error("a prediction needs at least one checkpoint")]
    NoCheckpoint,
    /// The network refused the batch or libtorch failed.
    #[error("{0}")]
    Forward(String),
}

/// The checkpoints' networks on one device, in groups.
pub struct Predictor {
    groups: Vec<Vec<Net>>,
    tta: bool,
    device: Device,
}

impl Predictor {
    /// Loads every checkpoint of every group into a `kind` network on `device`.
    pub fn load(
        kind: ModelKind,
        device: Device,
        groups: &[Vec<PathBuf>],
        tta: bool,
    ) -> Result<Predictor, PredictError> {
        if groups.is_empty() || groups.iter().any(Vec::is_empty) {
            return Err(PredictError::NoCheckpoint);
        }
        let groups = groups
            .iter()
            .map(|g| g.iter().map(|path| load_net(kind, device, path)).collect())
            .collect::<Result<Vec<Vec<Net>>, _>>()?;
        Ok(Predictor {
            groups,
            tta,
            device,
        })
    }

    /// Probability maps of `batch`, image `i` predicted by the checkpoints of group
    /// `group[i]`: `[N, H, W]` float32 on the CPU, row-major.
    pub fn predict(&self, batch: &HostBatch, group: &[usize]) -> Result<Vec<f32>, PredictError> {
        let n = batch.len();
        if group.len() != n || group.iter().any(|&g| g >= self.groups.len()) {
            return Err(PredictError::Forward(format!(
                "{} group indices for {n} images of {} groups",
                group.len(),
                self.groups.len()
            )));
        }
        tch::no_grad(|| {
            let (raw, _) = batch_tensors(batch, self.device);
            let (w, h) = batch.size();
            let mut out = vec![0f32; n * w * h];
            for (g, nets) in self.groups.iter().enumerate() {
                let members: Vec<i64> = (0..n)
                    .filter(|&i| group[i] == g)
                    .map(|i| i as i64)
                    .collect();
                if members.is_empty() {
                    continue;
                }
                let x = if members.len() == n {
                    raw.shallow_clone()
                } else {
                    raw.index_select(0, &Tensor::from_slice(&members).to_device(self.device))
                };
                let mean = self.mean_over(nets, &x)?;
                let maps = Vec::<f32>::try_from(
                    mean.squeeze_dim(1)
                        .to_device(Device::Cpu)
                        .contiguous()
                        .flatten(0, -1),
                )
                .map_err(|e| PredictError::Forward(e.to_string()))?;
                for (k, &i) in members.iter().enumerate() {
                    let per = w * h;
                    out[i as usize * per..(i as usize + 1) * per]
                        .copy_from_slice(&maps[k * per..(k + 1) * per]);
                }
            }
            Ok(out)
        })
    }

    /// The running mean over `nets` of their probabilities, `[N, 1, H, W]`.
    fn mean_over(&self, nets: &[Net], x: &Tensor) -> Result<Tensor, PredictError> {
        let mut mean: Option<Tensor> = None;
        for (i, net) in nets.iter().enumerate() {
            let p = self.probabilities(net, x)?;
            mean = Some(match mean {
                None => p,
                Some(m) => (m * i as f64 + p) / (i as f64 + 1.0),
            });
        }
        mean.ok_or(PredictError::NoCheckpoint)
    }

    /// `sigmoid(net(x))`, with TTA averaged with the flipped pass, as `[N, 1, H, W]` float32.
    fn probabilities(&self, net: &Net, raw: &Tensor) -> Result<Tensor, PredictError> {
        let forward = |x: &Tensor| -> Result<Tensor, PredictError> {
            Ok(net
                .forward_t(&net.normalize(x), false)
                .map_err(|e| PredictError::Forward(e.to_string()))?
                .to_kind(Kind::Float)
                .sigmoid())
        };
        let p1 = forward(raw)?;
        if !self.tta {
            return Ok(p1);
        }
        let p2 = forward(&raw.flip([3]))?.flip([3]);
        Ok((p1 + p2) / 2.0)
    }
}

fn load_net(kind: ModelKind, device: Device, path: &Path) -> Result<Net, PredictError> {
    let mut net = Net::new(kind, device);
    net.load(path).map_err(|source| PredictError::Weights {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(net)
}
