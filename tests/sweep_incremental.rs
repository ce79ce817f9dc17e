//! The incremental sweep (differential dataflow) against the non-incremental engine: exactly
//! equal results, sums, overall sums and top-k after inserts, replacements and retractions of
//! sets, only changed sets' images re-read; and `pneumoflow sweep --watch` picking up a new set
//! and a deleted one. A module of the `sweep` test binary (it uses its fixtures).

use super::{bin, cases, write_set, GRID};
use pneumoflow::dataflow::incremental_sweep::{IncrementalSweep, Ranked};
use pneumoflow::sweep::{open_store, sweep_serial, Grid, PredictionSet, PREDICTIONS_KIND};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The `k` best configurations of `sums` (fixed point): greatest sum first, equal sums in grid
/// order.
fn best_of(sums: &pneumoflow::sweep::DiceSums, k: usize) -> Vec<Ranked> {
    let mut v: Vec<Ranked> = (sums.fixed().iter().enumerate())
        .map(|(config, &sum)| Ranked {
            config,
            sum,
            images: sums.images(),
        })
        .collect();
    v.sort_by(|a, b| b.sum.cmp(&a.sum).then(a.config.cmp(&b.config)));
    v.truncate(k);
    v
}

/// The engine's results equal `sweep_serial` over `sets` (name order), in every view.
fn assert_matches_recompute(engine: &IncrementalSweep, sets: &[PredictionSet], grid: &Grid) {
    let want = sweep_serial(sets, grid, |_| {}).unwrap();
    let got = engine.result();
    assert_eq!(got, want);
    assert_eq!(got.to_csv(), want.to_csv());
    let k = engine.top_k();
    for set in &want.sets {
        let overall = set.overall();
        assert_eq!(engine.overall(&set.name).unwrap(), overall, "{}", set.name);
        assert_eq!(engine.top(&set.name).unwrap(), best_of(&overall, k));
        let per_fold = engine.top_per_fold(&set.name).unwrap();
        let want_folds: Vec<_> = (set.folds.iter())
            .map(|(f, s)| (*f, best_of(s, k)))
            .collect();
        assert_eq!(per_fold, want_folds, "{}", set.name);
        // the maintained best agrees with the float ranking of the non-incremental sweep
        assert_eq!(engine.top(&set.name).unwrap()[0].config, set.best(1)[0].0);
    }
}

fn open(dir: &Path, name: &str) -> PredictionSet {
    PredictionSet::open(dir, name).unwrap()
}

#[test]
fn incremental_equals_recompute_after_inserts_and_retractions() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let specs = [
        ("a", 48, 13, 1),
        ("b", 32, 9, 2),
        ("c", 48, 7, 3),
        ("d", 16, 5, 4),
    ];
    for (name, side, n, seed) in specs {
        write_set(
            &root.join(name),
            side,
            &cases(seed, side, n),
            PREDICTIONS_KIND,
            usize::MAX,
        );
    }
    // c rewritten by a later checkpoint: other maps, same name
    write_set(
        &root.join("c2"),
        48,
        &cases(30, 48, 8),
        PREDICTIONS_KIND,
        usize::MAX,
    );
    let grid = Grid::from_toml_str(GRID, "grid").unwrap();
    let mut engine = IncrementalSweep::new(&grid, 3);
    assert_matches_recompute(&engine, &[], &grid);

    engine.insert(&open(&root.join("a"), "a")).unwrap();
    engine.commit();
    assert_matches_recompute(&engine, &[open(&root.join("a"), "a")], &grid);

    engine.insert(&open(&root.join("b"), "b")).unwrap();
    engine.insert(&open(&root.join("c"), "c")).unwrap();
    engine.commit();
    let abc = ["a", "b", "c"].map(|n| open(&root.join(n), n));
    assert_matches_recompute(&engine, &abc, &grid);
    assert_eq!((engine.terms_computed(), engine.rows_exploded()), (29, 29));

    // retract b: no image is read again, only b's rows are expanded (with -1)
    assert!(engine.remove("b"));
    assert!(!engine.remove("b"));
    engine.commit();
    let ac = ["a", "c"].map(|n| open(&root.join(n), n));
    assert_matches_recompute(&engine, &ac, &grid);
    assert_eq!((engine.terms_computed(), engine.rows_exploded()), (29, 38));

    // insert d: only d's 5 images are read and expanded
    engine.insert(&open(&root.join("d"), "d")).unwrap();
    engine.commit();
    let acd = ["a", "c", "d"].map(|n| open(&root.join(n), n));
    assert_matches_recompute(&engine, &acd, &grid);
    assert_eq!((engine.terms_computed(), engine.rows_exploded()), (34, 43));

    // replace c by its rewrite (retract 7 rows, insert 8), and b comes back, in one commit
    engine.insert(&open(&root.join("c2"), "c")).unwrap();
    engine.insert(&open(&root.join("b"), "b")).unwrap();
    engine.commit();
    let sets = [
        open(&root.join("a"), "a"),
        open(&root.join("b"), "b"),
        open(&root.join("c2"), "c"),
        open(&root.join("d"), "d"),
    ];
    assert_matches_recompute(&engine, &sets, &grid);
    assert_eq!((engine.terms_computed(), engine.rows_exploded()), (51, 67));
    assert_eq!(engine.names(), ["a", "b", "c", "d"]);

    // a set that fails to read stages nothing: c stays as it was
    let broken = root.join("broken");
    write_set(&broken, 48, &cases(31, 48, 4), PREDICTIONS_KIND, usize::MAX);
    let shard = broken.join(data_prep::shard::shard_file_name(1));
    let mut bytes = std::fs::read(&shard).unwrap();
    bytes[4096 + 10] ^= 0x5a;
    std::fs::write(&shard, &bytes).unwrap();
    let err = engine.insert(&open(&broken, "c")).unwrap_err().to_string();
    assert!(err.contains("record 3"), "{err}");
    engine.commit();
    assert_matches_recompute(&engine, &sets, &grid);

    for name in ["a", "b", "c", "d"] {
        assert!(engine.remove(name));
    }
    engine.commit();
    assert_matches_recompute(&engine, &[], &grid);
    assert!(engine.top("a").is_none());
}

