//! Cross-validation folds: the solution's CSV format (`fname,fold,exist_labels`) and
//! deterministic stratified K-fold generation.
//!
//! In the solution's files `fname` is `<ImageId>.png`, `fold` is read as a string: an integer
//! fold index, or `stage_2` for images that are always in the training split (never validated).

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The fold of a record.
///
/// In JSON (the manifest) a fold is a number (`3`) or a string (`"stage_2"`, `"none"`); in
/// binary formats (dataflow exchanges, which cannot read self-described values) it is always
/// its label string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fold {
    /// Validated in fold `k`, trained on in every other fold.
    Index(u8),
    /// Always in the training split (the solution's `stage_2`).
    AlwaysTrain,
    /// No fold: test records, and training images missing from an imported folds file.
    Unassigned,
}

impl Fold {
    /// The spelling used in folds CSVs and reports: `3`, `stage_2`, `none`.
    pub fn label(&self) -> String {
        match self {
            Fold::Index(k) => k.to_string(),
            Fold::AlwaysTrain => "stage_2".into(),
            Fold::Unassigned => "none".into(),
        }
    }

    /// Parses a fold as written in a folds CSV.
    pub fn parse(s: &str) -> Option<Fold> {
        match s.trim() {
            "stage_2" => Some(Fold::AlwaysTrain),
            "none" => Some(Fold::Unassigned),
            t => t.parse::<u8>().ok().map(Fold::Index),
        }
    }

    /// Whether a record with this fold is in the training split when validating on `fold`.
    pub fn is_train_for(&self, fold: u8) -> bool {
        match self {
            Fold::Index(k) => *k != fold,
            Fold::AlwaysTrain => true,
            Fold::Unassigned => false,
        }
    }
}

impl fmt::Display for Fold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl Serialize for Fold {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            FoldRepr::from(*self).serialize(serializer)
        } else {
            serializer.serialize_str(&self.label())
        }
    }
}

impl<'de> Deserialize<'de> for Fold {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let repr = if deserializer.is_human_readable() {
            FoldRepr::deserialize(deserializer)?
        } else {
            FoldRepr::Str(String::deserialize(deserializer)?)
        };
        Fold::try_from(repr).map_err(serde::de::Error::custom)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum FoldRepr {
    Num(u8),
    Str(String),
}

impl From<Fold> for FoldRepr {
    fn from(f: Fold) -> Self {
        match f {
            Fold::Index(k) => FoldRepr::Num(k),
            other => FoldRepr::Str(other.label()),
        }
    }
}

impl TryFrom<FoldRepr> for Fold {
    type Error = String;
    fn try_from(r: FoldRepr) -> Result<Self, String> {
        match r {
            FoldRepr::Num(k) => Ok(Fold::Index(k)),
            FoldRepr::Str(s) => Fold::parse(&s).ok_or_else(|| format!("invalid fold {s:?}")),
        }
    }
}

/// Errors reading a folds CSV.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FoldsError {
    /// The file could not be read.
    #[error("{path}: cannot read folds file: {source}")]
    Io {
        /// The folds CSV.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The header lacks one of the required columns.
    #[error("{path}: header must contain the columns fname, fold, exist_labels; found {found:?}")]
    Header {
        /// The folds CSV.
        path: PathBuf,
        /// The header as found, comma-joined.
        found: String,
    },
    /// A row is malformed, or repeats an image.
    #[error("{path}:{line}: {problem}")]
    Row {
        /// The folds CSV.
        path: PathBuf,
        /// 1-based line of the row in the file (0 if unknown).
        line: u64,
        /// What is wrong with the row.
        problem: String,
    },
}

/// One row of a folds CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldEntry {
    /// Image id (`fname` without its `.png` suffix).
    pub id: String,
    /// The image's fold.
    pub fold: Fold,
    /// `exist_labels`: whether the image has a pneumothorax mask.
    pub label: bool,
    /// 1-based line in the file.
    pub line: u64,
}

/// Reads a folds CSV in the solution's format. Ids have their `.png` suffix removed.
pub fn read_folds_csv(path: &Path) -> Result<Vec<FoldEntry>, FoldsError> {
    let io = |source| FoldsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(io)?;
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| FoldsError::Row {
            path: path.to_path_buf(),
            line: 1,
            problem: e.to_string(),
        })?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(c_name), Some(c_fold), Some(c_label)) =
        (col("fname"), col("fold"), col("exist_labels"))
    else {
        return Err(FoldsError::Header {
            path: path.to_path_buf(),
            found: headers.iter().collect::<Vec<_>>().join(","),
        });
    };
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| FoldsError::Row {
            path: path.to_path_buf(),
            line: e.position().map(|p| p.line()).unwrap_or(0),
            problem: e.to_string(),
        })?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let row_err = |problem: String| FoldsError::Row {
            path: path.to_path_buf(),
            line,
            problem,
        };
        let fname = rec.get(c_name).unwrap_or("");
        if fname.is_empty() {
            return Err(row_err("empty fname".into()));
        }
        let id = fname.strip_suffix(".png").unwrap_or(fname).to_string();
        let fold_s = rec.get(c_fold).unwrap_or("");
        let fold = Fold::parse(fold_s).ok_or_else(|| {
            row_err(format!(
                "fold {fold_s:?} is neither a fold index (0-255) nor stage_2"
            ))
        })?;
        let label = match rec.get(c_label).unwrap_or("") {
            "0" => false,
            "1" => true,
            other => return Err(row_err(format!("exist_labels {other:?} is not 0 or 1"))),
        };
        if let Some(first) = seen.insert(id.clone(), line) {
            return Err(row_err(format!(
                "image {id} listed twice (first on line {first})"
            )));
        }
        out.push(FoldEntry {
            id,
            fold,
            label,
            line,
        });
    }
    Ok(out)
}

