//! `pneumoflow blend` and a blend pipeline under `run`: each blended map is the weighted f32 sum
//! of the members' stored probabilities (a smaller member resized with OpenCV's float
//! bilinear), in u8 or f16; the ground truth and metadata travel; 1 and 2 workers write the
//! same bytes; a re-run is up to date; bad weights, a member lacking an image, and a blend
//! written over a member's store are clear errors.

use crate::cli_util::{bin, run_err, run_ok, shard_files, write_prediction_set};
use data_prep::folds::Fold;
use data_prep::shard::{Decoder, Record, RecordMeta, Split};
use pneumoflow::data::predictions::PREDICTIONS_KIND;
use pneumoflow::data::predictions::{open_prediction_set, resize_map, MapEncoding};
use std::path::{Path, PathBuf};

/// Probability of pixel `i` of image `k` in member `m` (smooth, so resizing matters).
fn prob(m: usize, k: usize, i: usize, side: usize) -> f32 {
    let (x, y) = (
        (i % side) as f32 / side as f32,
        (i / side) as f32 / side as f32,
    );
    (0.5 + 0.45 * ((3.0 + m as f32) * x + (k as f32 + 1.0) * y).sin()).clamp(0.0, 1.0)
}

/// A prediction set of `ids` (the first `n_train` with ground truth) at `side`², stored as
/// `encoding`, records in the order given.
fn write_set(dir: &Path, m: usize, ids: &[usize], n_train: usize, side: usize, enc: MapEncoding) {
    let records: Vec<Record> = ids
        .iter()
        .map(|&k| {
            let train = k < n_train;
            let probs: Vec<f32> = (0..side * side).map(|i| prob(m, k, i, side)).collect();
            let truth: Vec<u8> = (0..side * side)
                .map(|i| {
                    if (i / side + k).is_multiple_of(5) {
                        255
                    } else {
                        0
                    }
                })
                .collect();
            Record {
                meta: RecordMeta {
                    id: format!("img{k}"),
                    split: if train { Split::Train } else { Split::Test },
                    height: side as u32,
                    width: side as u32,
                    orig_height: 1024,
                    orig_width: 1024,
                    label: train.then_some(true),
                    fold: if train {
                        Fold::Index((k % 2) as u8)
                    } else {
                        Fold::Unassigned
                    },
                    n_objects: u16::from(train),
                },
                image: enc.encode(&probs),
                mask: train.then_some(truth),
            }
        })
        .collect();
    let source = serde_json::json!({"kind": PREDICTIONS_KIND, "input": "nowhere"});
    write_prediction_set(dir, side, &records, 2, source);
}

/// Two member stores: `a` (32², u8) and `b` (16², f16, records in another order), each with
/// `valid-top` (5 train images) and `test-top` (3 test images); `a` also holds `only-a`.
fn members(root: &Path) -> (PathBuf, PathBuf) {
    let (a, b) = (root.join("a"), root.join("b"));
    write_set(
        &a.join("valid-top"),
        0,
        &[0, 1, 2, 3, 4],
        5,
        32,
        MapEncoding::U8,
    );
    write_set(&a.join("test-top"), 0, &[5, 6, 7], 5, 32, MapEncoding::U8);
    write_set(&a.join("only-a"), 0, &[0, 1], 5, 32, MapEncoding::U8);
    write_set(
        &b.join("valid-top"),
        1,
        &[3, 1, 4, 0, 2],
        5,
        16,
        MapEncoding::F16,
    );
    write_set(&b.join("test-top"), 1, &[7, 5, 6], 5, 16, MapEncoding::F16);
    (a, b)
}

fn pipeline(root: &Path, a: &Path, b: &Path, extra: &str) -> PathBuf {
    let path = root.join("blend.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[[blend.members]]
predictions = "{}"
weight = 0.7

[[blend.members]]
predictions = "{}"
weight = 0.3

[blend]
out = "{}"
{extra}

[sweep]
grid = "{}"

[submit]
top = 0.6
area = 30
bottom = 0.4
"#,
            a.display(),
            b.display(),
            root.join("blended").display(),
            root.join("grid.toml").display(),
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("grid.toml"),
        "top = [0.5, 0.6]\narea = [0, 30]\nbottom = [0.3, 0.4]\n",
    )
    .unwrap();
    path
}

