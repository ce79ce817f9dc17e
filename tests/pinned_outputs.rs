//! Pinned outputs: the demo dataset's prep and bulk re-augmentation (the synthetic dataset of
//! 120 train + 24 test images at 256², seed 7, the settings and transforms `make demo` used when
//! the values were recorded) must keep producing the same shard contents, manifest records and
//! folds.csv, byte for byte. A refactor that changes any output byte fails here; a deliberate
//! format change updates the constants below (and says so in its commit).

use crate::cli_util::{bin, fnv_hex, run_ok, shard_content_checksum, shard_files, synth};
use std::path::Path;

/// (file, checksum of its content after the header) of the demo's prep output.
const PREP_SHARDS: &[(&str, &str)] = &[
    ("shard-00000.pfs", "31aa126457de9358"),
    ("shard-00001.pfs", "95f6750b23ce9737"),
    ("shard-00002.pfs", "fccd01e786a1617a"),
    ("shard-00003.pfs", "cffdfc81079fba0f"),
    ("shard-00004.pfs", "54618f685db5d2a2"),
];
/// Checksum of the demo's prep `manifest.json` records (the `source` block names temp paths).
const PREP_RECORDS: &str = "4dd571ee43aa62a3";
/// Checksum of the demo's `folds.csv`.
const PREP_FOLDS: &str = "ccb9d66f4f669136";
/// (file, checksum) of the demo's bulk re-augmentation (pipelines/demo.toml, 2 copies).
const AUGMENT_SHARDS: &[(&str, &str)] = &[
    ("shard-00000.pfs", "d0fe0f1bc2dc49d5"),
    ("shard-00001.pfs", "9a213514b17a56d5"),
    ("shard-00002.pfs", "9123a9c3a0a573d5"),
    ("shard-00003.pfs", "ded9ab5e4a90c501"),
    ("shard-00004.pfs", "3cab429b10368ab6"),
];
/// Checksum of the augmented dataset's manifest records.
const AUGMENT_RECORDS: &str = "898a82a58d81e215";

/// Checksum of the manifest's records, one line per record with its fields in a fixed order
/// (the manifest's `source` block names temp paths, so the file itself is not pinned).
fn records_checksum(dir: &Path) -> String {
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let keys = [
        "id",
        "shard",
        "slot",
        "split",
        "label",
        "fold",
        "height",
        "width",
        "orig_height",
        "orig_width",
        "n_objects",
    ];
    let mut text = String::new();
    for r in m["records"].as_array().unwrap() {
        let fields: Vec<String> = keys.iter().map(|k| r[*k].to_string()).collect();
        text.push_str(&fields.join(" "));
        text.push('\n');
    }
    fnv_hex(text.as_bytes())
}

fn shard_checksums(dir: &Path) -> Vec<(String, String)> {
    shard_files(dir)
        .into_iter()
        .map(|(name, bytes)| (name, shard_content_checksum(&bytes)))
        .collect()
}

fn pinned(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Runs the demo's prep (`workers` threads) and augment into `dir`; returns (shards, augmented).
pub fn demo_outputs(dir: &Path, workers: usize) -> (std::path::PathBuf, std::path::PathBuf) {
    let input = synth(dir, 120, 24, 256, 7);
    let shards = dir.join("shards");
    let workers = workers.to_string();
    crate::cli_util::prep(
        &input,
        &shards,
        &[
            "--n-folds",
            "5",
            "--seed",
            "7",
            "--size",
            "256",
            "--shard-records",
            "32",
            "--workers",
            &workers,
        ],
    );
    let augmented = dir.join("augmented");
    let transforms = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/demo.toml");
    run_ok(
        bin()
            .args(["augment", "--shards"])
            .arg(&shards)
            .arg("--transforms")
            .arg(&transforms)
            .arg("--out")
            .arg(&augmented)
            .args(["--copies", "2", "--shard-records", "64"])
            .args(["--workers", &workers.to_string()]),
    );
    (shards, augmented)
}

#[test]
fn demo_prep_and_augment_outputs_are_pinned() {
    let tmp = tempfile::tempdir().unwrap();
    let (shards, augmented) = demo_outputs(tmp.path(), 2);
    let got = (
        shard_checksums(&shards),
        records_checksum(&shards),
        fnv_hex(&std::fs::read(shards.join("folds.csv")).unwrap()),
        shard_checksums(&augmented),
        records_checksum(&augmented),
    );
    println!("{got:#?}");
    assert_eq!(got.0, pinned(PREP_SHARDS), "prep shard contents changed");
    assert_eq!(got.1, PREP_RECORDS, "prep manifest records changed");
    assert_eq!(got.2, PREP_FOLDS, "folds.csv changed");
    assert_eq!(
        got.3,
        pinned(AUGMENT_SHARDS),
        "augment shard contents changed"
    );
    assert_eq!(got.4, AUGMENT_RECORDS, "augment manifest records changed");
}
