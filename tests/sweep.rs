//! Sweep engine tests: every configuration of the histogram/contour engine against brute force
//! (metric::binarize_u8_into / binarize_f32_into + remove_smallest + dice) on random u8 and f16
//! maps with random blobs, the timely graph at 1 and 2 workers over u8 and f16 stores, and
//! `pneumoflow sweep` end to end with its errors.

#[allow(dead_code)] // the CLI tests' helpers; this binary uses a few
mod cli_util;

use cli_util::{bin, write_prediction_set};
use data_prep::folds::Fold;
use data_prep::shard::{shard_file_name, Record, RecordMeta, Split};
use pneumoflow::data::prob_map::MapEncoding;
use pneumoflow::dataflow::sweep::run_sweep;
use pneumoflow::dataflow::Execution;
use pneumoflow::metric::{
    binarize_f32_into, binarize_u8_into, dice, remove_smallest, Rule, Triplet,
};
use pneumoflow::sweep::{
    open_store, sweep_serial, to_fixed, Grid, ImageTerms, PredictionSet, SweepResult, TermScratch,
    PREDICTIONS_KIND,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// One image: encoded map, ground truth (0/255), fold.
struct Case {
    q: Vec<u8>,
    enc: MapEncoding,
    gt: Vec<u8>,
    fold: u8,
}

/// `case` as an f16 map: each `q / 255` moved by up to half a u8 step, so values fall between
/// the u8 levels and some land exactly on the grid's thresholds (0.75, 0.0, 1.0).
fn to_f16(case: Case, rng: &mut ChaCha8Rng) -> Case {
    let probs: Vec<f32> = (case.q.iter())
        .map(|&q| match rng.random_range(0..8) {
            0 => 0.75,
            1 => q as f32 / 255.0,
            _ => (q as f32 + rng.random_range(-0.5..0.5)) / 255.0,
        })
        .collect();
    Case {
        q: MapEncoding::F16.encode(&probs),
        enc: MapEncoding::F16,
        ..case
    }
}

/// Paints an elliptic blob (optionally a ring: inner part at `hole` of its value) with value
/// `peak` falling off towards the rim, keeping the maximum.
#[allow(clippy::too_many_arguments)]
fn blob(img: &mut [u8], side: usize, cx: f64, cy: f64, rx: f64, ry: f64, peak: f64, hole: f64) {
    for y in 0..side {
        for x in 0..side {
            let d = ((x as f64 - cx) / rx).powi(2) + ((y as f64 - cy) / ry).powi(2);
            if d <= 1.0 {
                let v = if d < 0.2 {
                    peak * hole
                } else {
                    peak * (1.1 - 0.5 * d)
                };
                let v = v.clamp(0.0, 255.0) as u8;
                let p = &mut img[y * side + x];
                *p = (*p).max(v);
            }
        }
    }
}

/// A random case of `side`²: `kind` 0 = empty truth, 1 = empty prediction, 2 = both empty,
/// otherwise objects with overlapping, shifted predictions, rings, false positives and specks.
fn random_case(rng: &mut ChaCha8Rng, side: usize, kind: u32) -> Case {
    let n = side * side;
    let s = side as f64;
    let mut q = vec![0u8; n];
    let mut gt = vec![0u8; n];
    if kind != 2 && kind != 1 {
        for p in q.iter_mut() {
            *p = rng.random_range(0..70);
        }
    }
    let objects = rng.random_range(1..4);
    for _ in 0..objects {
        let (cx, cy) = (rng.random_range(0.0..s), rng.random_range(0.0..s));
        let r = (s / 4.0).max(1.5);
        let (rx, ry) = (rng.random_range(1.0..r), rng.random_range(1.0..r));
        if kind >= 3 || kind == 1 {
            let mut mask = vec![0u8; n];
            blob(&mut mask, side, cx, cy, rx, ry, 255.0, 1.0);
            for (g, m) in gt.iter_mut().zip(&mask) {
                if *m > 0 {
                    *g = 255;
                }
            }
        }
        if kind >= 3 || kind == 0 {
            let shift = rng.random_range(-3.0..3.0);
            let peak = rng.random_range(60.0..250.0);
            let hole = if rng.random_bool(0.3) { 0.3 } else { 1.0 };
            blob(
                &mut q,
                side,
                cx + shift,
                cy - shift,
                rx * 1.1,
                ry * 0.9,
                peak,
                hole,
            );
        }
    }
    if kind >= 3 || kind == 0 {
        for _ in 0..rng.random_range(0..6) {
            // specks and small squares (contour areas 0 and (k-1)^2)
            let (x, y) = (rng.random_range(0..side), rng.random_range(0..side));
            let k = rng.random_range(1..4);
            let v = rng.random_range(100..=255);
            for yy in y..(y + k).min(side) {
                for xx in x..(x + k).min(side) {
                    q[yy * side + xx] = v;
                }
            }
        }
    }
    Case {
        q,
        enc: MapEncoding::U8,
        gt,
        fold: rng.random_range(0..3),
    }
}

/// The solution's rule by brute force: triplet with the area scaled as training scales it,
/// `remove_smallest` for `A > 0`, Dice.
fn brute_dice(grid: &Grid, i: usize, side: usize, case: &Case) -> f64 {
    let c = grid.config(i);
    let scale = grid.area_scale(side as u32);
    let area = (c.area as f64 * scale).round() as u64;
    let mut mask = vec![0u8; side * side];
    let rule = Rule::Triplet(Triplet::new(c.top, area, c.bottom));
    match case.enc {
        MapEncoding::U8 => binarize_u8_into(&case.q, &rule, &mut mask).unwrap(),
        MapEncoding::F16 => {
            binarize_f32_into(&MapEncoding::F16.decode(&case.q), &rule, &mut mask).unwrap()
        }
    };
    if c.min_contour_area > 0.0 {
        mask = remove_smallest(&mask, side, side, c.min_contour_area * scale).unwrap();
    }
    dice(&mask, &case.gt, grid.eps).unwrap()
}

const GRID: &str = r#"
top = [0.0, 0.3, 0.6, 0.75, 1.0]
area = [0, 1, 30, 200, 1000]
bottom = [0.2, 0.4, 0.6, 0.9]
min_contour_area = [0, 0.5, 4, 40]
eps = 1e-4
area_resolution = 64
"#;

#[test]
fn engine_equals_brute_force_on_every_configuration() {
    engine_equals_brute_force(MapEncoding::U8);
}

#[test]
fn engine_equals_brute_force_on_f16_maps() {
    engine_equals_brute_force(MapEncoding::F16);
}

fn engine_equals_brute_force(enc: MapEncoding) {
    let grid = Grid::from_toml_str(GRID, "grid").unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut scratch = TermScratch::new();
    let mut checked = 0;
    // How often the contour filter changed the Dice, and how many images had empty truth.
    let (mut filtered, mut empty_truth) = (0, 0);
    for (k, side) in [37usize, 64, 50, 1, 2, 97].into_iter().enumerate() {
        let plan = grid.plan_for(side as u32, enc);
        for j in 0..12 {
            let mut case = random_case(&mut rng, side, (j + k as u32) % 7);
            if enc == MapEncoding::F16 {
                case = to_f16(case, &mut rng);
            }
            let terms = ImageTerms::compute(&plan, &case.q, &case.gt, &mut scratch).unwrap();
            let mut sums = vec![0u128; plan.len()];
            terms.add_to(&plan, &mut sums);
            empty_truth += usize::from(case.gt.iter().all(|&g| g == 0));
            let mut unfiltered = 0.0;
            for (i, &sum) in sums.iter().enumerate() {
                let want = brute_dice(&grid, i, side, &case);
                if i % 4 == 0 {
                    unfiltered = want;
                } else if want != unfiltered {
                    filtered += 1;
                }
                let (m, rest) = (i % 4, i / 4);
                let (b, rest) = (rest % 4, rest / 4);
                let (a, t) = (rest % 5, rest / 5);
                let got = terms.counts(&plan, t, a, b, m).dice(grid.eps);
                assert_eq!(got, want, "side {side}, case {j}, {:?}", grid.config(i));
                assert_eq!(sum, to_fixed(want));
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 6 * 12 * 400);
    assert!(
        filtered > 1000 && empty_truth > 10,
        "{filtered} {empty_truth}"
    );
}

/// Writes a prediction set of `side`² cases into `dir` (shards of 3 records); `test_from` makes
/// the records from that index on test records (no ground truth).
fn write_set(dir: &Path, side: usize, cases: &[Case], kind: &str, test_from: usize) {
    let records: Vec<Record> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let test = i >= test_from;
            Record {
                meta: RecordMeta {
                    id: format!("img{i:03}"),
                    split: if test { Split::Test } else { Split::Train },
                    height: side as u32,
                    width: side as u32,
                    orig_height: 1024,
                    orig_width: 1024,
                    label: (!test).then(|| c.gt.iter().any(|&g| g != 0)),
                    fold: if test {
                        Fold::Unassigned
                    } else {
                        Fold::Index(c.fold)
                    },
                    n_objects: u16::from(c.gt.iter().any(|&g| g != 0)),
                },
                image: c.q.clone(),
                mask: (!test).then(|| c.gt.clone()),
            }
        })
        .collect();
    let source = serde_json::json!({"kind": kind, "checkpoint": "test"});
    write_prediction_set(dir, side, &records, 3, source);
}

fn cases(seed: u64, side: usize, n: usize) -> Vec<Case> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|j| random_case(&mut rng, side, j as u32 % 6))
        .collect()
}

