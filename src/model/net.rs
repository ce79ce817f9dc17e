//! [`Net`]: a network plus the var store that owns its variables; input checks, normalisation,
//! encoder freezing, strict loading / atomic saving, and the analytic summary.
use crate::model::albunet::{self, AlbuNet};
use crate::model::cost::{Cost, Shape};
use crate::model::error::{ModelError, SourceLayout, WeightsError};
use crate::model::selim_unet::{SelimUnet, SelimVariant};
use crate::model::weights;
use crate::model::ModelKind;
use std::path::Path;
use tch::{nn, Device, Tensor};

#[derive(Debug)]
enum Arch {
    AlbuNet(Box<AlbuNet>),
    Selim(Box<SelimUnet>),
}

/// One of the solution's networks with its variables. Variable names equal the reference
/// PyTorch state_dict keys (AlbuNet's alias keys excepted, see [`Net::pytorch_state_dict`]).
#[derive(Debug)]
pub struct Net {
    kind: ModelKind,
    vs: nn::VarStore,
    arch: Arch,
}

/// Parameter and buffer counts of a [`Net`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamCount {
    /// Trainable parameters (weights and biases), encoder and decoder.
    pub parameters: i64,
    /// Trainable parameters under the encoder prefix (AlbuNet's unused `encoder.fc` included).
    pub encoder_parameters: i64,
    /// BatchNorm buffers (`running_mean`, `running_var`, `num_batches_tracked`).
    pub buffers: i64,
}

impl Net {
    /// Builds `kind` on `device` with the reference initialisation, drawing from libtorch's
    /// global generator (seed it with `tch::manual_seed` for reproducible weights).
    pub fn new(kind: ModelKind, device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let arch = match kind {
            ModelKind::Albunet => Arch::AlbuNet(Box::new(AlbuNet::new(&root))),
            ModelKind::Resnet50Unet => {
                Arch::Selim(Box::new(SelimUnet::new(&root, SelimVariant::ResNet50)))
            }
            ModelKind::Seresnext50Unet => {
                Arch::Selim(Box::new(SelimUnet::new(&root, SelimVariant::SeResNeXt50)))
            }
        };
        Net { kind, vs, arch }
    }

    /// Which network this is.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// The var store holding every parameter and buffer.
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// Mutable access, e.g. for `set_device` or an optimizer.
    pub fn var_store_mut(&mut self) -> &mut nn::VarStore {
        &mut self.vs
    }

    /// Checks that `size` is an input this network can take (`train`: BatchNorm batch statistics).
    pub fn check_input(
        &self,
        size: &[i64],
        kind: tch::Kind,
        train: bool,
    ) -> Result<(), ModelError> {
        let model = self.kind;
        let &[n, c, h, w] = size else {
            return Err(ModelError::InputShape {
                model,
                shape: size.to_vec(),
            });
        };
        if c != 3 || n < 1 {
            return Err(ModelError::InputShape {
                model,
                shape: size.to_vec(),
            });
        }
        if kind != self.vs.kind() {
            return Err(ModelError::InputKind {
                model,
                expected: self.vs.kind(),
                got: kind,
            });
        }
        let multiple = model.size_multiple();
        if h <= 0 || w <= 0 || h % multiple != 0 || w % multiple != 0 {
            return Err(ModelError::InputSize {
                model,
                height: h,
                width: w,
                multiple,
            });
        }
        if train && n * (h / 32) * (w / 32) < 2 {
            return Err(ModelError::TrainBatchTooSmall {
                model,
                shape: size.to_vec(),
            });
        }
        Ok(())
    }

    /// Normalises raw pixels (0..255) the way the reference fed this network (see
    /// [`ModelKind::input_norm`]).
    ///
    /// # Shapes
    /// `[N, 3, H, W]` → `[N, 3, H, W]`.
    pub fn normalize(&self, raw: &Tensor) -> Tensor {
        self.kind.input_norm().apply(raw)
    }