/// The blend of image `k`, computed here: 0.7 · a + 0.3 · resize(b, 16 → 32), f32.
fn expected(k: usize) -> Vec<f32> {
    let a: Vec<f32> = MapEncoding::U8.decode(
        &MapEncoding::U8.encode(&(0..32 * 32).map(|i| prob(0, k, i, 32)).collect::<Vec<_>>()),
    );
    let b16: Vec<f32> = MapEncoding::F16.decode(
        &MapEncoding::F16.encode(&(0..16 * 16).map(|i| prob(1, k, i, 16)).collect::<Vec<_>>()),
    );
    let b = resize_map(&b16, 16, 16, 32, 32);
    weighted_sum(&a, &b)
}

/// 0.7·a + 0.3·b in f32, accumulated in member order as the blend does.
fn weighted_sum(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter()
        .zip(b)
        .map(|(&a, &b)| {
            let mut acc = 0f32;
            acc += 0.7f32 * a;
            acc += 0.3f32 * b;
            acc
        })
        .collect()
}

#[test]
fn blends_are_weighted_sums_in_member_order_and_run_to_a_submission() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (a, b) = members(root);
    let p = pipeline(root, &a, &b, "");
    let out = run_ok(bin().arg("blend").arg(&p).args(["-w", "2"]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("valid-top") && stdout.contains("test-top"),
        "{stdout}"
    );
    let blended = root.join("blended");
    assert!(
        !blended.join("only-a").exists(),
        "only common sets are blended"
    );

    let mut dec = Decoder::new();
    let valid = open_prediction_set(&blended.join("valid-top")).unwrap();
    let a_valid = open_prediction_set(&a.join("valid-top")).unwrap();
    assert_eq!(valid.manifest().size, 32);
    assert_eq!(valid.pixel_bytes(), 1);
    assert_eq!(valid.manifest().source["command"], "blend");
    assert_eq!(valid.manifest().source["input"], "nowhere");
    for i in 0..valid.len() {
        let got = valid.read(i, &mut dec).unwrap();
        let member = a_valid.read(i, &mut dec).unwrap();
        assert_eq!(
            got.meta, member.meta,
            "the first member's order and metadata"
        );
        assert_eq!(
            got.mask, member.mask,
            "the ground truth of the member at 32²"
        );
        let k: usize = got.meta.id[3..].parse().unwrap();
        assert_eq!(
            got.image,
            MapEncoding::U8.encode(&expected(k)),
            "{}",
            got.meta.id
        );
    }
    let test = open_prediction_set(&blended.join("test-top")).unwrap();
    assert_eq!(test.len(), 3);
    assert_eq!(test.read(0, &mut dec).unwrap().mask, None);

    // 1 worker writes the same bytes; a re-run is up to date.
    let one = root.join("one");
    run_ok(
        bin()
            .arg("blend")
            .arg(&p)
            .arg("--out")
            .arg(&one)
            .args(["-w", "1"]),
    );
    for set in ["valid-top", "test-top"] {
        assert_eq!(
            shard_files(&one.join(set)),
            shard_files(&blended.join(set)),
            "{set}"
        );
    }
    let again = run_ok(bin().arg("blend").arg(&p));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(stderr.matches("is up to date").count(), 2, "{stderr}");

    // f16 blends keep the sum in half precision.
    let f16 = root.join("f16");
    blend_one_set(&p, &f16, "test-top", "blend.encoding=\"f16\"");
    assert!(!f16.join("valid-top").exists());
    let t16 = open_prediction_set(&f16.join("test-top")).unwrap();
    assert_eq!(t16.pixel_bytes(), 2);
    let got = t16.read(1, &mut dec).unwrap();
    let k: usize = got.meta.id[3..].parse().unwrap();
    assert_eq!(got.image, MapEncoding::F16.encode(&expected(k)));

    // At a size no member has, the maps are resized and the first member's truth is
    // nearest-resized (each 32² pixel becomes 2x2 at 64²).
    let big = root.join("big");
    blend_one_set(&p, &big, "valid-top", "blend.size=64");
    let v64 = open_prediction_set(&big.join("valid-top")).unwrap();
    assert_eq!(v64.manifest().size, 64);
    let got = v64.read(2, &mut dec).unwrap();
    let member = a_valid.read(2, &mut dec).unwrap();
    let k: usize = got.meta.id[3..].parse().unwrap();
    let a64 = resize_map(&MapEncoding::U8.decode(&member.image), 32, 32, 64, 64);
    let b16: Vec<f32> = MapEncoding::F16.decode(
        &MapEncoding::F16.encode(&(0..16 * 16).map(|i| prob(1, k, i, 16)).collect::<Vec<_>>()),
    );
    let b64 = resize_map(&b16, 16, 16, 64, 64);
    let want = weighted_sum(&a64, &b64);
    assert_eq!(got.image, MapEncoding::U8.encode(&want));
    let truth = member.mask.unwrap();
    let want_truth: Vec<u8> = (0..64 * 64)
        .map(|i| truth[(i / 64 / 2) * 32 + (i % 64) / 2])
        .collect();
    assert_eq!(got.mask, Some(want_truth));

    // run: blend (up to date) -> sweep over the blended out-of-fold maps -> submission.
    let run_dir = root.join("run");
    run_ok(bin().arg("run").arg(&p).arg("--run-dir").arg(&run_dir));
    let sweep = std::fs::read_to_string(run_dir.join("sweep/sweep.csv")).unwrap();
    assert!(sweep.lines().skip(1).all(|l| l.starts_with("valid-top,")));
    assert_eq!(sweep.lines().count(), 1 + 3 * 8, "folds 0, 1 and all x 8");
    let csv = std::fs::read_to_string(run_dir.join("submission.csv")).unwrap();
    let ids: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ids, ["img5", "img6", "img7"]);
}

