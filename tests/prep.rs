//! End-to-end: synth → prep (1 and 2 workers) → inspect/export through the CLI binary, resume
//! after an interrupted run, and corruption detection.

use crate::cli_util::{bin, run_ok, shard_files};
use std::path::{Path, PathBuf};
use std::process::Output;

fn synth(dir: &Path, train: usize, test: usize, size: usize) -> PathBuf {
    crate::cli_util::synth(dir, train, test, size, 3)
}

fn prep(input: &Path, out: &Path, workers: usize, extra: &[&str]) -> Output {
    run_ok(
        bin()
            .args(["prep", "--input"])
            .arg(input)
            .arg("--out")
            .arg(out)
            .args([
                "--size",
                "64",
                "--shard-records",
                "5",
                "--workers",
                &workers.to_string(),
            ])
            .args(extra),
    )
}

#[test]
fn prep_with_one_and_two_workers_writes_identical_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let input = synth(tmp.path(), 14, 3, 64);
    let (a, b) = (tmp.path().join("w1"), tmp.path().join("w2"));
    let out1 = prep(&input, &a, 1, &[]);
    prep(&input, &b, 2, &[]);
    let (fa, fb) = (shard_files(&a), shard_files(&b));
    assert_eq!(fa.len(), 4, "17 records in shards of 5");
    assert_eq!(fa, fb, "shard bytes must not depend on the worker count");
    assert_eq!(
        std::fs::read(a.join("manifest.json")).unwrap(),
        std::fs::read(b.join("manifest.json")).unwrap()
    );
    let summary = String::from_utf8_lossy(&out1.stdout);
    assert!(summary.contains("17 (14 train, 3 test)"), "{summary}");

    let ids = run_ok(bin().arg("inspect").arg(&a).arg("--ids"));
    let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(ids.len(), 17);
    run_ok(bin().arg("inspect").arg(&a).arg("--verify"));

    // Export a training record: image and mask PNGs of the stored size.
    let png = tmp.path().join("img.png");
    let mask = tmp.path().join("mask.png");
    run_ok(
        bin()
            .arg("export")
            .arg(&a)
            .args(["--id", &ids[0], "--image"])
            .arg(&png)
            .arg("--mask")
            .arg(&mask),
    );
    let (w, h, px) = pneumoflow::png_io::decode_gray(&std::fs::read(&png).unwrap()).unwrap();
    assert_eq!((w, h, px.len()), (64, 64, 4096));
    let (_, _, m) = pneumoflow::png_io::decode_gray(&std::fs::read(&mask).unwrap()).unwrap();
    assert!(m.iter().all(|&v| v == 0 || v == 255));
    // A test record has no mask: asking for one is an error naming the record.
    let out = bin()
        .arg("export")
        .arg(&a)
        .args(["--id", &ids[16], "--image"])
        .arg(&png)
        .arg("--mask")
        .arg(&mask)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("test record"));
}

#[test]
fn interrupted_prep_is_not_readable_and_rerun_finishes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let input = synth(tmp.path(), 10, 2, 64);
    let out = tmp.path().join("shards");
    prep(&input, &out, 2, &[]);
    let before = shard_files(&out);
    // Simulate a crash mid-write: one shard missing, a torn temp file, manifest not yet written.
    std::fs::remove_file(out.join("shard-00001.pfs")).unwrap();
    std::fs::write(out.join(".shard-00001.pfs.tmp-999"), b"torn").unwrap();
    std::fs::remove_file(out.join("manifest.json")).unwrap();
    let inspect = bin().arg("inspect").arg(&out).output().unwrap();
    assert!(
        !inspect.status.success(),
        "a dataset without manifest must not be accepted"
    );
    let rerun = prep(&input, &out, 1, &[]);
    let log = String::from_utf8_lossy(&rerun.stderr);
    assert!(log.contains("1 shards to write, 2 kept"), "{log}");
    assert_eq!(shard_files(&out), before);
    assert!(!out.join(".shard-00001.pfs.tmp-999").exists());
    // A third run has nothing to do.
    let again = prep(&input, &out, 1, &[]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("up to date"));
}

#[test]
fn corrupted_record_fails_verify_naming_shard_record_and_id() {
    let tmp = tempfile::tempdir().unwrap();
    let input = synth(tmp.path(), 6, 0, 64);
    let out = tmp.path().join("shards");
    prep(&input, &out, 1, &[]);
    let shard = out.join("shard-00000.pfs");
    let mut bytes = std::fs::read(&shard).unwrap();
    bytes[4096 + 10] ^= 0xff;
    std::fs::write(&shard, &bytes).unwrap();
    let res = bin()
        .arg("inspect")
        .arg(&out)
        .arg("--verify")
        .output()
        .unwrap();
    assert!(!res.status.success());
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(
        err.contains("shard-00000.pfs") && err.contains("record 0 (") && err.contains("checksum"),
        "{err}"
    );
}

