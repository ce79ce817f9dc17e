#!/usr/bin/env python3
"""Anchor for benches/shard.rs: cv2.imread of the same 1024² PNGs, one thread, on this machine.

Run `cargo bench --bench shard` first (it writes target/bench-data/png/*.png and criterion's
estimates), then, with any Python that has opencv-python-headless (e.g. the albumentations venv):
    python benches/png_anchor.py
Prints cv2.imread images/s and the ratio of the shard read (criterion) to it.
"""
import glob
import json
import os
import statistics
import sys
import time

import cv2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PNG_DIR = os.path.join(ROOT, "target", "bench-data", "png")
CRIT = os.path.join(ROOT, "target", "criterion", "read_1024")


def criterion_rate(name):
    path = os.path.join(CRIT, name, "new", "estimates.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        ns = json.load(f)["mean"]["point_estimate"]
    return 1e9 / ns


def imread_rate():
    """cv2.imread images/s over the bench's PNGs, one thread, median of 5 one-second runs."""
    cv2.setNumThreads(1)
    files = sorted(glob.glob(os.path.join(PNG_DIR, "*.png")))
    if not files:
        raise SystemExit(f"no PNGs in {PNG_DIR}: run `cargo bench --bench shard` first")
    for f in files:  # warm the page cache
        cv2.imread(f, cv2.IMREAD_GRAYSCALE)
    rates = []
    for _ in range(5):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 1.0:
            img = cv2.imread(files[n % len(files)], cv2.IMREAD_GRAYSCALE)
            assert img is not None and img.shape == (1024, 1024)
            n += 1
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def main():
    if "--rate" in sys.argv:
        print(imread_rate())
        return
    anchor = imread_rate()
    print(f"cv2 {cv2.__version__} imread 1024x1024 gray PNG, 1 thread: {anchor:.1f} img/s (median of 5)")
    names = sorted(os.listdir(CRIT)) if os.path.isdir(CRIT) else []
    for name in names:
        r = criterion_rate(name)
        if r is not None:
            print(f"{name}: {r:.1f} img/s = {r / anchor:.1f}x cv2.imread")


if __name__ == "__main__":
    main()
