//! Loading transform lists: TOML (`[augment]` section or top-level `transforms`) and the
//! albumentations 0.3.x JSON written by `albumentations.save` (the solution's `transforms/*.json`).
//!
//! Both are walked entry by entry so that an unknown transform or parameter is reported with its
//! file, its position (`augment.transforms[2].transforms[0]`) and its name.

use super::builder::check_compose_extras;
use super::config::{is_supported, AugmentConfig, Ctx, TransformConfig, SUPPORTED};
use super::{AugmentError, Pipeline};
use serde_json::{Map, Value};
use std::path::Path;

/// Reads a `.toml` or `.json` transforms file and builds its pipeline.
pub fn load_transforms(path: impl AsRef<Path>) -> Result<Pipeline, AugmentError> {
    let path = path.as_ref();
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| AugmentError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let (config, root) = match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("toml") => parse_toml(&text, &origin)?,
        Some("json") => parse_albumentations_json(&text, &origin)?,
        _ => {
            return Err(AugmentError::UnsupportedFile {
                path: path.to_path_buf(),
            })
        }
    };
    config.build_in(&origin, &root)
}

impl AugmentConfig {
    /// Parses TOML text: the `[augment]` section if present, else top-level `p` / `transforms`.
    /// `origin` (a file name) prefixes error messages.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, AugmentError> {
        parse_toml(text, origin).map(|(c, _)| c)
    }

    /// Parses an albumentations 0.3.x JSON document (`{"__version__": "0.3.1", "transform": {...}}`).
    pub fn from_albumentations_json(text: &str, origin: &str) -> Result<Self, AugmentError> {
        parse_albumentations_json(text, origin).map(|(c, _)| c)
    }
}

fn structure(origin: &str, what: impl Into<String>) -> AugmentError {
    AugmentError::Structure {
        origin: origin.to_string(),
        what: what.into(),
    }
}

fn parse_toml(text: &str, origin: &str) -> Result<(AugmentConfig, String), AugmentError> {
    let doc: toml::Table = toml::from_str(text).map_err(|source| AugmentError::Toml {
        origin: origin.to_string(),
        source,
    })?;
    parse_toml_table(&doc, origin)
}

/// Builds the pipeline of a parsed TOML document (its `[augment]` section, or top-level `p` /
/// `transforms`); `origin` (a file name) prefixes error messages.
pub fn transforms_from_toml_table(
    doc: &toml::Table,
    origin: &str,
) -> Result<Pipeline, AugmentError> {
    let (config, root) = parse_toml_table(doc, origin)?;
    config.build_in(origin, &root)
}

fn parse_toml_table(
    doc: &toml::Table,
    origin: &str,
) -> Result<(AugmentConfig, String), AugmentError> {
    let (table, root) = match doc.get("augment") {
        Some(toml::Value::Table(t)) => (t.clone(), "augment"),
        Some(_) => return Err(structure(origin, "`augment` must be a table ([augment])")),
        None if doc.contains_key("transforms") => (doc.clone(), ""),
        None => {
            return Err(structure(
                origin,
                "no [augment] section and no top-level `transforms`",
            ))
        }
    };
    let value = serde_json::to_value(&table)
        .map_err(|e| structure(origin, format!("unsupported TOML value: {e}")))?;
    let prefix = if root.is_empty() {
        String::new()
    } else {
        format!("{root}.")
    };
    let Value::Object(mut obj) = value else {
        unreachable!("a TOML table converts to an object")
    };
    let list = obj.remove("transforms").unwrap_or(Value::Array(Vec::new()));
    let loc = format!("{prefix}transforms");
    let transforms = parse_list(&list, &loc, origin, Dialect::Toml)?;
    let mut config: AugmentConfig =
        serde_json::from_value(Value::Object(obj)).map_err(|e| AugmentError::BadParameters {
            origin: origin.to_string(),
            location: if root.is_empty() {
                "(top level)".into()
            } else {
                root.into()
            },
            transform: "Compose".into(),
            message: e.to_string(),
        })?;
    config.transforms = transforms;
    Ok((config, loc))
}

