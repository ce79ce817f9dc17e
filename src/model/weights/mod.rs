//! PyTorch weights in and out: reading state_dicts (safetensors; pickles where libtorch can),
//! mapping their keys onto a [`Net`]'s variables with strict key and shape checks, and writing
//! safetensors atomically (temp file, fsync, rename).
//!
//! Accepted sources, after stripping DataParallel `module.` prefixes:
//! - a full-model state_dict of the reference (AlbuNet alias keys `conv1.0`/`conv1.1`/`conv2`..`conv5`
//!   are folded into their `encoder.` tensors after checking they are equal);
//! - an ImageNet encoder state_dict (torchvision `resnet34` / `resnet50`, pretrainedmodels
//!   `se_resnext50_32x4d`): its trunk goes into the encoder, its classifier head is ignored where
//!   the network has none, and the decoder keeps the [`Net`]'s fresh reference initialisation.
//!
//! A `num_batches_tracked` absent from the file (pre-0.4.1 checkpoints such as torchvision's
//! `resnet34-333f7ec4.pth`) is set to 0, as PyTorch's `BatchNorm._load_from_state_dict` does.
use crate::model::albunet;
use crate::model::error::{Mismatch, SourceLayout, WeightsError};
use crate::model::{ModelKind, Net};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use tch::{Kind, Tensor};

/// A state_dict mapped onto a network: exactly its variable names, shapes and dtypes.
#[derive(Debug)]
pub struct Imported {
    /// `(variable name, tensor)`, sorted by name.
    pub tensors: Vec<(String, Tensor)>,
    /// What the mapping did.
    pub report: ImportReport,
}

/// What [`import_state_dict`] did, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// The network.
    pub model: ModelKind,
    /// What the file was recognised as.
    pub layout: SourceLayout,
    /// Keys whose leading `module.` was stripped.
    pub stripped_module: usize,
    /// Model variables filled from the file.
    pub mapped: usize,
    /// Alias keys checked equal to their canonical tensors and dropped.
    pub aliases: usize,
    /// `num_batches_tracked` buffers absent from the file and set to 0.
    pub zeroed_counters: usize,
    /// File keys deliberately left out (classifier heads the network does not have).
    pub ignored: Vec<String>,
    /// Model variables kept at their fresh initialisation (decoder, for encoder-only files).
    pub fresh: usize,
    /// Tensors converted to the variable's dtype (e.g. float16 or float64 to float32).
    pub converted: usize,
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "model: {}; source: {}", self.model, self.layout)?;
        writeln!(f, "variables filled from the file: {}", self.mapped)?;
        if self.stripped_module > 0 {
            writeln!(
                f,
                "keys with a `module.` prefix stripped: {}",
                self.stripped_module
            )?;
        }
        if self.aliases > 0 {
            writeln!(
                f,
                "alias keys checked equal to their encoder tensors and folded: {}",
                self.aliases
            )?;
        }
        if self.zeroed_counters > 0 {
            writeln!(
                f,
                "num_batches_tracked absent from the file, set to 0: {}",
                self.zeroed_counters
            )?;
        }
        if !self.ignored.is_empty() {
            writeln!(
                f,
                "ignored (classifier head not in the network): {}",
                self.ignored.join(", ")
            )?;
        }
        if self.fresh > 0 {
            writeln!(
                f,
                "variables not in an encoder-only file, freshly initialised: {}",
                self.fresh
            )?;
        }
        if self.converted > 0 {
            writeln!(
                f,
                "tensors converted to the variable dtype: {}",
                self.converted
            )?;
        }
        Ok(())
    }
}

/// Reads every named tensor of a `.safetensors` file, or of a PyTorch file libtorch can load
/// (`.pth`, `.pt`, `.bin`, `.ckpt`: tried with `torch::jit::_load_parameters`; a plain
/// `torch.save` pickle gives [`WeightsError::Pickle`], which names the conversion helper).
pub fn read_state_dict(path: &Path) -> Result<Vec<(String, Tensor)>, WeightsError> {
    if !path.is_file() {
        let source = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        return Err(WeightsError::Io {
            path: path.to_path_buf(),
            source,
        });
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "safetensors" => Tensor::read_safetensors(path).map_err(|source| WeightsError::Torch {
            path: path.to_path_buf(),
            source,
        }),
        "pth" | "pt" | "bin" | "ckpt" => Tensor::loadz_multi(path).map_err(|e| {
            let detail = e.to_string();
            let reason = if detail.contains("INTERNAL ASSERT") || detail.contains("GenericDict") {
                "its loaders read TorchScript parameter archives, not torch.save pickles"
                    .to_string()
            } else {
                detail.lines().next().unwrap_or("unknown error").to_string()
            };
            WeightsError::Pickle {
                path: path.to_path_buf(),
                reason,
            }
        }),
        _ => Err(WeightsError::UnknownFormat {
            path: path.to_path_buf(),
        }),
    }
}

