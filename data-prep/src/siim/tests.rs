//! Tests of the SIIM layout: DICOM discovery, the RLE CSV, folds and the prep plan.

use super::*;
use crate::folds::FoldEntry;

/// A SIIM layout in a temp dir: empty `.dcm` files (the plan does not read them) and the CSV.
fn layout(train: &[&str], test: &[&str], csv: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for (dir, ids) in [(TRAIN_DIR, train), (TEST_DIR, test)] {
        let d = tmp.path().join(dir).join("1.2.3");
        std::fs::create_dir_all(&d).unwrap();
        for id in ids {
            std::fs::write(d.join(format!("{id}.dcm")), b"").unwrap();
        }
    }
    std::fs::write(
        tmp.path().join(RLE_CSV),
        format!("ImageId, EncodedPixels\n{csv}"),
    )
    .unwrap();
    tmp
}

const ONE_FOLD: FoldSource = FoldSource::Stratified { k: 1, seed: 0 };

#[test]
fn repeated_rows_are_counted_once_and_reported() {
    let tmp = layout(
        &["a", "b", "c"],
        &[],
        "a, 1 2\na,  1 2 \nb, -1\nb, 3 4\nc, 5 6\nc, -1\nc, -1\n",
    );
    let plan = plan(tmp.path(), &ONE_FOLD, false).unwrap();
    let r = &plan.report;
    assert_eq!(
        r.duplicate_rle_rows,
        vec!["a (lines 2, 3)", "c (lines 7, 8)"]
    );
    assert_eq!(
        r.empty_and_rle_rows,
        vec!["b (lines 4, 5)", "c (lines 6, 7, 8)"]
    );
    let a = plan.items.iter().find(|i| i.id == "a").unwrap();
    assert_eq!(a.rle_rows.len(), 1, "the repeat is dropped");
    assert_eq!(a.rle_rows[0].line, 2);
    let c = plan.items.iter().find(|i| i.id == "c").unwrap();
    assert_eq!(c.rle_rows.len(), 2);
    assert_eq!(c.label(), Some(true));
    let shown = r.to_string();
    assert!(
        shown.contains(
            "       2  images with a duplicated RLE row (counted once): a (lines 2, 3), c (lines \
             7, 8)"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("images with both RLE rows and a -1 row (RLE rows used): b (lines 4, 5)"),
        "{shown}"
    );
    let err = super::plan(tmp.path(), &ONE_FOLD, true)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("mismatches between the inputs (--strict):\n")
            && err.contains("duplicated RLE row")
            && err.contains("both RLE rows and a -1 row"),
        "{err}"
    );
}

#[test]
fn an_image_in_both_splits_is_an_error_naming_both_files() {
    let tmp = layout(&["a", "x"], &["x", "y"], "a, -1\nx, -1\n");
    let err = plan(tmp.path(), &ONE_FOLD, false).unwrap_err().to_string();
    let (train, test) = (
        tmp.path().join(TRAIN_DIR).join("1.2.3/x.dcm"),
        tmp.path().join(TEST_DIR).join("1.2.3/x.dcm"),
    );
    assert_eq!(
        err,
        format!(
            "image id x is in both {TRAIN_DIR} ({}) and {TEST_DIR} ({}); an image must be in \
             one split",
            train.display(),
            test.display()
        )
    );
}

#[test]
fn generated_folds_left_empty_or_without_positives_are_reported() {
    let tmp = layout(&["a", "b", "c"], &[], "a, 1 2\nb, -1\nc, -1\n");
    let five = FoldSource::Stratified { k: 5, seed: 1 };
    let r = plan(tmp.path(), &five, false).unwrap().report;
    assert_eq!(r.empty_folds, vec!["3", "4"]);
    assert_eq!(r.folds_without_positive, vec!["1", "2"]);
    assert!(r
        .to_string()
        .contains("       2  folds with no training image: 3, 4"));
    assert!(plan(tmp.path(), &five, true).is_err());
    let two = FoldSource::Stratified { k: 2, seed: 1 };
    let r = plan(tmp.path(), &two, false).unwrap().report;
    assert!(r.empty_folds.is_empty());
    assert_eq!(r.folds_without_positive, vec!["1"]);
    assert!(matches!(
        plan(tmp.path(), &FoldSource::Stratified { k: 0, seed: 1 }, false),
        Err(SiimError::ZeroFolds)
    ));
}

#[test]
fn imported_folds_left_empty_or_without_positives_are_reported() {
    let tmp = layout(&["a", "b", "c"], &[], "a, 1 2\nb, -1\nc, 3 4\n");
    let entry = |id: &str, k: u8, label: bool| FoldEntry {
        id: id.into(),
        fold: Fold::Index(k),
        label,
        line: 0,
    };
    let folds = FoldSource::Csv {
        path: "folds.csv".into(),
        entries: vec![
            entry("a", 0, true),
            entry("b", 2, false),
            entry("c", 3, true),
            entry("gone", 1, true),
        ],
    };
    let r = plan(tmp.path(), &folds, false).unwrap().report;
    assert_eq!(r.empty_folds, vec!["1"]);
    assert_eq!(r.folds_without_positive, vec!["2"]);
    assert_eq!(r.fold_ids_without_image, vec!["gone"]);
    assert!(plan(tmp.path(), &folds, true).is_err());
}

#[test]
fn a_directory_named_like_a_dicom_is_an_error() {
    let tmp = layout(&["a"], &[], "a, -1\n");
    let dir = tmp.path().join(TEST_DIR).join("x.dcm");
    std::fs::create_dir(&dir).unwrap();
    let err = plan(tmp.path(), &ONE_FOLD, false).unwrap_err().to_string();
    assert_eq!(
        err,
        format!("{}: is a directory, expected a DICOM file", dir.display())
    );
}

#[test]
fn a_clean_layout_has_a_clean_report() {
    let tmp = layout(&["a", "b"], &["t"], "a, 1 2\nb, 3 1\n");
    let plan = plan(tmp.path(), &ONE_FOLD, true).unwrap();
    assert!(plan.report.is_clean(), "{}", plan.report);
    assert_eq!(plan.items.len(), 3);
}