fn parse_albumentations_json(
    text: &str,
    origin: &str,
) -> Result<(AugmentConfig, String), AugmentError> {
    let doc: Value = serde_json::from_str(text).map_err(|source| AugmentError::Json {
        origin: origin.to_string(),
        source,
    })?;
    let Value::Object(mut doc) = doc else {
        return Err(structure(origin, "expected a JSON object"));
    };
    let version = doc.remove("__version__");
    match version.as_ref().and_then(Value::as_str) {
        Some(v) if v.starts_with("0.3.") => {}
        Some(v) => {
            return Err(structure(
                origin,
                format!("saved by albumentations {v}; pneumoflow implements the 0.3.x semantics (brightness x mean, gamma 1/g, ...)"),
            ))
        }
        None => return Err(structure(origin, "missing \"__version__\" (not an albumentations.save file?)")),
    }
    let transform = doc
        .remove("transform")
        .ok_or_else(|| structure(origin, "missing \"transform\""))?;
    if let Some(k) = doc.keys().next() {
        return Err(structure(origin, format!("unknown top-level key \"{k}\"")));
    }
    let mut top = parse_list(
        &Value::Array(vec![transform]),
        "transform",
        origin,
        Dialect::AlbumentationsJson,
    )?;
    let config = match top.pop() {
        Some(TransformConfig::Compose(c)) => {
            check_compose_extras(
                &c,
                &Ctx {
                    origin,
                    location: "transform".into(),
                },
            )?;
            AugmentConfig {
                p: c.p,
                transforms: c.transforms,
            }
        }
        Some(other) => AugmentConfig {
            p: 1.0,
            transforms: vec![other],
        },
        None => unreachable!("one element parsed"),
    };
    Ok((config, "transform.transforms".into()))
}

#[derive(Clone, Copy, PartialEq)]
enum Dialect {
    /// `type = "RandomContrast"`.
    Toml,
    /// `"__class_fullname__": "albumentations.augmentations.transforms.RandomContrast"`.
    AlbumentationsJson,
}

fn parse_list(
    list: &Value,
    loc: &str,
    origin: &str,
    dialect: Dialect,
) -> Result<Vec<TransformConfig>, AugmentError> {
    let Value::Array(items) = list else {
        return Err(structure(
            origin,
            format!("{loc}: expected a list of transforms"),
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            // the JSON root is a single transform, not a list element
            let here = if dialect == Dialect::AlbumentationsJson && loc == "transform" {
                loc.to_string()
            } else {
                format!("{loc}[{i}]")
            };
            parse_item(item, &here, origin, dialect)
        })
        .collect()
}

fn parse_item(
    item: &Value,
    loc: &str,
    origin: &str,
    dialect: Dialect,
) -> Result<TransformConfig, AugmentError> {
    let Value::Object(obj) = item else {
        return Err(structure(origin, format!("{loc}: expected a table/object")));
    };
    let mut obj: Map<String, Value> = obj.clone();
    let key = match dialect {
        Dialect::Toml => "type",
        Dialect::AlbumentationsJson => "__class_fullname__",
    };
    let written = match obj.remove(key) {
        Some(Value::String(s)) => s,
        _ => return Err(structure(origin, format!("{loc}: missing string `{key}`"))),
    };
    let short = match dialect {
        Dialect::Toml => written.clone(),
        Dialect::AlbumentationsJson if written.starts_with("albumentations.") => {
            written.rsplit('.').next().unwrap_or("").to_string()
        }
        Dialect::AlbumentationsJson => String::new(),
    };
    if !is_supported(&short) {
        return Err(AugmentError::UnknownTransform {
            origin: origin.to_string(),
            location: loc.to_string(),
            name: written,
            supported: SUPPORTED,
        });
    }
    let children = if short == "OneOf" || short == "Compose" {
        let list = obj.remove("transforms").unwrap_or(Value::Array(Vec::new()));
        Some(parse_list(
            &list,
            &format!("{loc}.transforms"),
            origin,
            dialect,
        )?)
    } else {
        None
    };
    obj.insert("type".into(), Value::String(short.clone()));
    let mut config: TransformConfig =
        serde_json::from_value(Value::Object(obj)).map_err(|e| AugmentError::BadParameters {
            origin: origin.to_string(),
            location: loc.to_string(),
            transform: short.clone(),
            message: e.to_string(),
        })?;
    match (&mut config, children) {
        (TransformConfig::OneOf(c), Some(ch)) => c.transforms = ch,
        (TransformConfig::Compose(c), Some(ch)) => c.transforms = ch,
        _ => {}
    }
    Ok(config)
}