/// A store with three sets: `a` (48², 13 images), `b` (32², 9 images) and `c` (40², 7
/// images, f16 maps).
fn store(dir: &Path) -> (PathBuf, Vec<Vec<Case>>) {
    let root = dir.join("store");
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let f16_cases = cases(3, 40, 7)
        .into_iter()
        .map(|c| to_f16(c, &mut rng))
        .collect();
    let all = vec![cases(1, 48, 13), cases(2, 32, 9), f16_cases];
    write_set(&root.join("a"), 48, &all[0], PREDICTIONS_KIND, usize::MAX);
    write_set(&root.join("b"), 32, &all[1], PREDICTIONS_KIND, usize::MAX);
    write_set(&root.join("c"), 40, &all[2], PREDICTIONS_KIND, usize::MAX);
    (root, all)
}

#[test]
fn dataflow_equals_serial_and_brute_force_at_1_and_2_workers() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, all) = store(tmp.path());
    let grid = Grid::from_toml_str(GRID, "grid").unwrap();
    let sets = open_store(&root).unwrap();
    assert_eq!(
        sets.iter().map(|s| s.name()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert_eq!(sets[2].encoding(), MapEncoding::F16);
    let serial = sweep_serial(&sets, &grid, |_| {}).unwrap();
    let sets = Arc::new(sets);
    for workers in [1, 2] {
        let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = Arc::clone(&seen);
        let got = run_sweep(
            &Execution::threads(workers),
            Arc::clone(&sets),
            &grid,
            move |n| {
                counter.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            },
        )
        .unwrap();
        assert_eq!(got, serial, "{workers} worker(s)");
        assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 29);
    }
    // The means are the brute-force means, per fold and overall.
    for (set, cases) in serial.sets.iter().zip(&all) {
        let side = set.size as usize;
        let overall = set.overall();
        assert_eq!(overall.images(), cases.len() as u64);
        for i in 0..grid.len() {
            let per_image: Vec<(u8, f64)> = cases
                .iter()
                .map(|c| (c.fold, brute_dice(&grid, i, side, c)))
                .collect();
            let total: u128 = per_image.iter().map(|&(_, d)| to_fixed(d)).sum();
            assert_eq!(overall.fixed()[i], total, "{} config {i}", set.name);
            let float_mean = per_image.iter().map(|p| p.1).sum::<f64>() / cases.len() as f64;
            assert!((overall.mean(i).unwrap() - float_mean).abs() < 1e-12);
            for (fold, sums) in &set.folds {
                let Fold::Index(k) = *fold else {
                    panic!("unexpected fold {fold:?}")
                };
                let want: u128 = (per_image.iter().filter(|p| p.0 == k))
                    .map(|&(_, d)| to_fixed(d))
                    .sum();
                assert_eq!(sums.fixed()[i], want);
            }
        }
    }
}