/// Deterministic stratified K folds: positives and negatives are shuffled separately (ChaCha8 from
/// `seed`, after sorting by id) and dealt round-robin, negatives continuing where positives ended,
/// so fold sizes differ by at most one and positive counts by at most one.
///
/// # Panics
/// If `k` is 0 ([`crate::siim::plan`] refuses that with an error first).
pub fn stratified_folds(items: &[(String, bool)], k: u8, seed: u64) -> HashMap<String, u8> {
    assert!(k >= 1, "at least one fold");
    let mut pos: Vec<&str> = items
        .iter()
        .filter(|(_, l)| *l)
        .map(|(id, _)| id.as_str())
        .collect();
    let mut neg: Vec<&str> = items
        .iter()
        .filter(|(_, l)| !*l)
        .map(|(id, _)| id.as_str())
        .collect();
    pos.sort_unstable();
    neg.sort_unstable();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    pos.shuffle(&mut rng);
    neg.shuffle(&mut rng);
    pos.into_iter()
        .chain(neg)
        .enumerate()
        .map(|(i, id)| (id.to_string(), ((i % k as usize) as u8)))
        .collect()
}

/// Writes folds in the solution's CSV format (`fname,fold,exist_labels`), rows as given.
pub fn folds_csv_string(rows: &[(String, Fold, bool)]) -> String {
    let mut s = String::from("fname,fold,exist_labels\n");
    for (id, fold, label) in rows {
        s.push_str(&format!("{id}.png,{},{}\n", fold.label(), u8::from(*label)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(tmp: &tempfile::TempDir, body: &str) -> PathBuf {
        let p = tmp.path().join("folds.csv");
        std::fs::write(&p, body).unwrap();
        p
    }

    #[test]
    fn reads_solution_format_with_stage_2() {
        let tmp = tempfile::tempdir().unwrap();
        let p = write(
            &tmp,
            "fname,fold,exist_labels\na.png,0,1\nb.png,4,0\nc.png,stage_2,1\n",
        );
        let rows = read_folds_csv(&p).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0],
            FoldEntry {
                id: "a".into(),
                fold: Fold::Index(0),
                label: true,
                line: 2
            }
        );
        assert_eq!(rows[2].fold, Fold::AlwaysTrain);
        assert!(Fold::AlwaysTrain.is_train_for(0));
        assert!(!Fold::Index(4).is_train_for(4));
    }

    #[test]
    fn bad_rows_name_file_and_line() {
        let tmp = tempfile::tempdir().unwrap();
        let p = write(&tmp, "fname,fold,exist_labels\na.png,0,1\nb.png,x7,0\n");
        let msg = read_folds_csv(&p).unwrap_err().to_string();
        assert!(msg.contains("folds.csv:3") && msg.contains("x7"), "{msg}");
        let p = write(&tmp, "fname,fold,exist_labels\na.png,0,2\n");
        assert!(read_folds_csv(&p)
            .unwrap_err()
            .to_string()
            .contains("exist_labels \"2\""));
        let p = write(&tmp, "fname,fold,exist_labels\na.png,0,1\na.png,1,1\n");
        assert!(read_folds_csv(&p)
            .unwrap_err()
            .to_string()
            .contains("listed twice"));
        let p = write(&tmp, "name,fold\n");
        assert!(matches!(read_folds_csv(&p), Err(FoldsError::Header { .. })));
    }

    #[test]
    fn reference_folds_file_parses_with_expected_counts() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pipelines/folds/train_folds_5.csv");
        let rows = read_folds_csv(&p).unwrap();
        assert_eq!(rows.len(), 10679);
        assert_eq!(rows.iter().filter(|r| r.label).count(), 2379);
        let fold0 = rows.iter().filter(|r| r.fold == Fold::Index(0)).count();
        assert_eq!(fold0, 2137);
    }

    #[test]
    fn stratified_folds_are_balanced_and_deterministic() {
        let items: Vec<(String, bool)> = (0..103)
            .map(|i| (format!("id{i:03}"), i % 5 == 0))
            .collect();
        let a = stratified_folds(&items, 5, 7);
        assert_eq!(a, stratified_folds(&items, 5, 7));
        assert_ne!(a, stratified_folds(&items, 5, 8));
        for k in 0..5u8 {
            let n = a.values().filter(|&&f| f == k).count();
            let p = items.iter().filter(|(id, l)| *l && a[id] == k).count();
            assert!((20..=21).contains(&n), "fold {k} size {n}");
            assert!((4..=5).contains(&p), "fold {k} positives {p}");
        }
    }

    #[test]
    fn fold_serde_round_trip() {
        let v = vec![Fold::Index(3), Fold::AlwaysTrain, Fold::Unassigned];
        let s = serde_json::to_string(&v).unwrap();
        assert_eq!(s, r#"[3,"stage_2","none"]"#);
        assert_eq!(serde_json::from_str::<Vec<Fold>>(&s).unwrap(), v);
    }
}
