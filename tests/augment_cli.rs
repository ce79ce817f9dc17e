//! `pneumoflow augment` end to end: bulk re-augmentation through the dataflow (worker-count
//! independence, labels and folds carried over, `inspect --verify` round trip) and `--preview`.

use crate::cli_util::{bin, files_with, run_ok};
use std::path::Path;

const TRANSFORMS: &str = r#"
[augment]
p = 1.0

[[augment.transforms]]
type = "HorizontalFlip"
p = 0.5

[[augment.transforms]]
type = "OneOf"
p = 0.6

[[augment.transforms.transforms]]
type = "RandomGamma"
gamma_limit = [80, 120]
p = 0.5

[[augment.transforms.transforms]]
type = "RandomBrightness"
limit = [-0.2, 0.2]
p = 0.5

[[augment.transforms]]
type = "ShiftScaleRotate"
shift_limit = [-0.0625, 0.0625]
scale_limit = 0.1
rotate_limit = [-45, 45]
interpolation = 1
border_mode = 4
p = 0.8

[[augment.transforms]]
type = "Resize"
height = 48
width = 48
interpolation = 1
always_apply = true
p = 1
"#;

fn dataset(dir: &Path) -> std::path::PathBuf {
    let input = dir.join("siim");
    crate::cli_util::synth(dir, 12, 2, 64, 9);
    let shards = dir.join("shards");
    crate::cli_util::prep(&input, &shards, &["--size", "64", "--shard-records", "6"]);
    shards
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files_with(dir, &["pfs", "json"])
}

#[test]
fn bulk_augment_is_worker_independent_and_readable() {
    let tmp = tempfile::tempdir().unwrap();
    let shards = dataset(tmp.path());
    let tf = tmp.path().join("t.toml");
    std::fs::write(&tf, TRANSFORMS).unwrap();
    let outs: Vec<_> = [1, 2]
        .iter()
        .map(|w| {
            let out = tmp.path().join(format!("aug{w}"));
            run_ok(
                bin()
                    .args(["augment", "--shards"])
                    .arg(&shards)
                    .arg("--transforms")
                    .arg(&tf)
                    .arg("--out")
                    .arg(&out)
                    .args([
                        "--copies",
                        "3",
                        "--seed",
                        "5",
                        "--shard-records",
                        "10",
                        "--workers",
                        &w.to_string(),
                    ]),
            );
            out
        })
        .collect();
    let (a, b) = (files(&outs[0]), files(&outs[1]));
    assert_eq!(a.len(), 6, "42 records in shards of 10 + manifest");
    assert_eq!(a, b, "output must not depend on the worker count");
    run_ok(bin().arg("inspect").arg(&outs[0]).arg("--verify"));

    let src = data_prep::shard::ShardSet::open(&shards).unwrap();
    let aug = data_prep::shard::ShardSet::open(&outs[0]).unwrap();
    assert_eq!(aug.len(), 3 * src.len());
    assert_eq!(aug.manifest().size, 48);
    for (j, r) in aug.manifest().records.iter().enumerate() {
        let s = src.record(j / 3);
        assert_eq!(r.id, format!("{}#{}", s.id, j % 3));
        assert_eq!(
            (r.label, r.fold, r.split, r.n_objects),
            (s.label, s.fold, s.split, s.n_objects)
        );
        assert_eq!((r.height, r.width), (48, 48));
    }
    // Copies differ from each other (the generator depends on the copy index).
    let mut dec = data_prep::shard::Decoder::new();
    let c0 = aug.read(0, &mut dec).unwrap();
    let c1 = aug.read(1, &mut dec).unwrap();
    let c2 = aug.read(2, &mut dec).unwrap();
    assert!(c0.image != c1.image || c1.image != c2.image);

    // Each record is the pipeline applied to its source record with the generator
    // sample_rng(seed, copy, id): image and mask, aligned. `--plan` counts the transforms those
    // applications ran.
    let pipeline = pneumoflow::config::Pipeline::load(&tf, &[])
        .unwrap()
        .augment
        .unwrap();
    let mut ran: Vec<(&str, usize)> = pipeline.leaf_names().iter().map(|&n| (n, 0)).collect();
    for j in 0..aug.len() {
        let s = src.read(j / 3, &mut dec).unwrap();
        let (w, h) = (s.meta.width as usize, s.meta.height as usize);
        let mut image = pneumoflow::augment::ImageU8::from_vec(w, h, s.image).unwrap();
        let mut mask = s
            .mask
            .map(|m| pneumoflow::augment::ImageU8::from_vec(w, h, m).unwrap());
        let mut rng = pneumoflow::augment::sample_rng(5, (j % 3) as u64, &s.meta.id);
        for applied in pipeline
            .apply_traced(&mut image, mask.as_mut(), &mut rng)
            .unwrap()
        {
            ran.iter_mut().find(|(n, _)| *n == applied.name).unwrap().1 += 1;
        }
        let got = aug.read(j, &mut dec).unwrap();
        assert_eq!(got.image, image.into_vec(), "image of record {j}");
        assert_eq!(got.mask, mask.map(|m| m.into_vec()), "mask of record {j}");
    }

    let plan = run_ok(
        bin()
            .args(["augment", "--shards"])
            .arg(&shards)
            .arg("--transforms")
            .arg(&tf)
            .args(["--copies", "3", "--seed", "5", "--plan"]),
    );
    let plan = String::from_utf8_lossy(&plan.stdout).into_owned();
    let mut expected =
        String::from("plan: 42 copies (14 records x 3), seed 5; copies each transform runs on\n");
    for (name, n) in &ran {
        let percent = 100.0 * *n as f64 / 42.0;
        expected.push_str(&format!("{name:<20} {n:>8} {percent:>6.1}%\n"));
    }
    assert_eq!(plan, expected);
    assert!(ran
        .iter()
        .any(|&(n, k)| n == "HorizontalFlip" && k > 0 && k < 42));

    // Re-running with the same settings has nothing to do; a new seed rewrites everything.
    let again = run_ok(
        bin()
            .args(["augment", "--shards"])
            .arg(&shards)
            .arg("--transforms")
            .arg(&tf)
            .arg("--out")
            .arg(&outs[0])
            .args(["--copies", "3", "--seed", "5", "--shard-records", "10"]),
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("up to date"));
}

#[test]
fn preview_writes_a_png_grid_and_bad_transforms_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let shards = dataset(tmp.path());
    let tf = tmp.path().join("t.toml");
    std::fs::write(&tf, TRANSFORMS).unwrap();
    let png = tmp.path().join("grid.png");
    run_ok(
        bin()
            .args(["augment", "--shards"])
            .arg(&shards)
            .arg("--transforms")
            .arg(&tf)
            .arg("--preview")
            .arg(&png)
            .args(["--count", "6"]),
    );
    let bytes = std::fs::read(&png).unwrap();
    let reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let info = reader.info();
    // 4 columns x 2 rows of 48 px tiles with 4 px gaps.
    assert_eq!((info.width, info.height), (4 * 48 + 5 * 4, 2 * 48 + 3 * 4));

    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, TRANSFORMS.replace("RandomGamma", "RandomGammma")).unwrap();
    let res = bin()
        .args(["augment", "--shards"])
        .arg(&shards)
        .arg("--transforms")
        .arg(&bad)
        .arg("--preview")
        .arg(&png)
        .output()
        .unwrap();
    assert!(!res.status.success());
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("RandomGammma"),
        "{err}"
    );
}
