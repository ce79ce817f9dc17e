//! The SIIM-ACR input layout as the challenge ships it, and the ingestion plan built from it.
//!
//! `<root>/dicom-images-train/**/<ImageId>.dcm`, `<root>/dicom-images-test/**/<ImageId>.dcm` and
//! `<root>/train-rle.csv` (header `ImageId, EncodedPixels`, with or without the leading space; one
//! row per object; `-1` for an empty image). Mismatches between these files (and an imported folds
//! file) are collected in a [`MismatchReport`], never hidden.

use crate::folds::{stratified_folds, Fold, FoldEntry};
use crate::rle;
use crate::shard::format::Split;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Directory of training DICOMs under the input root.
pub const TRAIN_DIR: &str = "dicom-images-train";
/// Directory of test DICOMs under the input root.
pub const TEST_DIR: &str = "dicom-images-test";
/// RLE CSV under the input root.
pub const RLE_CSV: &str = "train-rle.csv";

/// Input layout and CSV errors.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SiimError {
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A required part of the input layout does not exist.
    #[error("{path}: missing; expected the SIIM layout ({TRAIN_DIR}/, {TEST_DIR}/, {RLE_CSV})")]
    Missing {
        /// The missing directory or file.
        path: PathBuf,
    },
    /// Two DICOM files have the same image id (file stem).
    #[error("image id {id} appears twice: {first} and {second}")]
    DuplicateId {
        /// The repeated image id.
        id: String,
        /// The first file with that id (in path order).
        first: PathBuf,
        /// The second file with that id.
        second: PathBuf,
    },
    /// The RLE CSV's header is not `ImageId, EncodedPixels`.
    #[error("{path}: header must be `ImageId, EncodedPixels`; found {found:?}")]
    Header {
        /// The RLE CSV.
        path: PathBuf,
        /// The header as found, comma-joined.
        found: String,
    },
    /// A CSV row is malformed.
    #[error("{path}:{line}: {problem}")]
    Row {
        /// The RLE CSV.
        path: PathBuf,
        /// 1-based line of the row in the CSV (0 if unknown).
        line: u64,
        /// What is wrong with the row.
        problem: String,
    },
    /// A row's `EncodedPixels` is not a valid RLE string.
    #[error("{path}:{line}: image {id}: {source}")]
    Rle {
        /// The RLE CSV.
        path: PathBuf,
        /// 1-based line of the row in the CSV.
        line: u64,
        /// The row's image id.
        id: String,
        /// The RLE parsing error.
        source: rle::RleError,
    },
    /// `--strict` was given and the inputs have mismatches; holds the formatted report.
    #[error("mismatches between the inputs (--strict):\n{0}")]
    Strict(String),
}

/// One DICOM file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DicomFile {
    /// Image id: the file name without its `.dcm` extension.
    pub id: String,
    /// Path of the file.
    pub path: PathBuf,
}

/// One row of `train-rle.csv`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RleRow {
    /// 1-based line in the CSV.
    pub line: u64,
    /// The encoded pixels, `-1` for an empty image.
    pub rle: String,
}

/// `train-rle.csv`, grouped by image id (rows in file order).
#[derive(Debug, Clone, Default)]
pub struct RleTable {
    /// Path of the CSV that was read.
    pub path: PathBuf,
    /// Rows by image id, each image's rows in file order.
    pub rows: BTreeMap<String, Vec<RleRow>>,
}

impl RleTable {
    /// Number of non-empty rows (objects) of `id`.
    pub fn objects(&self, id: &str) -> usize {
        self.rows
            .get(id)
            .map(|r| r.iter().filter(|r| !rle::is_empty_rle(&r.rle)).count())
            .unwrap_or(0)
    }
}

/// Lists `<ImageId>.dcm` files below `dir`, sorted by id; ids must be unique.
pub fn find_dicoms(dir: &Path) -> Result<Vec<DicomFile>, SiimError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| SiimError::Io {
            path: d.clone(),
            source,
        })?;
        for e in entries {
            let e = e.map_err(|source| SiimError::Io {
                path: d.clone(),
                source,
            })?;
            let path = e.path();
            let ft = e.file_type().map_err(|source| SiimError::Io {
                path: path.clone(),
                source,
            })?;
            if ft.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("dcm"))
            {
                let id = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.push(DicomFile { id, path });
            }
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id).then_with(|| a.path.cmp(&b.path)));
    for w in out.windows(2) {
        if w[0].id == w[1].id {
            return Err(SiimError::DuplicateId {
                id: w[0].id.clone(),
                first: w[0].path.clone(),
                second: w[1].path.clone(),
            });
        }
    }
    Ok(out)
}

