//! Blends of experiments (TripletSubmit.py's `RESULT_WEIGHTS`): a prediction set whose map of
//! each image is the weighted sum of the members' maps of that image, `Σ_k w_k · p_k`, so the
//! sweep, export and submission read a blend like any other set.
//!
//! - `[blend]` of a pipeline file names the members (prediction stores of other runs) with their
//!   weights; a blend is made for each set name the members have in common (`valid-top`,
//!   `test-top`), or for the names `sets` lists.
//! - Maps of another size than the blend's (default: the largest member's) are first resized
//!   with `cv2.resize(p, (S, S), interpolation=INTER_LINEAR)` on the float map (the solution's
//!   `RESHAPE_MODE`, e.g. 512-side models blended at 1024).
//! - The sum is taken in f32 in member order, `acc += w_k · p_k` (numpy's float32 arithmetic),
//!   where `p_k` is the member's stored probability (`q / 255` for u8 maps); the result is stored
//!   in the blend's encoding (u8 by default: `round(clamp(acc, 0, 1) · 255)`).
//! - Every member must hold exactly the same image ids in each set; the blend keeps the first
//!   member's record order and metadata, and the ground truth of the first member stored at the
//!   blend's size.

use crate::data::error::{DataError, RecordError, RecordOrigin, Stage};
use crate::data::predictions::{open_prediction_set, resize_map, set_encoding};
use crate::data::prob_map::MapEncoding;
use data_prep::shard::{Decoder, Record, ShardSet};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One member of a blend.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlendMember {
    /// The member's prediction store (a directory of prediction sets).
    pub predictions: PathBuf,
    /// Its weight.
    pub weight: f64,
}

/// `[blend]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlendConfig {
    /// The members, in summation order.
    pub members: Vec<BlendMember>,
    /// The set names to blend (default: every set all members hold).
    pub sets: Option<Vec<String>>,
    /// Side of the blended maps (default: the largest member's).
    pub size: Option<u32>,
    /// How the blended maps are stored.
    #[serde(default)]
    pub encoding: MapEncoding,
    /// The blend's prediction store (default: `<run dir>/predictions`).
    pub out: Option<PathBuf>,
    /// zstd level of the stored maps.
    #[serde(default = "default_level")]
    pub level: i32,
}

fn default_level() -> i32 {
    3
}

/// How far the weights may sum from 1.
const WEIGHT_SUM_TOLERANCE: f64 = 1e-6;

