//! `pneumoflow sweep --watch`: follows a prediction store and keeps `sweep.csv` and `sweep.png`
//! current with the incremental sweep (`pneumoflow::dataflow::incremental_sweep`): every
//! `--interval` seconds it scans the store, inserts the sets that appeared (complete ones:
//! manifest present), retracts those that disappeared, retracts and re-inserts those whose
//! manifest changed, and after each change rewrites both outputs atomically and prints what
//! changed and the best configurations. Runs until Ctrl-C or `--max-updates`.

use super::sweep::SweepArgs;
use anyhow::{bail, Context};
use pneumoflow::dataflow::incremental_sweep::IncrementalSweep;
use pneumoflow::sweep::store::is_set_dir;
use pneumoflow::sweep::watch::{changes, scan_store, SeenSet};
use pneumoflow::sweep::{heatmap, Grid, PredictionSet};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Runs `sweep --watch` over `grid`.
pub fn run(args: &SweepArgs, grid: Grid) -> anyhow::Result<()> {
    if is_set_dir(&args.predictions) {
        bail!(
            "--watch follows a prediction store (a directory of sets); {} is a set",
            args.predictions.display()
        );
    }
    if args.cluster.processes > 1 {
        bail!("--watch runs in one process (one differential worker); drop --processes");
    }
    if !(args.interval.is_finite() && args.interval >= 0.0) {
        bail!(
            "--interval {} must be a number of seconds >= 0",
            args.interval
        );
    }
    let out = super::sweep::out_dir(args)?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let (csv, png) = (out.join("sweep.csv"), out.join("sweep.png"));
    let mut engine = IncrementalSweep::new(&grid, args.top as usize);
    let mut seen: BTreeMap<String, SeenSet> = BTreeMap::new();
    let mut updates = 0u64;
    eprintln!(
        "sweep --watch: following {} every {} s ({} configurations); writing {} and {}",
        args.predictions.display(),
        args.interval,
        grid.len(),
        csv.display(),
        png.display()
    );
    loop {
        let now = scan_store(&args.predictions)?;
        let delta = changes(&seen, &now);
        if !delta.is_empty() {
            let start = Instant::now();
            let mut report = String::new();
            for name in &delta.removed {
                engine.remove(name);
                let _ = writeln!(report, "  - {name} (removed)");
            }
            let inserts = (delta.changed.iter().map(|n| (n, "changed")))
                .chain(delta.added.iter().map(|n| (n, "added")));
            for (name, how) in inserts {
                let opened = PredictionSet::open(&now[name].dir, name);
                match opened.and_then(|set| engine.insert(&set)) {
                    Ok(images) => {
                        let _ = writeln!(report, "  + {name} ({how}, {images} images)");
                    }
                    Err(e) => {
                        // a changed set's old results are stale: retract them too
                        engine.remove(name);
                        let _ = writeln!(report, "  ! {name} ({how}) skipped: {e}");
                    }
                }
            }
            engine.commit();
            seen = now;
            let result = engine.result();
            result.write_csv(&csv)?;
            heatmap::write(&result, &png)?;
            updates += 1;
            println!(
                "update {updates}: {} set(s) held, {:.3} s",
                engine.names().len(),
                start.elapsed().as_secs_f64()
            );
            print!("{report}{}", best_lines(&engine));
            use std::io::Write as _;
            let _ = std::io::stdout().flush();
            if args.max_updates.is_some_and(|m| updates >= m) {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_secs_f64(args.interval));
    }
}

/// The maintained best configuration of every set, overall and per fold.
fn best_lines(engine: &IncrementalSweep) -> String {
    let grid = engine.grid();
    let mut s = String::new();
    for name in engine.names() {
        let Some(best) = engine.top(&name).and_then(|t| t.first().copied()) else {
            continue;
        };
        let c = grid.config(best.config);
        let _ = writeln!(
            s,
            "  best {name}: top {} area {} bottom {} min_area {} dice {:.5} ({} images)",
            c.top,
            c.area,
            c.bottom,
            c.min_contour_area,
            best.mean(),
            best.images
        );
        for (fold, ranked) in engine.top_per_fold(&name).unwrap_or_default() {
            if let Some(b) = ranked.first() {
                let c = grid.config(b.config);
                let _ = writeln!(
                    s,
                    "    fold {}: top {} area {} bottom {} min_area {} dice {:.5} ({} images)",
                    fold.label(),
                    c.top,
                    c.area,
                    c.bottom,
                    c.min_contour_area,
                    b.mean(),
                    b.images
                );
            }
        }
    }
    s
}