/// Runs `cmd`; returns (success, stdout, stderr).
fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().expect("spawn pneumoflow");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sweep_cmd(predictions: &Path, grid: &Path, out: &Path) -> Command {
    let mut cmd = bin();
    cmd.arg("sweep")
        .arg("--predictions")
        .arg(predictions)
        .arg("--grid")
        .arg(grid)
        .arg("--out")
        .arg(out);
    cmd
}

#[test]
fn cli_writes_csv_heatmap_and_best_configurations() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, _) = store(tmp.path());
    let grid_path = tmp.path().join("grid.toml");
    std::fs::write(&grid_path, GRID).unwrap();
    let out = tmp.path().join("out");
    let (ok, stdout, stderr) =
        run(sweep_cmd(&root, &grid_path, &out).args(["-w", "2", "--top", "3"]));
    assert!(ok, "{stderr}");
    let grid = Grid::load(&grid_path).unwrap();
    let want: SweepResult = sweep_serial(&open_store(&root).unwrap(), &grid, |_| {}).unwrap();
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert_eq!(csv, want.to_csv());
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "set,fold,top,area,bottom,min_contour_area,images,dice"
    );
    let folds_plus_all: usize = want.sets.iter().map(|s| s.folds.len() + 1).sum();
    assert_eq!(rows.len(), 1 + folds_plus_all * grid.len());
    let best = want.sets[0].best(1)[0];
    let c = grid.config(best.0);
    let row = format!(
        "a,all,{},{},{},{},13,{}",
        c.top, c.area, c.bottom, c.min_contour_area, best.1
    );
    assert!(rows.contains(&row.as_str()), "{row}");
    // the printed table: both sets, 3 ranks each, the best first
    assert!(stdout.starts_with("a (13 images, 48x48)"), "{stdout}");
    assert!(stdout.contains("b (9 images, 32x32)"), "{stdout}");
    assert!(stdout.contains("c (7 images, 40x40)"), "{stdout}");
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("3 "))
            .count(),
        3
    );
    let png = std::fs::read(out.join("sweep.png")).unwrap();
    let reader = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap();
    assert!(reader.info().width > 100 && reader.info().height > 100);
    // a single set, default --out: the directory holding it
    let (ok, _, stderr) = run(bin()
        .arg("sweep")
        .arg("--predictions")
        .arg(root.join("b"))
        .arg("--grid")
        .arg(&grid_path)
        .args(["-w", "1"]));
    assert!(ok, "{stderr}");
    let single = std::fs::read_to_string(root.join("sweep.csv")).unwrap();
    assert!(single.lines().skip(1).all(|l| l.starts_with("b,")));
    assert_eq!(
        single.lines().count(),
        1 + (want.sets[1].folds.len() + 1) * grid.len()
    );
}

