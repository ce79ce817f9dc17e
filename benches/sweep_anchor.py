#!/usr/bin/env python3
"""Anchor for benches/sweep.rs: the sweep metric written the way a numpy user writes it, per
image-configuration: threshold the probability map at `top`, count, gate on `area`, threshold at
`bottom`, count the intersection with the ground truth, Dice with eps (both empty = 1). One thread.

`python3 benches/lockstep.py sweep --rounds 3` alternates it with the criterion bench. Alone:
run `cargo bench --bench sweep` first (it writes target/bench-data/sweep/: the 1024² maps q.u8
and ground truths gt.u8, the 1,000-triplet grid, the engine's means in expected.csv, and
criterion's estimates), then, with any Python that has numpy (e.g. the albumentations venv):
    python benches/sweep_anchor.py [--seconds 20]
It times as many configurations as fit in --seconds over all maps, checks each mean against the
engine's (1e-12), and prints numpy's image-configurations/s and the ratio of each criterion
bench of the `sweep_1024` group to it (both on one core).
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
DATA = os.path.join(ROOT, "target", "bench-data", "sweep")
CRIT = os.path.join(TARGET, "criterion", "sweep_1024")
SIZE = 1024
EPS = 1e-6  # metric::DEFAULT_EPS, the grid's default


def load():
    import numpy as np

    q = np.fromfile(os.path.join(DATA, "q.u8"), dtype=np.uint8).reshape(-1, SIZE, SIZE)
    gt = np.fromfile(os.path.join(DATA, "gt.u8"), dtype=np.uint8).reshape(-1, SIZE, SIZE)
    configs = []
    with open(os.path.join(DATA, "expected.csv")) as f:
        next(f)
        for line in f:
            i, top, area, bottom, dice = line.strip().split(",")
            configs.append((int(i), float(top), int(area), float(bottom), float(dice)))
    return q, gt, configs


def dice_image(p, g, g_sum, top, area, bottom):
    """Per-image Dice of the triplet (top, area, bottom)."""
    import numpy as np

    if np.count_nonzero(p > top) >= area:
        pred = p > bottom
        inter = np.count_nonzero(pred & g)
        p_sum = np.count_nonzero(pred)
    else:
        inter = p_sum = 0
    return (2.0 * inter + EPS) / (p_sum + g_sum + EPS)


def criterion_rates():
    """Elements/s of every bench of the group: throughput elements / median time."""
    rates = {}
    if not os.path.isdir(CRIT):
        return rates
    for name in sorted(os.listdir(CRIT)):
        est = os.path.join(CRIT, name, "new", "estimates.json")
        bench = os.path.join(CRIT, name, "new", "benchmark.json")
        if not (os.path.exists(est) and os.path.exists(bench)):
            continue
        with open(est) as f:
            ns = json.load(f)["median"]["point_estimate"]
        with open(bench) as f:
            elements = json.load(f).get("throughput", {}).get("Elements")
        if elements:
            rates[name] = elements / (ns * 1e-9)
    return rates


def numpy_rate(seconds):
    """numpy's image-configurations/s, checking every mean it computes against the engine's."""
    import numpy as np

    if not os.path.exists(os.path.join(DATA, "expected.csv")):
        sys.exit("no %s: run `cargo bench --bench sweep` first" % DATA)
    q, gt, configs = load()
    # What a user holds: float32 probability maps and boolean masks (not timed).
    probs = [(qi.astype(np.float32) / np.float32(255.0)) for qi in q]
    truths = [gi != 0 for gi in gt]
    g_sums = [int(np.count_nonzero(g)) for g in truths]
    # Spread the timed configurations over the whole grid (every k-th).
    step = 7
    order = [configs[k] for k in range(0, len(configs), step)] + \
        [c for k, c in enumerate(configs) if k % step]
    done = 0
    worst = 0.0
    start = time.perf_counter()
    for (i, top, area, bottom, want) in order:
        total = 0.0
        for p, g, gs in zip(probs, truths, g_sums):
            total += dice_image(p, g, gs, top, area, bottom)
        mean = total / len(probs)
        worst = max(worst, abs(mean - want))
        if abs(mean - want) > 1e-12:
            sys.exit("config %d (%s, %s, %s): numpy %.17g, engine %.17g" % (i, top, area, bottom, mean, want))
        done += 1
        if time.perf_counter() - start > seconds:
            break
    elapsed = time.perf_counter() - start
    rate = done * len(probs) / elapsed
    sys.stderr.write("numpy %s: %d configurations x %d maps of %d² in %.2f s: %.1f image-configurations/s "
                     "(means equal the engine's within %.1e)\n"
                     % (np.__version__, done, len(probs), SIZE, elapsed, rate, worst))
    return rate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rate", action="store_true", help="print only numpy's rate (for lockstep.py)")
    args = ap.parse_args()
    rate = numpy_rate(args.seconds)
    if args.rate:
        print(rate)
        return
    for name, ours in criterion_rates().items():
        print("%-28s %14.0f image-configurations/s  %8.0fx numpy" % (name, ours, ours / rate))


if __name__ == "__main__":
    main()