/// `(file prefix, variable prefix)` rules of an ImageNet encoder file, and its ignored head.
fn encoder_rules(model: ModelKind) -> (Vec<(&'static str, &'static str)>, &'static str) {
    match model {
        ModelKind::Albunet => (
            vec![
                ("conv1.", "encoder.conv1."),
                ("bn1.", "encoder.bn1."),
                ("layer1.", "encoder.layer1."),
                ("layer2.", "encoder.layer2."),
                ("layer3.", "encoder.layer3."),
                ("layer4.", "encoder.layer4."),
                ("fc.", "encoder.fc."),
            ],
            "",
        ),
        ModelKind::Resnet50Unet => (
            vec![
                ("conv1.", "encoder_stages.0.0."),
                ("bn1.", "encoder_stages.0.1."),
                ("layer1.", "encoder_stages.1.1."),
                ("layer2.", "encoder_stages.2."),
                ("layer3.", "encoder_stages.3."),
                ("layer4.", "encoder_stages.4."),
            ],
            "fc.",
        ),
        ModelKind::Seresnext50Unet => (
            vec![
                ("layer0.", "encoder_stages.0."),
                ("layer1.", "encoder_stages.1.1."),
                ("layer2.", "encoder_stages.2."),
                ("layer3.", "encoder_stages.3."),
                ("layer4.", "encoder_stages.4."),
            ],
            "last_linear.",
        ),
    }
}

/// Where a file key goes under a layout: a variable, an alias of one, or nowhere.
enum Target {
    Var(String),
    Alias(String),
    Ignored,
    Unknown,
}

fn full_model_target(model: ModelKind, key: &str, vars: &HashMap<String, Tensor>) -> Target {
    if vars.contains_key(key) {
        return Target::Var(key.to_string());
    }
    if model == ModelKind::Albunet {
        for (alias, canonical) in albunet::ALIASES {
            if let Some(rest) = key.strip_prefix(alias) {
                let name = format!("{canonical}{rest}");
                if vars.contains_key(&name) {
                    return Target::Alias(name);
                }
            }
        }
    }
    Target::Unknown
}

fn encoder_target(model: ModelKind, key: &str) -> Target {
    let (rules, head) = encoder_rules(model);
    if !head.is_empty() && key.starts_with(head) {
        return Target::Ignored;
    }
    rules
        .iter()
        .find_map(|(from, to)| {
            key.strip_prefix(from)
                .map(|rest| Target::Var(format!("{to}{rest}")))
        })
        .unwrap_or(Target::Unknown)
}

