//! Sweep throughput, one core: image-configurations per second over N deterministic synthetic
//! 1024² prediction maps (quantised u8 probabilities with ground truth, about a quarter
//! positive, as SIIM):
//!
//! - `engine_1000_triplets`: 10 tops × 10 areas × 10 bottoms on maps in memory (one pass per
//!   image builds the histograms, then O(1) per configuration);
//! - `engine_1_triplet`: one configuration, i.e. the per-image pass alone;
//! - `engine_sample_grid`: `pipelines/grids/sweep_grid.toml` (2,268 configurations, min contour
//!   areas 0/100/200: contours traced once per (image, bottom));
//! - `from_shards_1000_triplets`: the 1,000 triplets end to end from a prediction set on disk
//!   (mmap + CRC32 + zstd read, then the engine), as `pneumoflow sweep` runs on one worker.
//!
//! - `incremental_add_1_set_to_32` vs `recompute_33_sets` (group `sweep_incremental`): a store
//!   of 32 prediction sets (the 8 maps each, hard links of one set) swept over the 1,000
//!   triplets; adding one more set with the differential sweep (open it, its 8 images' terms,
//!   insert, commit: every view updated) against recomputing all 33 sets with the
//!   non-incremental engine (`sweep_serial`, the same one core). It also prints the ratio of
//!   their medians. Target: ≥ 10×.
//!
//! Anchor: `benches/sweep_anchor.py`, a straightforward numpy implementation of the same metric
//! per image-configuration (threshold, count, Dice), on the maps this bench writes to
//! `target/bench-data/sweep/`; it checks its means against the engine's and prints the ratio.
//! Target: ≥ 1,000× the numpy script per core.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use data_prep::folds::Fold;
use data_prep::shard::{encode_record, shard_file_name, write_shard, Record, RecordMeta, Split};
use pneumoflow::dataflow::incremental_sweep::IncrementalSweep;
use pneumoflow::sweep::{
    open_store, sweep_serial, DiceSums, Grid, ImageTerms, PredictionSet, TermScratch,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SIZE: usize = 1024;
const N: usize = 8;

/// The 1,000-triplet grid of the engine bench and the anchor.
const TRIPLETS: &str = r#"
top = [0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9]
area = [0, 200, 400, 600, 800, 1000, 1500, 2000, 3000, 4000]
bottom = [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55]
"#;

/// Image `i`: low noise everywhere; positives (every fourth image) get 1-3 lesions with a
/// shifted, rim-fading prediction; some negatives get a false-positive blob.
fn map(i: usize) -> (Vec<u8>, Vec<u8>) {
    let mut rng = ChaCha8Rng::seed_from_u64(1000 + i as u64);
    let mut q: Vec<u8> = (0..SIZE * SIZE).map(|_| rng.random_range(0..40)).collect();
    let mut gt = vec![0u8; SIZE * SIZE];
    let positive = i.is_multiple_of(4);
    let blobs = if positive {
        rng.random_range(1..4)
    } else {
        usize::from(i % 3 == 1)
    };
    for _ in 0..blobs {
        let (cx, cy) = (
            rng.random_range(100.0..924.0),
            rng.random_range(100.0..924.0),
        );
        let (rx, ry) = (rng.random_range(15.0..90.0), rng.random_range(15.0..90.0));
        let peak: f64 = rng.random_range(120.0..250.0);
        let (y0, y1) = ((cy - ry * 1.3) as usize, (cy + ry * 1.3) as usize);
        let (x0, x1) = ((cx - rx * 1.3) as usize, (cx + rx * 1.3) as usize);
        for y in y0..y1.min(SIZE) {
            for x in x0..x1.min(SIZE) {
                let d = ((x as f64 - cx) / rx).powi(2) + ((y as f64 - cy) / ry).powi(2);
                let p = y * SIZE + x;
                if positive && d <= 1.0 {
                    gt[p] = 255;
                }
                let d = ((x as f64 - cx - 6.0) / rx).powi(2) + ((y as f64 - cy + 4.0) / ry).powi(2);
                let v = (peak * (1.25 - 0.6 * d)).clamp(0.0, 255.0) as u8;
                q[p] = q[p].max(v);
            }
        }
    }
    (q, gt)
}

fn bench_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/sweep");
    std::fs::create_dir_all(&d).expect("bench dir");
    d
}

