//! `pneumoflow sweep`: mean per-image Dice of every grid configuration, per fold and overall,
//! for every prediction set of a store (timely dataflow); writes `sweep.csv` and `sweep.png`
//! and prints the best configurations of each set. With `--watch`, follows a prediction store
//! and keeps both current incrementally (`super::sweep_watch`).

use super::cluster::ClusterArgs;
use super::progress::job_bar;
use anyhow::{bail, Context};
use clap::Args;
use pneumoflow::dataflow::sweep::run_sweep;
use pneumoflow::sweep::{heatmap, open_store, store::is_set_dir, Grid, SweepResult};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Arguments of `pneumoflow sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// A prediction set (a shard dataset of quantised probability maps), or a store: a directory
    /// whose subdirectories are prediction sets.
    #[arg(long)]
    pub predictions: PathBuf,
    /// The grid (TOML: top, area, bottom, optional min_contour_area, eps, area_resolution).
    #[arg(long)]
    pub grid: PathBuf,
    /// Output directory for sweep.csv and sweep.png (default: the store; for a single set, the
    /// directory holding it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Best configurations printed per set.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=10000))]
    pub top: u64,
    /// Follow the store: insert sets that appear (complete ones: manifest present), retract sets
    /// that disappear or whose manifest changes, and rewrite sweep.csv and sweep.png after each
    /// change (differential dataflow, one worker; only changed sets are read). Stop with
    /// Ctrl-C (outputs are replaced atomically).
    #[arg(long)]
    pub watch: bool,
    /// Seconds between two scans of the store (--watch).
    #[arg(long, default_value_t = 10.0, requires = "watch")]
    pub interval: f64,
    /// Stop after this many updates (--watch; the first load of a non-empty store is one).
    #[arg(long, requires = "watch", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_updates: Option<u64>,
    /// Workers and processes.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// The output directory: `--out`, else the store, else the directory holding the single set.
pub fn out_dir(args: &SweepArgs) -> anyhow::Result<PathBuf> {
    if let Some(out) = &args.out {
        if is_set_dir(out) {
            bail!(
                "--out {} is a shard dataset; choose a directory outside the prediction sets",
                out.display()
            );
        }
        return Ok(out.clone());
    }
    if !is_set_dir(&args.predictions) {
        return Ok(args.predictions.clone());
    }
    let abs = super::absolute(&args.predictions)
        .with_context(|| format!("resolving {}", args.predictions.display()))?;
    Ok(abs.parent().map(Path::to_path_buf).unwrap_or(abs))
}

/// FNV-1a 64 of `bytes` folded into `h`.
fn fnv(h: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(h, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// Runs `sweep`.
pub fn run(args: SweepArgs) -> anyhow::Result<()> {
    let grid = Grid::load(&args.grid)?;
    if args.watch {
        return super::sweep_watch::run(&args, grid);
    }
    let sets = open_store(&args.predictions)?;
    let out = out_dir(&args)?;
    let first = args.cluster.is_first_process();
    // Every process of a cluster must sweep the same grid over the same shards.
    let mut job = fnv(0xcbf2_9ce4_8422_2325, format!("{grid:?}").as_bytes());
    for set in &sets {
        job = fnv(job, set.name().as_bytes());
        for shard in &set.shards().manifest().shards {
            job = fnv(job, &shard.fingerprint.to_le_bytes());
        }
    }
    let execution = args.cluster.execution(job)?;
    let images: usize = sets.iter().map(|s| s.len()).sum();
    if first {
        eprintln!(
            "sweep: {} prediction set(s), {images} images, {} configurations, {}",
            sets.len(),
            grid.len(),
            args.cluster.describe()
        );
    }
    let bar = job_bar(images as u64, "sweep", first);
    let progress = bar.clone();
    let start = Instant::now();
    let result = run_sweep(&execution, Arc::new(sets), &grid, move |n| progress.inc(n))?;
    bar.finish_and_clear();
    if !first {
        return Ok(());
    }
    let seconds = start.elapsed().as_secs_f64();
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let csv = out.join("sweep.csv");
    let png = out.join("sweep.png");
    result.write_csv(&csv)?;
    heatmap::write(&result, &png)?;
    eprintln!(
        "sweep: {:.0} image-configurations/s ({images} images x {} configurations in {seconds:.2} s); wrote {} and {}",
        (images * grid.len()) as f64 / seconds.max(1e-9),
        grid.len(),
        csv.display(),
        png.display()
    );
    print!("{}", best_table(&result, args.top as usize));
    Ok(())
}

/// The `n` best configurations of every set, with their per-fold means.
pub fn best_table(result: &SweepResult, n: usize) -> String {
    let mut s = String::new();
    for set in &result.sets {
        let all = set.overall();
        s.push_str(&format!(
            "{} ({} images, {}x{}): best of {} configurations\n",
            set.name,
            all.images(),
            set.size,
            set.size,
            result.grid.len()
        ));
        let folds: String = set
            .folds
            .iter()
            .map(|(f, _)| format!(" {:>8}", format!("fold {}", f.label())))
            .collect();
        s.push_str(&format!(
            "  rank    top   area  bottom  min_area      dice{folds}\n"
        ));
        for (rank, (i, mean)) in set.best(n).into_iter().enumerate() {
            let c = result.grid.config(i);
            let per_fold: String = set
                .folds
                .iter()
                .map(|(_, sums)| format!(" {:>8.4}", sums.mean(i).unwrap_or(f64::NAN)))
                .collect();
            s.push_str(&format!(
                "  {:>4} {:>6} {:>6} {:>7} {:>9} {mean:>9.5}{per_fold}\n",
                rank + 1,
                c.top,
                c.area,
                c.bottom,
                c.min_contour_area
            ));
        }
    }
    s
}