#[test]
fn cli_errors_name_the_file_record_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, _) = store(tmp.path());
    let grid_path = tmp.path().join("grid.toml");
    std::fs::write(&grid_path, GRID).unwrap();
    let out = tmp.path().join("out");

    // a corrupted record payload: the shard file, slot and id are named, nothing is written
    let shard = root.join("b").join(shard_file_name(1));
    let mut bytes = std::fs::read(&shard).unwrap();
    bytes[4096 + 10] ^= 0x5a;
    std::fs::write(&shard, &bytes).unwrap();
    let (ok, _, err) = run(sweep_cmd(&root, &grid_path, &out).args(["-w", "2"]));
    assert!(!ok);
    assert!(err.contains("record 3 (img003)"), "{err}");
    assert!(err.contains(&shard.display().to_string()), "{err}");
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(!out.join("sweep.csv").exists());

    // test records have no ground truth
    let tests = tmp.path().join("tests");
    write_set(&tests.join("t"), 16, &cases(3, 16, 4), PREDICTIONS_KIND, 2);
    let (ok, _, err) = run(&mut sweep_cmd(&tests, &grid_path, &out));
    assert!(!ok);
    assert!(
        err.contains("record 2 (img002) is a test record without ground truth"),
        "{err}"
    );
    assert!(err.contains("2 test record(s)"), "{err}");

    // an f16 map with a value outside [0, 1] (no writer stores one): pixel and value named
    let mut bad = cases(6, 8, 2);
    let mut probs = vec![0.25f32; 64];
    probs[9] = 1.5;
    for c in &mut bad {
        c.enc = MapEncoding::F16;
        c.q = probs
            .iter()
            .flat_map(|&p| half::f16::from_f32(p).to_le_bytes())
            .collect();
    }
    let odd = tmp.path().join("odd");
    write_set(&odd.join("f"), 8, &bad, PREDICTIONS_KIND, usize::MAX);
    let (ok, _, err) = run(&mut sweep_cmd(&odd, &grid_path, &out));
    assert!(!ok);
    assert!(
        err.contains("record 0 (img000)") && err.contains("pixel 9 holds 1.5, outside"),
        "{err}"
    );

    // a dataset that is not a prediction set
    let plain = tmp.path().join("plain");
    write_set(&plain, 16, &cases(4, 16, 2), "pneumoflow-prep", usize::MAX);
    let (ok, _, err) = run(&mut sweep_cmd(&plain, &grid_path, &out));
    assert!(!ok);
    assert!(err.contains("not a prediction set"), "{err}");
    assert!(err.contains("\"pneumoflow-prep\""), "{err}");

    // an empty directory, a bad grid key
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (ok, _, err) = run(&mut sweep_cmd(&empty, &grid_path, &out));
    assert!(!ok && err.contains("holds no prediction set"), "{err}");
    std::fs::write(
        &grid_path,
        "top = [0.5]\narea = [1]\nbottom = [0.3]\nmin_area = [1]\n",
    )
    .unwrap();
    let (ok, _, err) = run(&mut sweep_cmd(&root, &grid_path, &out));
    assert!(!ok);
    assert!(
        err.contains(&format!("{}: min_area: unknown field", grid_path.display())),
        "{err}"
    );
    // --out inside a prediction set is refused
    std::fs::write(&grid_path, GRID).unwrap();
    let (ok, _, err) = run(&mut sweep_cmd(&root, &grid_path, &root.join("a")));
    assert!(!ok && err.contains("is a shard dataset"), "{err}");
}