/// Writes the maps and ground truths as raw bytes (for the anchor), and a prediction set.
fn write_inputs(maps: &[(Vec<u8>, Vec<u8>)]) -> PathBuf {
    let dir = bench_dir();
    let mut q = std::fs::File::create(dir.join("q.u8")).expect("q.u8");
    let mut g = std::fs::File::create(dir.join("gt.u8")).expect("gt.u8");
    for (m, t) in maps {
        q.write_all(m).expect("write q");
        g.write_all(t).expect("write gt");
    }
    let set = dir.join("store").join("bench");
    std::fs::create_dir_all(&set).expect("set dir");
    let records: Vec<_> = maps
        .iter()
        .enumerate()
        .map(|(i, (m, t))| {
            let rec = Record {
                meta: RecordMeta {
                    id: format!("bench{i:02}"),
                    split: Split::Train,
                    height: SIZE as u32,
                    width: SIZE as u32,
                    orig_height: SIZE as u32,
                    orig_width: SIZE as u32,
                    label: Some(t.iter().any(|&v| v != 0)),
                    fold: Fold::Index((i % 5) as u8),
                    n_objects: 1,
                },
                image: m.clone(),
                mask: Some(t.clone()),
            };
            encode_record(&rec, data_prep::shard::DEFAULT_LEVEL).expect("encode")
        })
        .collect();
    write_shard(&set.join(shard_file_name(0)), &records, 0).expect("shard");
    let source = serde_json::json!({"kind": pneumoflow::sweep::PREDICTIONS_KIND, "bench": true});
    pneumoflow::data::writer::manifest_from_shards(
        &set,
        SIZE as u32,
        &[shard_file_name(0)],
        source,
    )
    .expect("manifest")
    .save(&set)
    .expect("save manifest");
    set
}

/// Sweeps the in-memory maps over `grid` on this thread.
fn engine(grid: &Grid, maps: &[(Vec<u8>, Vec<u8>)], scratch: &mut TermScratch) -> DiceSums {
    let plan = grid.plan(SIZE as u32);
    let mut sums = DiceSums::new(plan.len());
    for (q, gt) in maps {
        let terms = ImageTerms::compute(&plan, q, gt, scratch).expect("terms");
        sums.add(&plan, &terms);
    }
    sums
}

fn sweep(c: &mut Criterion) {
    let maps: Vec<_> = (0..N).map(map).collect();
    let set_dir = write_inputs(&maps);
    let triplets = Grid::from_toml_str(TRIPLETS, "bench").expect("grid");
    let sample_path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pipelines/grids/sweep_grid.toml");
    let sample = Grid::load(&sample_path).expect("sample grid");
    // The engine's means, for the anchor's check: config index, top, area, bottom, mean.
    let mut scratch = TermScratch::new();
    let sums = engine(&triplets, &maps, &mut scratch);
    let mut expected = String::from("index,top,area,bottom,dice\n");
    for i in 0..triplets.len() {
        let cfg = triplets.config(i);
        let mean = sums.mean(i).expect("images");
        expected += &format!("{i},{},{},{},{mean}\n", cfg.top, cfg.area, cfg.bottom);
    }
    std::fs::write(bench_dir().join("expected.csv"), expected).expect("expected.csv");
    std::fs::write(bench_dir().join("grid.toml"), TRIPLETS).expect("grid.toml");

    let mut g = c.benchmark_group("sweep_1024");
    g.throughput(Throughput::Elements((N * triplets.len()) as u64));
    g.bench_function("engine_1000_triplets", |b| {
        b.iter(|| black_box(engine(&triplets, &maps, &mut scratch)))
    });
    // The fixed cost per image (the histogram pass), for comparison.
    let one =
        Grid::from_toml_str("top = [0.75]\narea = [2000]\nbottom = [0.3]\n", "one").expect("grid");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("engine_1_triplet", |b| {
        b.iter(|| black_box(engine(&one, &maps, &mut scratch)))
    });
    g.throughput(Throughput::Elements((N * sample.len()) as u64));
    g.bench_function("engine_sample_grid", |b| {
        b.iter(|| black_box(engine(&sample, &maps, &mut scratch)))
    });
    let sets = open_store(&set_dir).expect("open set");
    g.throughput(Throughput::Elements((N * triplets.len()) as u64));
    g.bench_function("from_shards_1000_triplets", |b| {
        b.iter(|| black_box(sweep_serial(&sets, &triplets, |_| {}).expect("sweep")))
    });
    g.finish();
}