/// Reads `train-rle.csv`; token-level RLE errors are reported here, with id and line.
pub fn read_rle_csv(path: &Path) -> Result<RleTable, SiimError> {
    let text = std::fs::read(path).map_err(|source| SiimError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_slice());
    let headers = rdr
        .headers()
        .map_err(|e| SiimError::Row {
            path: path.to_path_buf(),
            line: 1,
            problem: e.to_string(),
        })?
        .clone();
    let names: Vec<&str> = headers.iter().map(str::trim).collect();
    if names != ["ImageId", "EncodedPixels"] {
        return Err(SiimError::Header {
            path: path.to_path_buf(),
            found: headers.iter().collect::<Vec<_>>().join(","),
        });
    }
    let mut table = RleTable {
        path: path.to_path_buf(),
        rows: BTreeMap::new(),
    };
    for rec in rdr.records() {
        let rec = rec.map_err(|e| SiimError::Row {
            path: path.to_path_buf(),
            line: e.position().map(|p| p.line()).unwrap_or(0),
            problem: e.to_string(),
        })?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.len() != 2 {
            return Err(SiimError::Row {
                path: path.to_path_buf(),
                line,
                problem: format!("{} fields, expected 2", rec.len()),
            });
        }
        let id = rec[0].trim().to_string();
        if id.is_empty() {
            return Err(SiimError::Row {
                path: path.to_path_buf(),
                line,
                problem: "empty ImageId".into(),
            });
        }
        let enc = rec[1].trim().to_string();
        rle::parse_runs(&enc, u64::MAX).map_err(|source| SiimError::Rle {
            path: path.to_path_buf(),
            line,
            id: id.clone(),
            source,
        })?;
        table
            .rows
            .entry(id)
            .or_default()
            .push(RleRow { line, rle: enc });
    }
    Ok(table)
}

/// How folds are assigned during ingestion.
#[derive(Debug, Clone)]
pub enum FoldSource {
    /// Imported from a folds CSV in the solution's format.
    Csv {
        /// The folds CSV.
        path: PathBuf,
        /// Its rows, as read by [`crate::folds::read_folds_csv`].
        entries: Vec<FoldEntry>,
    },
    /// Generated: deterministic stratified K folds.
    Stratified {
        /// Number of folds.
        k: u8,
        /// Seed of the shuffle (see [`crate::folds::stratified_folds`]).
        seed: u64,
    },
}

/// Everything that did not line up between the inputs. Each list is sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MismatchReport {
    /// Training DICOMs without an RLE row (ingested with an empty mask, as the reference does).
    pub dicom_without_rle: Vec<String>,
    /// RLE rows whose image has no DICOM (not ingested).
    pub rle_without_dicom: Vec<String>,
    /// Test DICOMs that also have RLE rows (ingested as test; rows ignored).
    pub test_with_rle: Vec<String>,
    /// Fold-file ids without a training image.
    pub fold_ids_without_image: Vec<String>,
    /// Training images missing from the folds file (fold `none`: never trained or validated on).
    pub images_without_fold: Vec<String>,
    /// Images whose folds-file `exist_labels` disagrees with the RLE rows (the RLE wins).
    pub label_disagreements: Vec<String>,
}

impl MismatchReport {
    fn lists(&self) -> [(&'static str, &Vec<String>); 6] {
        [
            (
                "training DICOMs without an RLE row (empty mask)",
                &self.dicom_without_rle,
            ),
            (
                "RLE rows without a DICOM (skipped)",
                &self.rle_without_dicom,
            ),
            (
                "test DICOMs with RLE rows (rows ignored)",
                &self.test_with_rle,
            ),
            (
                "fold-file ids without an image",
                &self.fold_ids_without_image,
            ),
            (
                "training images missing from the folds file (fold none)",
                &self.images_without_fold,
            ),
            (
                "exist_labels disagreeing with the RLE rows (RLE used)",
                &self.label_disagreements,
            ),
        ]
    }

    /// True when every list is empty: the inputs line up.
    pub fn is_clean(&self) -> bool {
        self.lists().iter().all(|(_, l)| l.is_empty())
    }
}

impl fmt::Display for MismatchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (what, list) in self.lists() {
            if list.is_empty() {
                continue;
            }
            let shown: Vec<&str> = list.iter().take(5).map(String::as_str).collect();
            let more = if list.len() > 5 {
                format!(", ... ({} more)", list.len() - 5)
            } else {
                String::new()
            };
            writeln!(f, "  {:>6}  {what}: {}{more}", list.len(), shown.join(", "))?;
        }
        Ok(())
    }
}

