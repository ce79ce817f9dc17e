//! The SIIM-ACR input layout as the challenge ships it, and the ingestion plan built from it.
//!
//! `<root>/dicom-images-train/**/<ImageId>.dcm`, `<root>/dicom-images-test/**/<ImageId>.dcm` and
//! `<root>/train-rle.csv` (header `ImageId, EncodedPixels`, with or without the leading space; one
//! row per object; `-1` for an empty image). Mismatches between these files (and an imported folds
//! file) are collected in a [`MismatchReport`], never hidden: among them RLE rows repeated for an
//! image (counted once), images with both RLE rows and a `-1` row (the RLE rows win), and folds
//! left empty or without a positive image. An image id found under both the train and the test
//! directory is an error.

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
    /// The same image id is under both the train and the test directory.
    #[error("image id {id} is in both {TRAIN_DIR} ({train}) and {TEST_DIR} ({test}); an image must be in one split")]
    InBothSplits {
        /// The image id.
        id: String,
        /// Its DICOM under the train directory.
        train: PathBuf,
        /// Its DICOM under the test directory.
        test: PathBuf,
    },
    /// Generated folds were asked for with `k = 0`.
    #[error("stratified folds need at least 1 fold; got 0")]
    ZeroFolds,
    /// A directory is named like a DICOM file (`<ImageId>.dcm`).
    #[error("{path}: is a directory, expected a DICOM file")]
    DirectoryNamedDcm {
        /// The directory.
        path: PathBuf,
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
    /// Number of distinct non-empty rows (objects) of `id`: a repeated row counts once.
    pub fn objects(&self, id: &str) -> usize {
        self.rows
            .get(id)
            .map(|r| {
                r.iter()
                    .filter(|r| !rle::is_empty_rle(&r.rle))
                    .map(|r| rle::canonical(&r.rle))
                    .collect::<std::collections::HashSet<_>>()
                    .len()
            })
            .unwrap_or(0)
    }

    /// The rows of `id` with repeats removed (the first of each canonical spelling kept, in file
    /// order), and the lines of the rows removed.
    pub fn distinct_rows(&self, id: &str) -> (Vec<RleRow>, Vec<u64>) {
        let mut seen = std::collections::HashSet::new();
        let (mut keep, mut dropped) = (Vec::new(), Vec::new());
        for r in self.rows.get(id).map(Vec::as_slice).unwrap_or(&[]) {
            if seen.insert(rle::canonical(&r.rle)) {
                keep.push(r.clone());
            } else {
                dropped.push(r.line);
            }
        }
        (keep, dropped)
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
            let dcm = path
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("dcm"));
            if ft.is_dir() && dcm {
                return Err(SiimError::DirectoryNamedDcm { path });
            } else if ft.is_dir() {
                stack.push(path);
            } else if dcm {
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
    /// Training images with a duplicated RLE row (the same runs twice; counted once), as
    /// `<id> (lines a, b, ...)` listing every line of the duplicated rows.
    pub duplicate_rle_rows: Vec<String>,
    /// Training images with both RLE rows and a `-1` row (the RLE rows win), as
    /// `<id> (lines a, b, ...)`.
    pub empty_and_rle_rows: Vec<String>,
    /// Folds with no training image (by fold index).
    pub empty_folds: Vec<String>,
    /// Folds with training images but no positive one (by fold index).
    pub folds_without_positive: Vec<String>,
}

impl MismatchReport {
    fn lists(&self) -> [(&'static str, &Vec<String>); 10] {
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
            (
                "images with a duplicated RLE row (counted once)",
                &self.duplicate_rle_rows,
            ),
            (
                "images with both RLE rows and a -1 row (RLE rows used)",
                &self.empty_and_rle_rows,
            ),
            ("folds with no training image", &self.empty_folds),
            (
                "folds without a positive training image",
                &self.folds_without_positive,
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
    /// RLE rows (train only; may be empty or `-1`), in file order, duplicated rows dropped.
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
/// An image id under both the train and the test directory is always an error.
pub fn plan(root: &Path, folds: &FoldSource, strict: bool) -> Result<PrepPlan, SiimError> {
    if let FoldSource::Stratified { k: 0, .. } = folds {
        return Err(SiimError::ZeroFolds);
    }
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
    let train_ids: HashMap<&str, &Path> = train
        .iter()
        .map(|d| (d.id.as_str(), d.path.as_path()))
        .collect();
    if let Some(d) = test.iter().find(|d| train_ids.contains_key(d.id.as_str())) {
        return Err(SiimError::InBothSplits {
            id: d.id.clone(),
            train: train_ids[d.id.as_str()].to_path_buf(),
            test: d.path.clone(),
        });
    }
    let test_ids: HashMap<&str, ()> = test.iter().map(|d| (d.id.as_str(), ())).collect();
    let table = read_rle_csv(&csv)?;
    let mut report = MismatchReport::default();
    for d in &train {
        let Some(rows) = table.rows.get(&d.id) else {
            report.dicom_without_rle.push(d.id.clone());
            continue;
        };
        let lines = |keep: &dyn Fn(&RleRow) -> bool| {
            let l: Vec<String> = rows
                .iter()
                .filter(|r| keep(r))
                .map(|r| r.line.to_string())
                .collect();
            format!("{} (lines {})", d.id, l.join(", "))
        };
        let (_, dropped) = table.distinct_rows(&d.id);
        if !dropped.is_empty() {
            let repeated: std::collections::HashSet<String> = rows
                .iter()
                .filter(|r| dropped.contains(&r.line))
                .map(|r| rle::canonical(&r.rle))
                .collect();
            report
                .duplicate_rle_rows
                .push(lines(&|r| repeated.contains(&rle::canonical(&r.rle))));
        }
        let empty = rows.iter().filter(|r| rle::is_empty_rle(&r.rle)).count();
        if empty > 0 && empty < rows.len() {
            report.empty_and_rle_rows.push(lines(&|_| true));
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
    // Folds that end up empty or without a positive image: generated folds 0..k, imported
    // folds 0..=the largest index in the file.
    let n_folds = match folds {
        FoldSource::Stratified { k, .. } => usize::from(*k),
        FoldSource::Csv { entries, .. } => entries
            .iter()
            .filter_map(|e| match e.fold {
                Fold::Index(k) => Some(usize::from(k) + 1),
                _ => None,
            })
            .max()
            .unwrap_or(0),
    };
    let mut per_fold = vec![(0usize, 0usize); n_folds];
    for d in &train {
        if let Some(c) = fold_of.get(&d.id).and_then(|f| match f {
            Fold::Index(k) => per_fold.get_mut(usize::from(*k)),
            _ => None,
        }) {
            c.0 += 1;
            c.1 += usize::from(label_of(&d.id));
        }
    }
    for (k, &(images, positives)) in per_fold.iter().enumerate() {
        if images == 0 {
            report.empty_folds.push(k.to_string());
        } else if positives == 0 {
            report.folds_without_positive.push(k.to_string());
        }
    }
    for l in [
        &mut report.fold_ids_without_image,
        &mut report.images_without_fold,
        &mut report.label_disagreements,
        &mut report.duplicate_rle_rows,
        &mut report.empty_and_rle_rows,
    ] {
        l.sort();
    }
    if strict && !report.is_clean() {
        return Err(SiimError::Strict(report.to_string()));
    }
    let mut items = Vec::with_capacity(train.len() + test.len());
    for d in train {
        let (rle_rows, _) = table.distinct_rows(&d.id);
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

#[cfg(test)]
mod tests;
