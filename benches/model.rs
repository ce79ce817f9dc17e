//! Criterion benchmark of one training step's compute (forward in train mode + backward of the
//! mean logit, gradients zeroed in place first) for each network on CPU, batch 2 at 512², fp32.
//! Throughput is two elements per step, so criterion's "elem/s" is images/s.
//!
//! `benches/torch_anchor.py` times the same step in PyTorch eager with the same thread count and
//! prints the ratio, reading `$CARGO_TARGET_DIR/criterion/model_fwd_bwd_cpu/*/new/sample.json`.
//! Run: `cargo bench --bench model` (add `-- albunet` for one model). Environment:
//! `PNEUMOFLOW_BENCH_THREADS` (default: all cores), `PNEUMOFLOW_BENCH_SIZE` (default 512).
//!
//! With `PNEUMOFLOW_BENCH_LOCKSTEP=<model>` the binary skips criterion and serves single steps
//! over stdin/stdout (`step` → seconds, `quit`), so the anchor's `--lockstep` mode can alternate
//! Rust and PyTorch steps one by one: on a shared machine, paired steps see the same load.
use criterion::{criterion_group, Criterion, SamplingMode, Throughput};
use pneumoflow::model::{ModelKind, Net};
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};
use tch::{Device, Kind, Tensor};

const BATCH: i64 = 2;

fn env_or(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Thread count and input side from the environment; sets libtorch's intra-op threads.
fn setup() -> (i64, i64) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as i64);
    let threads = env_or("PNEUMOFLOW_BENCH_THREADS", cores);
    tch::set_num_threads(threads as i32);
    (threads, env_or("PNEUMOFLOW_BENCH_SIZE", 512))
}

/// A network, its normalised random input and its trainable variables.
struct Step {
    net: Net,
    x: Tensor,
    params: Vec<Tensor>,
}

impl Step {
    fn new(kind: ModelKind, size: i64) -> Self {
        tch::manual_seed(0);
        let net = Net::new(kind, Device::Cpu);
        let raw = Tensor::rand([BATCH, 3, size, size], (Kind::Float, Device::Cpu)) * 255.0;
        let x = net.normalize(&raw);
        let params = net.var_store().trainable_variables();
        Step { net, x, params }
    }

    /// Zero the gradients in place, forward in train mode, backward of the mean logit.
    fn run(&mut self) {
        for p in self.params.iter_mut() {
            p.zero_grad();
        }
        let logits = self
            .net
            .forward_t(&self.x, true)
            .expect("bench input fits every model");
        logits.mean(Kind::Float).backward();
    }
}

fn model_fwd_bwd(c: &mut Criterion) {
    let (threads, size) = setup();
    let mut group = c.benchmark_group("model_fwd_bwd_cpu");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(5))
        .measurement_time(Duration::from_secs(30))
        .throughput(Throughput::Elements(BATCH as u64));
    for kind in ModelKind::ALL {
        let name = format!("{kind}_f32_b{BATCH}_{size}x{size}_cpu_t{threads}");
        let mut step = Step::new(kind, size);
        group.bench_function(name, |b| b.iter(|| step.run()));
    }
    group.finish();
}

/// Serves single timed steps of one model over stdin/stdout for the anchor's `--lockstep` mode.
fn lockstep(model: &str) -> Result<(), String> {
    let kind = ModelKind::from_name(model).ok_or_else(|| format!("unknown model {model}"))?;
    let (_, size) = setup();
    let mut step = Step::new(kind, size);
    let mut out = std::io::stdout().lock();
    let io = |e: std::io::Error| e.to_string();
    writeln!(out, "ready").map_err(io)?;
    out.flush().map_err(io)?;
    for line in std::io::stdin().lock().lines() {
        match line.map_err(io)?.trim() {
            "step" => {
                let start = Instant::now();
                step.run();
                writeln!(out, "{}", start.elapsed().as_secs_f64()).map_err(io)?;
                out.flush().map_err(io)?;
            }
            "quit" => break,
            other => return Err(format!("unknown lockstep command {other:?}")),
        }
    }
    Ok(())
}

criterion_group!(benches, model_fwd_bwd);

fn main() {
    if let Ok(model) = std::env::var("PNEUMOFLOW_BENCH_LOCKSTEP") {
        if let Err(err) = lockstep(&model) {
            eprintln!("error: {err}");
            std::process::exit(2);
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