#[test]
fn blend_errors_name_the_key_the_member_and_the_image() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (a, b) = members(root);

    let p = pipeline(root, &a, &b, "");
    let err = run_err(
        bin()
            .arg("blend")
            .arg(&p)
            .args(["--set", "blend.members[1].weight=0.2"]),
    );
    assert!(
        err.contains("blend.members") && err.contains("sum to 0.9"),
        "{err}"
    );

    // A member without one of the images.
    std::fs::remove_dir_all(b.join("test-top")).unwrap();
    write_set(&b.join("test-top"), 1, &[7, 5, 9], 5, 16, MapEncoding::F16);
    let err = run_err(bin().arg("blend").arg(&p));
    assert!(
        err.contains(&b.join("test-top").display().to_string())
            && err.contains("no map of image img6"),
        "{err}"
    );

    // A named set a member lacks; the blend written into a member's store.
    let err = run_err(
        bin()
            .arg("blend")
            .arg(&p)
            .args(["--set", "blend.sets=[\"only-a\"]"]),
    );
    assert!(
        err.contains(&b.display().to_string())
            && err.contains("holds no prediction set \"only-a\""),
        "{err}"
    );
    let err = run_err(bin().arg("blend").arg(&p).arg("--out").arg(&a));
    assert!(err.contains("blend.members[0]'s store"), "{err}");
    // A pipeline that also predicts: the blend may not write over predict's store.
    let both = root.join("both.toml");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(
        &both,
        format!(
            "{text}\n[predict]\nout = \"{}\"\n",
            root.join("blended").display()
        ),
    )
    .unwrap();
    let err = run_err(bin().arg("blend").arg(&both));
    assert!(err.contains("also where [predict] writes"), "{err}");
    assert!(
        open_prediction_set(&a.join("valid-top")).is_ok(),
        "the member is untouched"
    );
}

/// `pneumoflow blend PIPELINE --out OUT` of the set `set` alone, with one more `--set` override.
fn blend_one_set(pipeline: &Path, out: &Path, set: &str, setting: &str) {
    let sets = format!("blend.sets=[\"{set}\"]");
    run_ok(
        bin()
            .arg("blend")
            .arg(pipeline)
            .arg("--out")
            .arg(out)
            .args(["--set", setting, "--set", &sets]),
    );
}