impl BlendConfig {
    /// Checks the values; `Err((key, problem))` names the key under `blend.`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.members.len() < 2 {
            return Err((
                "members".into(),
                format!("{} member(s): a blend needs at least 2", self.members.len()),
            ));
        }
        for (k, m) in self.members.iter().enumerate() {
            if !(m.weight.is_finite() && m.weight > 0.0) {
                return Err((
                    format!("members[{k}].weight"),
                    format!("{}: must be finite and > 0", m.weight),
                ));
            }
        }
        let sum: f64 = self.members.iter().map(|m| m.weight).sum();
        if (sum - 1.0).abs() > WEIGHT_SUM_TOLERANCE {
            return Err((
                "members".into(),
                format!(
                    "the weights sum to {}; they must sum to 1",
                    (sum * 1e9).round() / 1e9
                ),
            ));
        }
        crate::data::predictions::check_set_settings(self.size, self.level)?;
        if let Some(sets) = &self.sets {
            if sets.is_empty() {
                return Err(("sets".into(), "empty: name at least one set".into()));
            }
            for (k, name) in sets.iter().enumerate() {
                if !is_plain_name(name) {
                    return Err((
                        format!("sets[{k}]"),
                        format!("{name:?}: a set name is a plain directory name"),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

/// The set names to blend: `config.sets`, else the names every member store holds (sorted).
/// Errors name the store that lacks a set.
pub fn blend_set_names(config: &BlendConfig) -> Result<Vec<String>, DataError> {
    let holds = |store: &Path, name: &str| store.join(name).join("manifest.json").is_file();
    if let Some(sets) = &config.sets {
        for name in sets {
            if let Some(m) = config.members.iter().find(|m| !holds(&m.predictions, name)) {
                return Err(DataError::Invalid(format!(
                    "{}: holds no prediction set {name:?} (blend.sets names it)",
                    m.predictions.display()
                )));
            }
        }
        return Ok(sets.clone());
    }
    let first = &config.members[0].predictions;
    let names: Vec<String> = crate::data::predictions::prediction_sets(first)?
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| config.members.iter().all(|m| holds(&m.predictions, name)))
        .collect();
    if names.is_empty() {
        return Err(DataError::Invalid(format!(
            "the members' stores have no prediction set name in common ({} and {})",
            first.display(),
            config.members[1].predictions.display()
        )));
    }
    Ok(names)
}

/// One member's set, opened, with the record of each blend position.
struct MemberSet {
    shards: ShardSet,
    weight: f32,
    encoding: MapEncoding,
    /// The member's record index of every blend position.
    records: Vec<usize>,
}

/// The blend of one set name over the members: what each output record is made of.
pub struct Blender {
    name: String,
    members: Vec<MemberSet>,
    size: u32,
    encoding: MapEncoding,
    /// The member whose ground truth (at the blend's size) the blend keeps; none is stored at
    /// that size: the first member's, nearest-resized.
    truth_from: Option<usize>,
}

impl Blender {
    /// Opens set `name` of every member and lines their records up by id. Errors name the set
    /// and the first id a member lacks or has in excess.
    pub fn open(config: &BlendConfig, name: &str) -> Result<Blender, DataError> {
        let mut members = Vec::with_capacity(config.members.len());
        for m in &config.members {
            let shards = open_prediction_set(&m.predictions.join(name))?;
            let encoding = set_encoding(&shards);
            members.push(MemberSet {
                shards,
                weight: m.weight as f32,
                encoding,
                records: Vec::new(),
            });
        }
        let first = &members[0].shards;
        let ids: Vec<&str> = (0..first.len())
            .map(|i| first.record(i).id.as_str())
            .collect();
        let mut lined_up = Vec::with_capacity(members.len());
        for m in &members {
            let dir = m.shards.dir();
            if m.shards.len() != ids.len() {
                let by_id: HashMap<&str, ()> = ids.iter().map(|&id| (id, ())).collect();
                let extra = (0..m.shards.len())
                    .map(|i| m.shards.record(i).id.as_str())
                    .find(|id| !by_id.contains_key(id));
                return Err(DataError::Invalid(format!(
                    "{}: holds {} maps but {} holds {}{}; blended sets hold the same images",
                    dir.display(),
                    m.shards.len(),
                    first.dir().display(),
                    ids.len(),
                    extra
                        .map(|id| format!(" (first extra image {id})"))
                        .unwrap_or_default()
                )));
            }
            let records = ids
                .iter()
                .map(|&id| {
                    m.shards.position(id).map_err(|_| {
                        DataError::Invalid(format!(
                            "{}: has no map of image {id}, which {} holds; blended sets hold the \
                             same images",
                            dir.display(),
                            first.dir().display()
                        ))
                    })
                })
                .collect::<Result<Vec<usize>, DataError>>()?;
            lined_up.push(records);
        }
        for (m, records) in members.iter_mut().zip(lined_up) {
            m.records = records;
        }
        let largest = members.iter().map(|m| m.shards.manifest().size).max();
        let size = config.size.or(largest).expect("at least one member");
        let truth_from = members
            .iter()
            .position(|m| m.shards.manifest().size == size);
        Ok(Blender {
            name: name.to_string(),
            members,
            size,
            encoding: config.encoding,
            truth_from,
        })
    }

    /// The set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of output records.
    pub fn len(&self) -> usize {
        self.members[0].records.len()
    }

    /// Whether the blend has no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Side of the blended maps.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// The members' shard datasets, in member order.
    pub fn member_sets(&self) -> impl Iterator<Item = &ShardSet> {
        self.members.iter().map(|m| &m.shards)
    }

    /// Where output record `position` comes from (its first member's record).
    pub fn origin(&self, position: usize) -> RecordOrigin {
        let m = &self.members[0];
        let r = m.shards.record(m.records[position]);
        RecordOrigin::Shard {
            path: m.shards.shards()[r.shard as usize].path().to_path_buf(),
            slot: r.slot as usize,
            id: r.id.clone(),
        }
    }

    /// The blended record of `position`.
    pub fn blend(&self, position: usize, decoder: &mut Decoder) -> Result<Record, RecordError> {
        let side = self.size as usize;
        let mut acc = vec![0f32; side * side];
        let mut out: Option<Record> = None;
        let mut truth = None;
        for (k, m) in self.members.iter().enumerate() {
            let index = m.records[position];
            let rec = m.shards.read(index, decoder).map_err(|e| {
                let r = m.shards.record(index);
                let origin = RecordOrigin::Shard {
                    path: m.shards.shards()[r.shard as usize].path().to_path_buf(),
                    slot: r.slot as usize,
                    id: r.id.clone(),
                };
                RecordError::new(origin, Stage::Read, &e)
            })?;
            let (w, h) = (rec.meta.width as usize, rec.meta.height as usize);
            let mut probs = m.encoding.decode(&rec.image);
            if (w, h) != (side, side) {
                probs = resize_map(&probs, w, h, side, side);
            }
            for (a, &p) in acc.iter_mut().zip(&probs) {
                *a += m.weight * p;
            }
            if Some(k) == self.truth_from {
                truth = rec.mask.clone();
            }
            if k == 0 {
                out = Some(rec);
            }
        }
        let mut rec = out.expect("at least one member");
        rec.meta.width = self.size;
        rec.meta.height = self.size;
        rec.image = self.encoding.encode(&acc);
        rec.mask = match (truth, rec.mask.take()) {
            (Some(t), _) => Some(t),
            // No member at the blend's size: the first member's truth, nearest-resized.
            (None, Some(first)) => {
                let w = self.members[0].shards.manifest().size as usize;
                Some(nearest(&first, w, side))
            }
            (None, None) => None,
        };
        Ok(rec)
    }
}

/// Nearest-neighbour resize of a square 0/255 mask from `from`² to `to`² (OpenCV's
/// `INTER_NEAREST`: source index `floor(d · from / to)`).
fn nearest(mask: &[u8], from: usize, to: usize) -> Vec<u8> {
    let src = |d: usize| (d * from / to).min(from - 1);
    let mut out = Vec::with_capacity(to * to);
    for y in 0..to {
        let row = &mask[src(y) * from..(src(y) + 1) * from];
        out.extend((0..to).map(|x| row[src(x)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(weights: &[f64]) -> BlendConfig {
        BlendConfig {
            members: weights
                .iter()
                .map(|&weight| BlendMember {
                    predictions: "x".into(),
                    weight,
                })
                .collect(),
            sets: None,
            size: None,
            encoding: MapEncoding::U8,
            out: None,
            level: 3,
        }
    }

    #[test]
    fn weights_must_be_positive_and_sum_to_one() {
        assert!(config(&[0.4, 0.2, 0.2, 0.2]).validate().is_ok());
        assert!(config(&[0.2, 0.15, 0.4, 0.25]).validate().is_ok());
        let err = config(&[0.5, 0.4]).validate().unwrap_err();
        assert_eq!(err.0, "members");
        assert!(err.1.contains("sum to 0.9"), "{}", err.1);
        let err = config(&[1.5, -0.5]).validate().unwrap_err();
        assert_eq!(err.0, "members[1].weight");
        assert!(config(&[1.0])
            .validate()
            .unwrap_err()
            .1
            .contains("at least 2"));
        let mut c = config(&[0.5, 0.5]);
        c.sets = Some(vec!["../x".into()]);
        assert_eq!(c.validate().unwrap_err().0, "sets[0]");
    }

    #[test]
    fn nearest_resize_repeats_pixels() {
        assert_eq!(nearest(&[0, 255, 255, 0], 2, 4)[..4], [0, 0, 255, 255]);
        assert_eq!(nearest(&[0, 255, 255, 0], 2, 4)[8..12], [255, 255, 0, 0]);
        assert_eq!(nearest(&[7; 9], 3, 3), vec![7; 9]);
    }
}
