"""PyTorch eager anchor for benches/model.rs: one training step's compute per network on CPU.

Same step as the Rust bench: gradients zeroed in place, forward in train mode on a batch of 2
normalised 512x512 inputs, backward of the mean logit; fp32, same thread count. Reports images/s
from the median step and from the fastest step (robust to other load on a shared machine) and, when
the criterion samples of `cargo bench --bench model` exist, the ratios rust/pytorch (>= 0.98 is the
target: tch adds nothing to libtorch's kernels).

    .venv-torch/bin/python benches/torch_anchor.py [--threads N] [--iters 10] [--models albunet ...]
    .venv-torch/bin/python benches/torch_anchor.py --run-rust   # cargo bench, then pytorch, model by model
    .venv-torch/bin/python benches/torch_anchor.py --lockstep   # alternate single rust and pytorch steps
        (the bench binary serves steps over a pipe); the paired ratios cancel other load on a shared
        machine, so this is the figure to trust there

Pinned: torch==2.13.0, torchvision==0.28.0 (the networks come from
tests/fixtures/model/reference_nets.py).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures", "model"))
import reference_nets  # noqa: E402

MODELS = ["albunet", "resnet50_unet", "seresnext50_unet"]
BATCH = 2


def time_model(name, size, iters, warmup):
    step = make_torch_step(name, size)
    times = [step() for _ in range(warmup + iters)][warmup:]
    return statistics.median(times), times


def make_torch_step(name, size):
    """The timed step: zero gradients in place, forward in train mode, backward of the mean logit."""
    torch.manual_seed(0)
    model = reference_nets.build(name).train()
    x = reference_nets.normalize(name, torch.rand(BATCH, 3, size, size) * 255.0)

    def step():
        start = time.perf_counter()
        model.zero_grad(set_to_none=False)
        model(x).mean().backward()
        return time.perf_counter() - start

    return step


def rust_bench_executable(env):
    out = subprocess.run(["cargo", "bench", "--bench", "model", "--no-run", "--message-format=json"], cwd=ROOT,
                         env=env, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") and msg["target"]["name"] == "model":
            return msg["executable"]
    raise SystemExit("error: cargo did not report the model bench executable")


def lockstep(name, exe, env, size, iters, warmup):
    """(rust seconds, pytorch seconds) per round; rounds alternate which side goes first."""
    proc = subprocess.Popen([exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=dict(env, PNEUMOFLOW_BENCH_LOCKSTEP=name))
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit(f"error: the rust step server for {name} did not start")

    def rust_step():
        proc.stdin.write("step\n")
        proc.stdin.flush()
        return float(proc.stdout.readline())

    torch_step = make_torch_step(name, size)
    for _ in range(warmup):
        rust_step()
        torch_step()
    pairs = []
    for r in range(iters):
        if r % 2 == 0:
            rt = rust_step()
            tt = torch_step()
        else:
            tt = torch_step()
            rt = rust_step()
        pairs.append((rt, tt))
    proc.stdin.write("quit\n")
    proc.stdin.flush()
    proc.wait()
    return pairs


def criterion_samples(crit_dir, name, size, threads):
    """Per-iteration seconds of each criterion sample (Flat sampling: one or more steps each)."""
    bench = f"{name}_f32_b{BATCH}_{size}x{size}_cpu_t{threads}"
    path = os.path.join(crit_dir, "model_fwd_bwd_cpu", bench, "new", "sample.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        sample = json.load(f)
    return [t / i / 1e9 for t, i in zip(sample["times"], sample["iters"])]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int,
                    default=int(os.environ.get("PNEUMOFLOW_BENCH_THREADS", os.cpu_count() or 1)))
    ap.add_argument("--size", type=int, default=int(os.environ.get("PNEUMOFLOW_BENCH_SIZE", 512)))
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--models", nargs="*", default=MODELS, choices=MODELS)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    ap.add_argument("--criterion-dir", default=os.path.join(target, "criterion"))
    ap.add_argument("--lockstep", action="store_true",
                    help="alternate single rust and pytorch steps (paired ratios; robust on a shared machine)")
    ap.add_argument("--run-rust", action="store_true",
                    help="run `cargo bench --bench model` for each model right before timing it in PyTorch")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, batch {BATCH} at {args.size}x{args.size}, "
          f"{args.iters} steps after {args.warmup} warm-up")
    env = dict(os.environ, PNEUMOFLOW_BENCH_THREADS=str(args.threads), PNEUMOFLOW_BENCH_SIZE=str(args.size),
               CARGO_TARGET_DIR=target)
    if args.lockstep:
        exe = rust_bench_executable(env)
        print(f"lockstep: {exe}; per round one rust and one pytorch step, alternating which goes first")
        print(f"{'model':<18} {'pytorch img/s':>14} {'rust img/s':>11} {'median of paired rust/pytorch':>30}")
        for name in args.models:
            pairs = lockstep(name, exe, env, args.size, args.iters, args.warmup)
            for rt, tt in pairs:
                print(f"  {name}: rust {rt:.2f} s, pytorch {tt:.2f} s, ratio {tt / rt:.3f}", file=sys.stderr)
            r_ips = BATCH / statistics.median([rt for rt, _ in pairs])
            t_ips = BATCH / statistics.median([tt for _, tt in pairs])
            ratio = statistics.median([tt / rt for rt, tt in pairs])
            print(f"{name:<18} {t_ips:>14.4f} {r_ips:>11.4f} {ratio:>30.3f}")
        return
    print("img/s from the median step (in brackets: from the fastest step, which resists other load)")
    print(f"{'model':<18} {'pytorch img/s':>16} {'rust img/s':>16} {'rust/pytorch':>16}")
    for name in args.models:
        if args.run_rust:
            subprocess.run(["cargo", "bench", "--bench", "model", "--", f"/{name}_f32"], cwd=ROOT, env=env,
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, times = time_model(name, args.size, args.iters, args.warmup)
        print(f"  pytorch {name} step times (s): {' '.join(f'{t:.2f}' for t in times)}", file=sys.stderr)
        t_med, t_min = BATCH / statistics.median(times), BATCH / min(times)
        rust = criterion_samples(args.criterion_dir, name, args.size, args.threads)
        if rust is None:
            print(f"{name:<18} {t_med:>7.4f} ({t_min:.4f}) {'-':>16} {'-':>16}  (no criterion result: cargo bench --bench model)")
            continue
        print(f"  rust {name} step times (s): {' '.join(f'{t:.2f}' for t in rust)}", file=sys.stderr)
        r_med, r_min = BATCH / statistics.median(rust), BATCH / min(rust)
        print(f"{name:<18} {t_med:>7.4f} ({t_min:.4f}) {r_med:>7.4f} ({r_min:.4f}) "
              f"{r_med / t_med:>7.3f} ({r_min / t_min:.3f})")


if __name__ == "__main__":
    main()