#[test]
fn folds_csv_import_and_strict_mismatches() {
    let tmp = tempfile::tempdir().unwrap();
    let input = synth(tmp.path(), 8, 1, 64);
    let out = tmp.path().join("shards");
    prep(&input, &out, 1, &[]);
    // The prep output carries folds.csv in the solution's format; edit it into a mismatching file.
    let folds = std::fs::read_to_string(out.join("folds.csv")).unwrap();
    let mut lines: Vec<&str> = folds.lines().collect();
    assert_eq!(lines[0], "fname,fold,exist_labels");
    assert_eq!(lines.len(), 9);
    let dropped = lines
        .remove(3)
        .split(',')
        .next()
        .unwrap()
        .trim_end_matches(".png")
        .to_string();
    let mut edited = lines.join("\n");
    edited.push_str("\nnot-an-image.png,stage_2,0\n");
    let csv = tmp.path().join("folds-edited.csv");
    std::fs::write(&csv, edited).unwrap();

    let out2 = tmp.path().join("shards2");
    let res = prep(&input, &out2, 1, &["--folds", csv.to_str().unwrap()]);
    let log = String::from_utf8_lossy(&res.stderr);
    assert!(
        log.contains("fold-file ids without an image: not-an-image"),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "missing from the folds file (fold none): {dropped}"
        )),
        "{log}"
    );
    let summary = String::from_utf8_lossy(&res.stdout);
    assert!(summary.contains("none"), "{summary}");

    let strict = bin()
        .args(["prep", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(tmp.path().join("shards3"))
        .args(["--size", "64", "--strict", "--folds"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(!strict.status.success());
    assert!(String::from_utf8_lossy(&strict.stderr).contains("--strict"));
}

#[test]
fn bad_rle_row_names_csv_line_and_image() {
    let tmp = tempfile::tempdir().unwrap();
    let input = synth(tmp.path(), 4, 0, 64);
    let csv = input.join("train-rle.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let first_id = text
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    std::fs::write(&csv, format!("{text}{first_id}, 1 2 3\n")).unwrap();
    let res = bin()
        .args(["prep", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(tmp.path().join("s"))
        .args(["--size", "64"])
        .output()
        .unwrap();
    assert!(!res.status.success());
    let err = String::from_utf8_lossy(&res.stderr);
    let line = text.lines().count() + 1;
    assert!(
        err.contains(&format!("train-rle.csv:{line}"))
            && err.contains(&first_id)
            && err.contains("odd number"),
        "{err}"
    );
}

#[test]
fn images_of_another_size_are_resized_and_keep_their_original_size() {
    let tmp = tempfile::tempdir().unwrap();
    let input = synth(tmp.path(), 12, 1, 96);
    let out = tmp.path().join("shards");
    prep(&input, &out, 1, &[]);
    let set = data_prep::shard::ShardSet::open(&out).unwrap();
    let mut dec = data_prep::shard::Decoder::new();
    let mut saw_positive = false;
    for i in 0..set.len() {
        let r = set.record(i);
        assert_eq!(
            (r.height, r.width, r.orig_height, r.orig_width),
            (64, 64, 96, 96)
        );
        let rec = set.read(i, &mut dec).unwrap();
        if let Some(mask) = rec.mask {
            assert!(mask.iter().all(|&v| v == 0 || v == 255));
            let on = mask.iter().filter(|&&v| v == 255).count();
            assert_eq!(
                on > 0,
                r.label == Some(true),
                "{}: label and resized mask agree",
                r.id
            );
            saw_positive |= on > 0;
        }
    }
    assert!(saw_positive);
}

#[test]
fn prep_stores_the_synthetic_images_and_masks_exactly() {
    // The generator knows every image and object mask; at the generated size (no resize) and
    // with lossless DICOMs, every stored record must equal them pixel for pixel.
    use data_prep::synth::{generate_case, Split};
    let tmp = tempfile::tempdir().unwrap();
    let input = synth(tmp.path(), 16, 3, 64);
    let out = tmp.path().join("shards");
    prep(&input, &out, 2, &[]);
    let set = data_prep::shard::ShardSet::open(&out).unwrap();
    assert_eq!(set.len(), 19);
    let mut dec = data_prep::shard::Decoder::new();
    let mut positives = 0;
    for (split, n) in [(Split::Train, 16), (Split::Test, 3)] {
        for index in 0..n {
            let case = generate_case(3, split, index, 64);
            let rec = set
                .read(set.position(case.image_id()).unwrap(), &mut dec)
                .unwrap();
            assert_eq!(rec.image, case.image, "image of {}", case.image_id());
            assert_eq!(rec.meta.split, split);
            match split {
                Split::Train => {
                    let want: Vec<u8> = case.mask().iter().map(|&v| v * 255).collect();
                    assert_eq!(
                        rec.mask.as_ref(),
                        Some(&want),
                        "mask of {}",
                        case.image_id()
                    );
                    assert_eq!(rec.meta.label, Some(case.is_positive()));
                    assert_eq!(rec.meta.n_objects as usize, case.objects.len());
                    positives += usize::from(case.is_positive());
                }
                Split::Test => assert_eq!(rec.mask, None),
            }
        }
    }
    assert!(positives > 0, "the check must see masks");
}
