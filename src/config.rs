//! The pipeline file (`pipelines/*.toml`): one TOML document declaring a job's sections:
//! `[data]` (shards, size, folds, seed), `[augment]` (the transform list, see
//! [`crate::augment`]), `[model]`, `[train]` (see [`crate::train::config`]) and `[predict]` (see
//! [`crate::predict::config`]), `[blend]` (see [`crate::data::blend`]), `[sweep]` (see
//! [`crate::sweep::config`]) and `[submit]` (see [`crate::submit`]).
//!
//! Every table refuses unknown keys. Errors name the file, the key path (`data.size`,
//! `augment.transforms[2].p`) and the bad value. Command-line overrides (`--set data.size=512`)
//! are applied to the document before it is checked, so they get the same checks.

use crate::augment::{transforms_from_toml_table, AugmentError, Pipeline as AugmentPipeline};
use crate::data::blend::BlendConfig;
use crate::model::ModelKind;
use crate::predict::PredictConfig;
use crate::submit::SubmitConfig;
use crate::sweep::config::SweepConfig;
use crate::train::TrainConfig;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a pipeline file could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The pipeline file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{origin}: invalid TOML: {message}")]
    Toml {
        /// The pipeline file.
        origin: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A key is unknown or its value is wrong.
    #[error("{origin}: {key}: {problem}")]
    Key {
        /// The pipeline file.
        origin: String,
        /// The key path (`data.size`).
        key: String,
        /// What is wrong, with the value found.
        problem: String,
    },
    /// A `--set KEY=VALUE` override is malformed or does not fit the document.
    #[error("--set {assignment}: {problem}")]
    Override {
        /// The override as given.
        assignment: String,
        /// What is wrong.
        problem: String,
    },
    /// The `[augment]` section is invalid.
    #[error(transparent)]
    Augment(#[from] AugmentError),
}

/// `[data]`: the dataset a job reads.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Shard dataset directory (relative paths are relative to the current directory).
    pub shards: Option<PathBuf>,
    /// Side of the square images the job works at (8..=8192).
    pub size: Option<u32>,
    /// A folds CSV in the solution's format overriding the dataset's own folds.
    pub folds: Option<PathBuf>,
    /// Seed of every random draw (`sample_rng(seed, epoch, id)`).
    #[serde(default)]
    pub seed: u64,
}

/// `[model]`: the network.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// `albunet`, `resnet50_unet` or `seresnext50_unet`.
    pub arch: ModelKind,
    /// Initial weights (a safetensors checkpoint from `weights import`).
    pub weights: Option<PathBuf>,
}

/// The sections of a pipeline other than `[augment]`, checked by serde.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sections {
    data: Option<DataConfig>,
    model: Option<ModelConfig>,
    train: Option<TrainConfig>,
    predict: Option<PredictConfig>,
    blend: Option<BlendConfig>,
    submit: Option<SubmitConfig>,
    sweep: Option<SweepConfig>,
}

/// A loaded, checked pipeline file.
#[derive(Clone, Debug)]
pub struct Pipeline {
    /// Where it came from (file name, used in messages).
    pub origin: String,
    /// `[data]`.
    pub data: Option<DataConfig>,
    /// `[augment]` (or a legacy top-level transform list), built and validated.
    pub augment: Option<AugmentPipeline>,
    /// `[model]`.
    pub model: Option<ModelConfig>,
    /// `[train]` and its `[[train.parts]]`.
    pub train: Option<TrainConfig>,
    /// `[predict]`.
    pub predict: Option<PredictConfig>,
    /// `[blend]`.
    pub blend: Option<BlendConfig>,
    /// `[submit]`.
    pub submit: Option<SubmitConfig>,
    /// `[sweep]`.
    pub sweep: Option<SweepConfig>,
    /// The document after overrides (what the job ran with).
    pub document: toml::Table,
}

impl Pipeline {
    /// Reads `path`, applies `overrides` (`KEY=VALUE`, TOML values; bare words are strings) and
    /// checks every section.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Pipeline, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Pipeline::from_toml_str(&text, &path.display().to_string(), overrides)
    }

    /// [`Pipeline::load`] from text; `origin` names it in errors.
    pub fn from_toml_str(
        text: &str,
        origin: &str,
        overrides: &[String],
    ) -> Result<Pipeline, ConfigError> {
        let mut document: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Toml {
            origin: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        for assignment in overrides {
            apply_override(&mut document, assignment)?;
        }
        let mut rest = document.clone();
        let has_augment = rest.remove("augment").is_some();
        let legacy = !has_augment && rest.contains_key("transforms");
        if legacy {
            rest.remove("transforms");
            rest.remove("p");
        }
        let augment = if has_augment || legacy {
            Some(transforms_from_toml_table(&document, origin)?)
        } else {
            None
        };
        let sections: Sections = serde_path_to_error::deserialize(toml::Value::Table(rest.clone()))
            .map_err(|e| key_error(origin, &rest, e))?;
        if let Some(size) = sections.data.as_ref().and_then(|d| d.size) {
            if !(8..=8192).contains(&size) {
                return Err(ConfigError::Key {
                    origin: origin.to_string(),
                    key: "data.size".into(),
                    problem: format!("{size} is out of range (8..=8192)"),
                });
            }
        }
        if let Some(train) = &sections.train {
            train.validate().map_err(|e| ConfigError::Key {
                origin: origin.to_string(),
                key: format!("train.{}", e.key),
                problem: e.problem,
            })?;
        }
        if let Some(predict) = &sections.predict {
            predict
                .validate()
                .map_err(|(key, problem)| ConfigError::Key {
                    origin: origin.to_string(),
                    key: format!("predict.{key}"),
                    problem,
                })?;
        }
        if let Some(blend) = &sections.blend {
            blend
                .validate()
                .map_err(|(key, problem)| ConfigError::Key {
                    origin: origin.to_string(),
                    key: format!("blend.{key}"),
                    problem,
                })?;
        }
        if let Some(submit) = &sections.submit {
            submit
                .validate()
                .map_err(|(key, problem)| ConfigError::Key {
                    origin: origin.to_string(),
                    key: format!("submit.{key}"),
                    problem,
                })?;
        }
        Ok(Pipeline {
            origin: origin.to_string(),
            data: sections.data,
            augment,
            model: sections.model,
            train: sections.train,
            predict: sections.predict,
            blend: sections.blend,
            submit: sections.submit,
            sweep: sections.sweep,
            document,
        })
    }

    /// The document as TOML text (to record what a job ran with).
    pub fn to_toml_string(&self) -> String {
        toml::to_string(&self.document).unwrap_or_default()
    }
}