    /// Logits at input resolution. `train` selects BatchNorm batch statistics (and updates the
    /// running statistics), as PyTorch's `model.train()`; otherwise `model.eval()` behaviour.
    ///
    /// # Shapes
    /// `[N, 3, H, W]` (normalised, see [`Net::normalize`]) → `[N, 1, H, W]`.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        self.check_input(&x.size(), x.kind(), train)?;
        Ok(match &self.arch {
            Arch::AlbuNet(net) => net.forward_t(x, train),
            Arch::Selim(net) => net.forward_t(x, train),
        })
    }

    /// Stops (`false`) or resumes (`true`) gradients for every encoder parameter, as AlbuNet's
    /// `freeze_encoder` does (`requires_grad = False`). BatchNorm layers still follow `train`.
    pub fn set_encoder_trainable(&self, trainable: bool) {
        let prefix = self.kind.encoder_prefix();
        for (name, var) in self.vs.variables() {
            if name.starts_with(prefix) && var.is_floating_point() && self.is_parameter(&name) {
                let _ = var.set_requires_grad(trainable);
            }
        }
    }

    /// Whether every encoder parameter has gradients turned off.
    pub fn encoder_frozen(&self) -> bool {
        let prefix = self.kind.encoder_prefix();
        self.vs
            .variables()
            .iter()
            .filter(|(name, _)| name.starts_with(prefix) && self.is_parameter(name))
            .all(|(_, var)| !var.requires_grad())
    }

    /// Trainable parameters (frozen ones included: freezing only turns gradients off).
    fn is_parameter(&self, name: &str) -> bool {
        !(name.ends_with(".running_mean")
            || name.ends_with(".running_var")
            || name.ends_with(".num_batches_tracked"))
    }

    /// Parameter and buffer counts.
    pub fn param_count(&self) -> ParamCount {
        let prefix = self.kind.encoder_prefix();
        let mut count = ParamCount {
            parameters: 0,
            encoder_parameters: 0,
            buffers: 0,
        };
        for (name, var) in self.vs.variables() {
            let n = var.numel() as i64;
            if self.is_parameter(&name) {
                count.parameters += n;
                if name.starts_with(prefix) {
                    count.encoder_parameters += n;
                }
            } else {
                count.buffers += n;
            }
        }
        count
    }

    /// Forward cost for an input of `shape` (see [`crate::model::cost`] for what counts).
    pub fn cost(&self, shape: Shape) -> Result<Cost, ModelError> {
        self.check_input(&[shape.n, shape.c, shape.h, shape.w], self.vs.kind(), false)?;
        let mut cost = Cost::default();
        match &self.arch {
            Arch::AlbuNet(net) => net.cost(shape, &mut cost),
            Arch::Selim(net) => net.cost(shape, &mut cost),
        };
        Ok(cost)
    }

    /// The reference's full state_dict: every variable under its PyTorch key, plus, for AlbuNet,
    /// the alias keys (`conv1.0.*`, `conv1.1.*`, `conv2.*`..`conv5.*`) sharing the encoder
    /// tensors, so the result loads into the PyTorch reference with `strict=True`. Sorted by key.
    pub fn pytorch_state_dict(&self) -> Vec<(String, Tensor)> {
        let mut out: Vec<(String, Tensor)> = Vec::new();
        for (name, var) in self.vs.variables() {
            if self.kind == ModelKind::Albunet {
                for (alias, canonical) in albunet::ALIASES {
                    if let Some(rest) = name.strip_prefix(canonical) {
                        out.push((format!("{alias}{rest}"), var.shallow_clone()));
                    }
                }
            }
            out.push((name, var));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Loads a complete checkpoint strictly: every variable must be present with its shape and
    /// no key may be left over (AlbuNet aliases, `module.` prefixes and absent
    /// `num_batches_tracked` are accepted as in [`weights::import_state_dict`]).
    pub fn load(&mut self, path: &Path) -> Result<(), WeightsError> {
        let source = weights::read_state_dict(path)?;
        let imported = weights::import_state_dict(self, source)?;
        if imported.report.layout != SourceLayout::FullModel {
            return Err(WeightsError::EncoderOnly {
                path: path.to_path_buf(),
            });
        }
        self.copy_from(imported.tensors)
            .map_err(|source| WeightsError::Torch {
                path: path.to_path_buf(),
                source,
            })
    }

    /// Copies named tensors (this net's variable names, as produced by the importer) into the
    /// variables; a name that is not a variable is an error, and so is a shape that differs.
    pub fn copy_from(&mut self, tensors: Vec<(String, Tensor)>) -> Result<(), tch::TchError> {
        let vars = self.vs.variables();
        tch::no_grad(|| {
            for (name, src) in &tensors {
                let Some(var) = vars.get(name) else {
                    return Err(tch::TchError::TensorNameNotFound(
                        name.clone(),
                        format!("{} variables", self.kind),
                    ));
                };
                if var.size() != src.size() {
                    return Err(tch::TchError::Shape(format!(
                        "{name}: variable {:?}, tensor {:?}",
                        var.size(),
                        src.size()
                    )));
                }
                let mut var = var.shallow_clone();
                var.f_copy_(&src.to_device(self.vs.device()))?;
            }
            Ok(())
        })
    }

    /// Saves every variable under its canonical key as safetensors, atomically.
    pub fn save(&self, path: &Path) -> Result<(), WeightsError> {
        let mut tensors: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        weights::write_safetensors_atomic(path, &tensors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn input_checks_name_the_problem() {
        let net = Net::new(ModelKind::Albunet, Device::Cpu);
        let f = Kind::Float;
        assert!(matches!(
            net.check_input(&[1, 3, 96, 64], f, false),
            Err(ModelError::InputSize {
                height: 96,
                width: 64,
                multiple: 64,
                ..
            })
        ));
        assert!(matches!(
            net.check_input(&[1, 1, 64, 64], f, false),
            Err(ModelError::InputShape { .. })
        ));
        assert!(matches!(
            net.check_input(&[3, 64, 64], f, false),
            Err(ModelError::InputShape { .. })
        ));
        assert!(matches!(
            net.check_input(&[1, 3, 64, 64], Kind::Double, false),
            Err(ModelError::InputKind { .. })
        ));
        assert!(net.check_input(&[1, 3, 128, 64], f, false).is_ok());
        let selim = Net::new(ModelKind::Resnet50Unet, Device::Cpu);
        assert!(selim.check_input(&[1, 3, 96, 32], f, false).is_ok());
        assert!(matches!(
            selim.check_input(&[1, 3, 32, 32], f, true),
            Err(ModelError::TrainBatchTooSmall { .. })
        ));
        assert!(selim.check_input(&[2, 3, 32, 32], f, true).is_ok());
        let msg = net
            .forward_t(&Tensor::zeros([1, 3, 100, 100], (f, Device::Cpu)), false)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("100×100") && msg.contains("multiples of 64"),
            "{msg}"
        );
    }

    #[test]
    fn logits_have_input_resolution_for_non_square_inputs() {
        for kind in ModelKind::ALL {
            let net = Net::new(kind, Device::Cpu);
            let x =
                net.normalize(&(Tensor::rand([1, 3, 128, 64], (Kind::Float, Device::Cpu)) * 255.0));
            let y = tch::no_grad(|| net.forward_t(&x, false)).expect("forward");
            assert_eq!(y.size(), [1, 1, 128, 64], "{kind}");
        }
    }

    #[test]
    fn frozen_encoder_gets_no_gradient_and_unfreezes() {
        let net = Net::new(ModelKind::Seresnext50Unet, Device::Cpu);
        net.set_encoder_trainable(false);
        assert!(net.encoder_frozen());
        let x = Tensor::rand([2, 3, 32, 32], (Kind::Float, Device::Cpu));
        net.forward_t(&x, true)
            .expect("forward")
            .mean(Kind::Float)
            .backward();
        let vars = net.var_store().variables();
        assert!(!vars["encoder_stages.2.0.conv1.weight"].grad().defined());
        assert!(vars["bottlenecks.0.seq.0.weight"].grad().defined());
        assert!(vars["final.0.weight"].grad().defined());
        net.set_encoder_trainable(true);
        assert!(!net.encoder_frozen());
        net.forward_t(&x, true)
            .expect("forward")
            .mean(Kind::Float)
            .backward();
        assert!(vars["encoder_stages.2.0.conv1.weight"].grad().defined());
    }

    #[test]
    fn save_then_load_restores_every_variable() {
        tch::manual_seed(1);
        let a = Net::new(ModelKind::Albunet, Device::Cpu);
        tch::manual_seed(2);
        let mut b = Net::new(ModelKind::Albunet, Device::Cpu);
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("albunet.safetensors");
        a.save(&path).expect("save");
        b.load(&path).expect("load");
        let (va, vb) = (a.var_store().variables(), b.var_store().variables());
        for (name, t) in &va {
            assert!(t.equal(&vb[name]), "{name}");
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(leftovers, ["albunet.safetensors"]);
    }

    #[test]
    fn albunet_exports_reference_alias_keys() {
        let net = Net::new(ModelKind::Albunet, Device::Cpu);
        let sd = net.pytorch_state_dict();
        let names: Vec<&str> = sd.iter().map(|(k, _)| k.as_str()).collect();
        assert!(
            names.contains(&"conv1.0.weight") && names.contains(&"conv1.1.num_batches_tracked")
        );
        assert!(names.contains(&"conv5.2.bn2.running_var") && names.contains(&"encoder.fc.weight"));
        let vars = net.var_store().variables();
        assert_eq!(
            sd.len(),
            vars.len()
                + vars
                    .keys()
                    .filter(|k| !k.starts_with("encoder.fc.") && k.starts_with("encoder."))
                    .count()
        );
        let selim = Net::new(ModelKind::Resnet50Unet, Device::Cpu);
        assert_eq!(
            selim.pytorch_state_dict().len(),
            selim.var_store().variables().len()
        );
    }

    #[test]
    fn copy_from_refuses_unknown_names_and_shapes() {
        let mut net = Net::new(ModelKind::Resnet50Unet, Device::Cpu);
        let t = |dims: &[i64]| Tensor::zeros(dims, (Kind::Float, Device::Cpu));
        assert!(net
            .copy_from(vec![("final.0.weight".into(), t(&[1, 64, 1, 1]))])
            .is_ok());
        assert!(net
            .copy_from(vec![("final.1.weight".into(), t(&[1, 64, 1, 1]))])
            .is_err());
        assert!(net
            .copy_from(vec![("final.0.weight".into(), t(&[1, 32, 1, 1]))])
            .is_err());
    }

    #[test]
    fn cost_is_refused_for_sizes_the_network_cannot_take() {
        let net = Net::new(ModelKind::Resnet50Unet, Device::Cpu);
        assert!(net.cost(Shape::new(1, 3, 100, 100)).is_err());
        let small = net.cost(Shape::new(1, 3, 256, 256)).expect("256");
        let big = net.cost(Shape::new(2, 3, 512, 512)).expect("512");
        // Convolutions scale with pixels × batch exactly.
        assert_eq!(big.macs, 8 * small.macs);
    }
}
