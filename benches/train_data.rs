//! The training data stages alone (issue: training), as the `train` graph runs them with the
//! training step replaced by a sink: sampler positions → read + the solution's train transforms
//! (`train_transforms_complex_1024.json`, albumentations 0.3.1 semantics) on every worker →
//! batches (by batch number) → the float32 network input with ImageNet normalisation, computed
//! on the batch's worker (`net_inputs`) → on worker 0, in batch order, copied into the
//! `[N, 3, H, W]` tensor the network is fed, then dropped.
//!
//! Run by `benches/train_data_anchor.py` (which also times the PyTorch `DataLoader` anchor in the
//! same session): `cargo bench --bench train_data -- SHARDS WORKERS IMAGES BATCH` prints one JSON
//! line `{"workers", "images", "seconds"}`.

use pneumoflow::augment::load_transforms;
use pneumoflow::data::Dataset;
use pneumoflow::dataflow::gated_source::Gate;
use pneumoflow::dataflow::in_order::InOrder;
use pneumoflow::dataflow::net_input::InputOutput;
use pneumoflow::dataflow::run_dataflow;
use pneumoflow::dataflow::train_epoch::{input_batches, Batching};
use pneumoflow::dataflow::Execution;
use pneumoflow::model::InputNorm;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // `cargo bench` passes `--bench`; the positional arguments follow it.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [shards, workers, images, batch] = args.as_slice() else {
        eprintln!("usage: cargo bench --bench train_data -- SHARDS WORKERS IMAGES BATCH");
        return;
    };
    let (workers, images, batch): (usize, usize, usize) = (
        workers.parse().expect("WORKERS"),
        images.parse().expect("IMAGES"),
        batch.parse().expect("BATCH"),
    );
    // the process settings the binaries apply (THP off, glibc heap kept)
    pneumoflow::host_memory::apply().expect("host memory settings");
    tch::set_num_threads(1);
    let json = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("pipelines/transforms/train_transforms_complex_1024.json");
    let dataset = Arc::new(
        Dataset::open(std::path::Path::new(shards))
            .expect("shards")
            .with_augment(load_transforms(&json).expect("transforms"), 1),
    );
    let n = dataset.len();
    // The sampler's order: every record, shuffled epochs are no different for speed.
    let order: Arc<Vec<usize>> = Arc::new((0..images).map(|i| (i * 7) % n).collect());
    let batching = Batching::new(batch, InputNorm::ImageNet.tables());
    let cpu_start = cpu_seconds();
    let start = Instant::now();
    let fed = run_dataflow(
        // The train graph's gate: one batch per timestamp, the default `train.in_flight`.
        &Execution::threads(workers).with_gate(Gate {
            per_step: batch,
            in_flight: pneumoflow::train::config::DEFAULT_IN_FLIGHT,
        }),
        Arc::new((0..images).collect::<Vec<usize>>()),
        move |_info, positions| {
            input_batches(
                positions,
                Arc::clone(&dataset),
                Arc::clone(&order),
                0,
                &batching,
            )
            .in_order(
                |b: &InputOutput| b.number,
                |b: InputOutput| {
                    let input = b.batch.expect("batch");
                    pneumoflow::train::with_input_tensors(&input, tch::Device::Cpu, |x, t| {
                        std::hint::black_box((x.size(), t.size()));
                    });
                    input.host.len()
                },
            )
        },
        |_: &usize| {},
    )
    .expect("dataflow");
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    let total: usize = fed.iter().sum();
    assert_eq!(total, images, "every image reached the sink");
    println!(
        "{}",
        serde_json::json!({"workers": workers, "images": images, "seconds": seconds, "cpu_seconds": cpu})
    );
}

/// User + system CPU seconds of this process so far (`/proc/self/stat`, clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}