/// Maps a state_dict onto `net`'s variables. Refuses (with every missing, unexpected and
/// mis-shaped key) anything that does not fit; fills encoder-only gaps from `net`'s current values.
pub fn import_state_dict(
    net: &Net,
    source: Vec<(String, Tensor)>,
) -> Result<Imported, WeightsError> {
    let model = net.kind();
    let vars = net.var_store().variables();
    let mut stripped_module = 0;
    let source: Vec<(String, Tensor)> = source
        .into_iter()
        .map(|(k, t)| match k.strip_prefix("module.") {
            Some(rest) => {
                stripped_module += 1;
                (rest.to_string(), t)
            }
            None => (k, t),
        })
        .collect();
    let hits = |layout: SourceLayout| {
        source
            .iter()
            .filter(|(k, _)| match layout {
                SourceLayout::FullModel => matches!(
                    full_model_target(model, k, &vars),
                    Target::Var(_) | Target::Alias(_)
                ),
                SourceLayout::ImagenetEncoder => {
                    matches!(encoder_target(model, k), Target::Var(n) if vars.contains_key(&n))
                }
            })
            .count()
    };
    let (full_hits, encoder_hits) = (
        hits(SourceLayout::FullModel),
        hits(SourceLayout::ImagenetEncoder),
    );
    if full_hits == 0 && encoder_hits == 0 {
        let sample = source.iter().take(5).map(|(k, _)| k.clone()).collect();
        return Err(WeightsError::Unrecognised { model, sample });
    }
    let layout = if full_hits >= encoder_hits {
        SourceLayout::FullModel
    } else {
        SourceLayout::ImagenetEncoder
    };

    let mut report = ImportReport {
        model,
        layout,
        stripped_module,
        mapped: 0,
        aliases: 0,
        zeroed_counters: 0,
        ignored: Vec::new(),
        fresh: 0,
        converted: 0,
    };
    let mut mismatch = Mismatch::default();
    // variable name -> (file key, tensor, came from an alias)
    let mut mapped: BTreeMap<String, (String, Tensor, bool)> = BTreeMap::new();
    let mut aliases: Vec<(String, String, Tensor)> = Vec::new();
    for (key, tensor) in source {
        let target = match layout {
            SourceLayout::FullModel => full_model_target(model, &key, &vars),
            SourceLayout::ImagenetEncoder => encoder_target(model, &key),
        };
        match target {
            Target::Var(name) if vars.contains_key(&name) => {
                mapped.insert(name, (key, tensor, false));
            }
            Target::Alias(name) => aliases.push((name, key, tensor)),
            Target::Ignored => report.ignored.push(key),
            Target::Var(_) | Target::Unknown => mismatch.unexpected.push(key),
        }
    }
    for (name, key, tensor) in aliases {
        report.aliases += 1;
        match mapped.get(&name) {
            Some((canonical, existing, _)) => {
                let same = existing.size() == tensor.size()
                    && existing.kind() == tensor.kind()
                    && existing.equal(&tensor);
                if !same {
                    return Err(WeightsError::AliasConflict {
                        alias: key,
                        canonical: canonical.clone(),
                    });
                }
            }
            None => {
                mapped.insert(name, (key, tensor, true));
            }
        }
    }

    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    let mut tensors = Vec::with_capacity(names.len());
    for name in names {
        let var = &vars[name];
        match mapped.remove(name) {
            Some((_, src, _)) => {
                if src.size() != var.size() {
                    mismatch.shapes.push((name.clone(), var.size(), src.size()));
                    continue;
                }
                let src = if src.kind() != var.kind() {
                    report.converted += 1;
                    src.to_kind(var.kind())
                } else {
                    src
                };
                report.mapped += 1;
                tensors.push((name.clone(), src.to_device(tch::Device::Cpu).contiguous()));
            }
            None if name.ends_with(".num_batches_tracked") => {
                report.zeroed_counters += 1;
                tensors.push((
                    name.clone(),
                    Tensor::zeros([], (Kind::Int64, tch::Device::Cpu)),
                ));
            }
            None if layout == SourceLayout::ImagenetEncoder
                && !name.starts_with(model.encoder_prefix()) =>
            {
                report.fresh += 1;
                tensors.push((
                    name.clone(),
                    var.detach().to_device(tch::Device::Cpu).copy(),
                ));
            }
            None => mismatch.missing.push(name.clone()),
        }
    }
    if !mismatch.is_empty() {
        mismatch.unexpected.sort();
        return Err(WeightsError::Mismatch {
            model,
            layout,
            mismatch,
        });
    }
    Ok(Imported { tensors, report })
}

/// Writes `tensors` as safetensors to `path` atomically: a temp file in the same folder is
/// written and fsynced, renamed over `path`, and the folder is fsynced.
pub fn write_safetensors_atomic(
    path: &Path,
    tensors: &[(String, Tensor)],
) -> Result<(), WeightsError> {
    let cpu: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(k, t)| {
            (
                k.clone(),
                t.detach().to_device(tch::Device::Cpu).contiguous(),
            )
        })
        .collect();
    data_prep::atomic::write_via_temp(
        path,
        |tmp| {
            Tensor::write_safetensors(&cpu, tmp).map_err(|source| WeightsError::Torch {
                path: tmp.to_path_buf(),
                source,
            })
        },
        |p, source| WeightsError::Io {
            path: p.to_path_buf(),
            source,
        },
    )
}

#[cfg(test)]
mod tests;