fn key_error(
    origin: &str,
    document: &toml::Table,
    e: serde_path_to_error::Error<toml::de::Error>,
) -> ConfigError {
    let path = e.path().to_string();
    let message = e.inner().to_string();
    // toml appends "in `table`" on a second line; the key path already says where.
    let message = message.lines().next().unwrap_or_default().trim_end();
    let found = lookup(document, &path)
        .map(|v| format!(" (found {v})"))
        .unwrap_or_default();
    // For an unknown field the path may stop at the table holding it; name the field itself.
    let key = match message
        .strip_prefix("unknown field `")
        .and_then(|m| m.split('`').next())
    {
        Some(field) if path == "." || path.is_empty() => field.to_string(),
        Some(field) if !path.ends_with(field) => format!("{path}.{field}"),
        _ => path,
    };
    ConfigError::Key {
        origin: origin.to_string(),
        key,
        problem: format!("{message}{found}"),
    }
}

/// One step of a key path: a table key or an array index.
#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Parses `a.b[1].c` into steps.
fn parse_path(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if name.is_empty() {
            return None;
        }
        steps.push(Step::Key(name.to_string()));
        while !rest.is_empty() {
            let close = rest.find(']')?;
            let index = rest.get(1..close)?.parse().ok()?;
            steps.push(Step::Index(index));
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return None;
            }
        }
    }
    Some(steps)
}

/// The value at `path` in `document`, if there is one.
fn lookup<'a>(document: &'a toml::Table, path: &str) -> Option<&'a toml::Value> {
    let steps = parse_path(path)?;
    let (first, rest) = steps.split_first()?;
    let Step::Key(k) = first else { return None };
    let mut value = document.get(k)?;
    for step in rest {
        value = match (step, value) {
            (Step::Key(k), toml::Value::Table(t)) => t.get(k)?,
            (Step::Index(i), toml::Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(value)
}

/// Applies `KEY=VALUE` to `document`. The value is read as TOML (`512`, `true`, `[1, 2]`,
/// `"text"`); anything that is not a TOML value is taken as a string. Missing tables on the way
/// are created; array elements must exist.
fn apply_override(document: &mut toml::Table, assignment: &str) -> Result<(), ConfigError> {
    let bad = |problem: String| ConfigError::Override {
        assignment: assignment.to_string(),
        problem,
    };
    let (key, raw) = assignment
        .split_once('=')
        .ok_or_else(|| bad("expected KEY=VALUE".into()))?;
    let (key, raw) = (key.trim(), raw.trim());
    let steps = parse_path(key).ok_or_else(|| {
        bad(format!(
            "`{key}` is not a key path (expected a.b.c or a.b[1].c)"
        ))
    })?;
    let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()));
    let mut root = toml::Value::Table(std::mem::take(document));
    let result = set_path(&mut root, &steps, value);
    if let toml::Value::Table(t) = root {
        *document = t;
    }
    result.map_err(bad)
}

/// Sets the value at `steps` below `root`, creating missing tables.
fn set_path(root: &mut toml::Value, steps: &[Step], value: toml::Value) -> Result<(), String> {
    let (last, init) = steps.split_last().expect("a path has a step");
    let mut here = root;
    let mut walked = String::from("the document");
    for step in init {
        here = match (step, here) {
            (Step::Key(k), toml::Value::Table(t)) => t
                .entry(k.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new())),
            (Step::Index(i), toml::Value::Array(a)) => {
                let n = a.len();
                a.get_mut(*i)
                    .ok_or_else(|| format!("{walked} has {n} element(s), no index {i}"))?
            }
            (_, other) => {
                return Err(format!(
                    "{walked} is a {}, not a table or array",
                    other.type_str()
                ))
            }
        };
        walked = match step {
            Step::Key(k) if walked == "the document" => k.clone(),
            Step::Key(k) => format!("{walked}.{k}"),
            Step::Index(i) => format!("{walked}[{i}]"),
        };
    }
    match (last, here) {
        (Step::Key(k), toml::Value::Table(t)) => {
            t.insert(k.clone(), value);
            Ok(())
        }
        (Step::Index(i), toml::Value::Array(a)) if *i < a.len() => {
            a[*i] = value;
            Ok(())
        }
        (Step::Index(i), toml::Value::Array(a)) => {
            Err(format!("{walked} has {} element(s), no index {i}", a.len()))
        }
        (_, other) => Err(format!(
            "{walked} is a {}, not a table or array",
            other.type_str()
        )),
    }
}

#[cfg(test)]
mod tests;