/// Polls `what` every 50 ms until it returns true; panics after 60 s.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn expected_csv(store: &Path, grid: &Grid) -> String {
    sweep_serial(&open_store(store).unwrap(), grid, |_| {})
        .unwrap()
        .to_csv()
}

#[test]
fn watch_picks_up_a_new_set_and_a_deleted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let staging = tmp.path().join("staging");
    write_set(
        &store.join("a"),
        32,
        &cases(1, 32, 6),
        PREDICTIONS_KIND,
        usize::MAX,
    );
    write_set(
        &staging.join("b"),
        24,
        &cases(2, 24, 5),
        PREDICTIONS_KIND,
        usize::MAX,
    );
    let grid_path = tmp.path().join("grid.toml");
    std::fs::write(&grid_path, GRID).unwrap();
    let grid = Grid::load(&grid_path).unwrap();
    let out: PathBuf = tmp.path().join("out");
    let csv = out.join("sweep.csv");
    let mut child = bin()
        .arg("sweep")
        .arg("--watch")
        .arg("--predictions")
        .arg(&store)
        .arg("--grid")
        .arg(&grid_path)
        .arg("--out")
        .arg(&out)
        .args(["--interval", "0.05", "--max-updates", "3", "--top", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut check = |want: &str, what: &str| {
        wait_for(what, || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("watch exited early ({status})");
            }
            std::fs::read_to_string(&csv).is_ok_and(|c| c == want)
        })
    };
    check(&expected_csv(&store, &grid), "the first set");
    // a new set appears (moved in whole, as a finished predict leaves it)
    std::fs::rename(staging.join("b"), store.join("b")).unwrap();
    check(&expected_csv(&store, &grid), "the new set");
    assert!(std::fs::read_to_string(&csv).unwrap().contains("\nb,"));
    // a set is deleted
    std::fs::rename(store.join("a"), tmp.path().join("deleted-a")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("watch did not stop after --max-updates 3");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(status.success(), "{stderr}");
    let final_csv = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(final_csv, expected_csv(&store, &grid));
    assert!(!final_csv.contains("\na,"));
    for line in [
        "update 1: 1 set(s) held",
        "  + a (added, 6 images)",
        "update 2: 2 set(s) held",
        "  + b (added, 5 images)",
        "update 3: 1 set(s) held",
        "  - a (removed)",
        "  best b: top ",
    ] {
        assert!(stdout.contains(line), "{line:?} in {stdout}");
    }
    assert!(out.join("sweep.png").is_file());
}