/// Sets in the store the incremental bench adds one to.
const STORE_SETS: usize = 32;

/// A store of `STORE_SETS` sets plus the set `new`, each a hard-linked copy of `set` (the
/// store is rebuilt from scratch).
fn incremental_store(set: &Path) -> (PathBuf, PathBuf) {
    let root = bench_dir().join("incremental");
    let _ = std::fs::remove_dir_all(&root);
    let (store, extra) = (root.join("store"), root.join("extra"));
    let names = (0..STORE_SETS).map(|i| store.join(format!("set{i:02}")));
    for dir in names.chain([extra.join("new")]) {
        std::fs::create_dir_all(&dir).expect("set dir");
        for entry in std::fs::read_dir(set).expect("bench set") {
            let from = entry.expect("entry").path();
            let to = dir.join(from.file_name().expect("name"));
            std::fs::hard_link(&from, &to)
                .or_else(|_| std::fs::copy(&from, &to).map(|_| ()))
                .expect("link");
        }
    }
    (store, extra.join("new"))
}

/// Median of `runs` timings of `f`.
fn median(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut t: Vec<Duration> = (0..runs).map(|_| f()).collect();
    t.sort();
    t[runs / 2]
}

fn incremental(c: &mut Criterion) {
    let set_dir = bench_dir().join("store").join("bench");
    if !set_dir.join("manifest.json").is_file() {
        write_inputs(&(0..N).map(map).collect::<Vec<_>>());
    }
    let (store, new_dir) = incremental_store(&set_dir);
    let grid = Grid::from_toml_str(TRIPLETS, "bench").expect("grid");
    let mut engine = IncrementalSweep::new(&grid, 5);
    for set in open_store(&store).expect("store") {
        engine.insert(&set).expect("insert");
    }
    engine.commit();
    // The timed update: open the new set, its terms, insert, commit (every view updated).
    let add = |engine: &mut IncrementalSweep| {
        let start = Instant::now();
        let set = PredictionSet::open(&new_dir, "new").expect("new set");
        engine.insert(&set).expect("insert");
        engine.commit();
        let took = start.elapsed();
        assert_eq!(engine.top("new").expect("held").len(), 5);
        engine.remove("new");
        engine.commit();
        took
    };
    // Recompute: every set of the store plus the new one, from the shards.
    let mut all = open_store(&store).expect("store");
    all.push(PredictionSet::open(&new_dir, "new").expect("new set"));
    let recompute = || black_box(sweep_serial(&all, &grid, |_| {}).expect("sweep"));
    let added = median(7, || add(&mut engine));
    let full = median(5, || {
        let start = Instant::now();
        recompute();
        start.elapsed()
    });
    eprintln!(
        "sweep_incremental: add 1 set ({N} images, {} configurations) to {STORE_SETS}: {:.2} ms; \
         recompute {} sets: {:.1} ms; ratio {:.1}x (target >= 10x)",
        grid.len(),
        added.as_secs_f64() * 1e3,
        STORE_SETS + 1,
        full.as_secs_f64() * 1e3,
        full.as_secs_f64() / added.as_secs_f64()
    );
    let mut g = c.benchmark_group("sweep_incremental");
    g.bench_function(format!("incremental_add_1_set_to_{STORE_SETS}"), |b| {
        b.iter_custom(|iters| (0..iters).map(|_| add(&mut engine)).sum())
    });
    g.sample_size(10);
    g.bench_function(format!("recompute_{}_sets", STORE_SETS + 1), |b| {
        b.iter(recompute)
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(5));
    targets = sweep, incremental
}
criterion_main!(benches);