#[test]
fn sets_open_only_as_prediction_sets() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    write_set(&dir, 8, &cases(5, 8, 2), PREDICTIONS_KIND, usize::MAX);
    let set = PredictionSet::open(&dir, "s").unwrap();
    assert_eq!((set.len(), set.size(), set.name()), (2, 8, "s"));
    let one = open_store(&dir).unwrap();
    assert_eq!(one[0].name(), "s");
}

#[test]
fn the_sample_grid_holds_the_solutions_settings() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/grids/sweep_grid.toml");
    let grid = Grid::load(&path).unwrap();
    assert!(grid.len() >= 1000, "{}", grid.len());
    assert_eq!(grid.area_resolution, Some(1024));
    let has = |top: f64, area: u64, bottom: f64, min: f64| {
        (0..grid.len()).any(|i| {
            let c = grid.config(i);
            (c.top, c.area, c.bottom, c.min_contour_area) == (top, area, bottom, min)
        })
    };
    // spec §7 validation triplets, §8 final settings and the LB-best triplet
    for top in [0.75, 0.6] {
        for area in [1000, 2000, 3000] {
            for bottom in [0.3, 0.4] {
                assert!(has(top, area, bottom, 0.0), "({top}, {area}, {bottom})");
            }
        }
    }
    for (top, area, bottom, min) in [
        (0.7, 800, 0.3, 100.0),
        (0.75, 1500, 0.3, 100.0),
        (0.75, 800, 0.4, 0.0),
        (0.75, 1000, 0.4, 0.0),
        (0.7, 1000, 0.25, 0.0),
        (0.7, 600, 0.3, 0.0),
    ] {
        assert!(
            has(top, area, bottom, min),
            "({top}, {area}, {bottom}, {min})"
        );
    }
}

#[path = "sweep_incremental.rs"]
mod incremental;