/// One image to ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepItem {
    /// Image id.
    pub id: String,
    /// Path of the image's DICOM file.
    pub path: PathBuf,
    /// Train or test, from the directory the DICOM was found in.
    pub split: Split,
    /// RLE rows (train only; may be empty or `-1`).
    pub rle_rows: Vec<RleRow>,
    /// The image's fold ([`Fold::Unassigned`] for test images).
    pub fold: Fold,
}

impl PrepItem {
    /// Label from the RLE rows (`None` for test images).
    pub fn label(&self) -> Option<bool> {
        (self.split == Split::Train)
            .then(|| self.rle_rows.iter().any(|r| !rle::is_empty_rle(&r.rle)))
    }
}

/// The ingestion plan: items sorted (train by id, then test by id) and the report.
#[derive(Debug, Clone)]
pub struct PrepPlan {
    /// Images to ingest: train sorted by id, then test sorted by id.
    pub items: Vec<PrepItem>,
    /// Mismatches found between the inputs.
    pub report: MismatchReport,
}

/// Scans `root` and builds the plan. With `strict`, any mismatch is an error listing them all.
pub fn plan(root: &Path, folds: &FoldSource, strict: bool) -> Result<PrepPlan, SiimError> {
    let train_dir = root.join(TRAIN_DIR);
    let csv = root.join(RLE_CSV);
    for p in [&train_dir, &csv] {
        if !p.exists() {
            return Err(SiimError::Missing { path: p.clone() });
        }
    }
    let train = find_dicoms(&train_dir)?;
    let test_dir = root.join(TEST_DIR);
    let test = if test_dir.exists() {
        find_dicoms(&test_dir)?
    } else {
        Vec::new()
    };
    let table = read_rle_csv(&csv)?;
    let mut report = MismatchReport::default();
    let train_ids: HashMap<&str, ()> = train.iter().map(|d| (d.id.as_str(), ())).collect();
    let test_ids: HashMap<&str, ()> = test.iter().map(|d| (d.id.as_str(), ())).collect();
    for d in &train {
        if !table.rows.contains_key(&d.id) {
            report.dicom_without_rle.push(d.id.clone());
        }
    }
    for id in table.rows.keys() {
        if test_ids.contains_key(id.as_str()) {
            report.test_with_rle.push(id.clone());
        } else if !train_ids.contains_key(id.as_str()) {
            report.rle_without_dicom.push(id.clone());
        }
    }
    let label_of = |id: &str| table.objects(id) > 0;
    let fold_of: HashMap<String, Fold> = match folds {
        FoldSource::Csv { entries, .. } => {
            let mut m = HashMap::with_capacity(entries.len());
            for e in entries {
                if !train_ids.contains_key(e.id.as_str()) {
                    report.fold_ids_without_image.push(e.id.clone());
                    continue;
                }
                if e.label != label_of(&e.id) {
                    report.label_disagreements.push(e.id.clone());
                }
                m.insert(e.id.clone(), e.fold);
            }
            for d in &train {
                if !m.contains_key(&d.id) {
                    report.images_without_fold.push(d.id.clone());
                }
            }
            m
        }
        FoldSource::Stratified { k, seed } => {
            let items: Vec<(String, bool)> = train
                .iter()
                .map(|d| (d.id.clone(), label_of(&d.id)))
                .collect();
            stratified_folds(&items, *k, *seed)
                .into_iter()
                .map(|(id, f)| (id, Fold::Index(f)))
                .collect()
        }
    };
    for l in [
        &mut report.fold_ids_without_image,
        &mut report.images_without_fold,
        &mut report.label_disagreements,
    ] {
        l.sort();
    }
    if strict && !report.is_clean() {
        return Err(SiimError::Strict(report.to_string()));
    }
    let mut items = Vec::with_capacity(train.len() + test.len());
    for d in train {
        let rle_rows = table.rows.get(&d.id).cloned().unwrap_or_default();
        let fold = fold_of.get(&d.id).copied().unwrap_or(Fold::Unassigned);
        items.push(PrepItem {
            id: d.id,
            path: d.path,
            split: Split::Train,
            rle_rows,
            fold,
        });
    }
    for d in test {
        items.push(PrepItem {
            id: d.id,
            path: d.path,
            split: Split::Test,
            rle_rows: Vec::new(),
            fold: Fold::Unassigned,
        });
    }
    Ok(PrepPlan { items, report })
}
