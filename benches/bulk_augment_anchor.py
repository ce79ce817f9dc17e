#!/usr/bin/env python3
"""Bulk re-augmentation end to end: `pneumoflow augment --out` against a Python loop doing the same
job, run alternately (lockstep) on the same machine, several rounds; prints the median ratio and
the spread.

The job: every record of a 1024x1024 dataset (synthetic chest X-rays, image + mask), `--copies`
augmented copies each, with the solution's train transforms without Normalize
(pipelines/transforms/train_transforms_complex_1024_old.json), written to disk.

- pneumoflow: `pneumoflow augment --shards S --transforms JSON --out O --copies K --workers 1`,
  timed from outside as one whole command (process start, shard reads, augmentation, zstd,
  fsync'd shard writes, manifest); `--repeats` runs per round, rate = total images / total time.
- Python (one thread, `cv2.setNumThreads(1)`): for each record `cv2.imread` its image and mask
  PNGs, then per copy `Compose(image=, mask=)` and `cv2.imwrite` of both PNGs. Only the loop is
  timed (imports and pipeline construction are not), which favours Python.
  - albumentations 0.3.1 (.venv-albu031, recipe in tests/fixtures/augment/gen_augment_fixtures.py)
    loads the solution's JSON itself with `albumentations.load`;
  - the current albumentations (.venv-albu-current: `pip install albumentations
    opencv-python-headless`) builds the closest 2.x equivalent (as benches/albu_anchor.py does).

Draws: round r uses seed `--first-seed + r` on every side (`pneumoflow augment --seed`; Python's
`random` for 0.3.1, one seeded stream set on the 2.x Compose), so both sides sample afresh
each round and the median compares like with like. Each round also reports how many copies
ElasticTransform ran on (pneumoflow: `augment --plan`; Python: counted calls), the transform
whose count moves a round most: a fixed seed 0 gave pneumoflow 39 of 256 (expected 25.6).

The PNG inputs are exported once from the same shards with `pneumoflow export` (cached in --work).

Usage:
  cargo build --release
  python3 benches/bulk_augment_anchor.py [--records 48] [--copies 4] [--rounds 3]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
JSON = os.path.join(REPO, "pipelines", "transforms", "train_transforms_complex_1024_old.json")
VENVS = [("albumentations 0.3.1", ".venv-albu031"), ("albumentations current", ".venv-albu-current")]


# --------------------------------------------------------------------------- the Python loop
def python_loop(png_dir, out_dir, copies, seed):
    """Runs inside a venv: the straightforward Python job, its draws seeded with `seed`; prints
    {"version", "seconds", "n", "elastic"} (`elastic`: copies ElasticTransform ran on)."""
    import random
    import cv2
    import numpy as np
    import albumentations as A

    cv2.setNumThreads(1)
    major = int(A.__version__.split(".")[0])
    # count ElasticTransform's applications: both versions draw its parameters once per run
    elastic = [0]
    get_params = A.ElasticTransform.get_params

    def counted(self, *args, **kwargs):
        elastic[0] += 1
        return get_params(self, *args, **kwargs)

    A.ElasticTransform.get_params = counted
    if major < 1:
        # 0.3.1 draws everything from Python's `random` (ElasticTransform's numpy state too)
        random.seed(seed)
        aug = A.load(JSON)
    else:
        lin, border = cv2.INTER_LINEAR, cv2.BORDER_REFLECT_101
        aug = A.Compose([
            A.HorizontalFlip(p=0.5),
            A.OneOf([A.RandomBrightnessContrast(brightness_limit=0, contrast_limit=(-0.2, 0.2), p=0.5),
                     A.RandomGamma(gamma_limit=(80, 120), p=0.5),
                     A.RandomBrightnessContrast(brightness_limit=(-0.2, 0.2), contrast_limit=0,
                                                brightness_by_max=False, p=0.5)], p=0.3),
            A.OneOf([A.ElasticTransform(alpha=120, sigma=6.0, interpolation=lin, border_mode=border,
                                        approximate=False, noise_distribution="uniform", p=0.5),
                     A.GridDistortion(num_steps=5, distort_limit=(-0.3, 0.3), interpolation=lin,
                                      border_mode=border, normalized=False, p=0.5),
                     A.OpticalDistortion(distort_limit=(-2, 2), interpolation=lin, border_mode=border, p=0.5)],
                    p=0.3),
            A.ShiftScaleRotate(shift_limit=(-0.0625, 0.0625), scale_limit=(-0.1, 0.1), rotate_limit=(-45, 45),
                               interpolation=lin, border_mode=border, p=0.5),
            A.Resize(1024, 1024, interpolation=lin, p=1),
        ], p=1.0)
        # one stream for the whole pipeline, as 0.3.1's global `random` (Compose(seed=) would give
        # every transform its own copy of the same stream: both OneOfs would fire together)
        aug.set_random_state(np.random.default_rng(seed), random.Random(seed))
    ids = sorted(f[:-len(".image.png")] for f in os.listdir(png_dir) if f.endswith(".image.png"))
    os.makedirs(out_dir, exist_ok=True)
    n = 0
    t0 = time.perf_counter()
    for i in ids:
        img = cv2.imread(os.path.join(png_dir, i + ".image.png"), cv2.IMREAD_GRAYSCALE)
        mask = cv2.imread(os.path.join(png_dir, i + ".mask.png"), cv2.IMREAD_GRAYSCALE)
        for k in range(copies):
            r = aug(image=img, mask=mask)
            cv2.imwrite(os.path.join(out_dir, "%s#%d.image.png" % (i, k)), r["image"])
            cv2.imwrite(os.path.join(out_dir, "%s#%d.mask.png" % (i, k)), r["mask"])
            n += 1
    seconds = time.perf_counter() - t0
    print(json.dumps({"version": A.__version__, "seconds": seconds, "n": n, "elastic": elastic[0]}))


# --------------------------------------------------------------------------- orchestrating
def warm(*dirs):
    """Reads every file under `dirs` once, so each timed run starts with its inputs in the page
    cache (this VM's memory reclaim evicts them between runs, which made whichever side ran
    first after the other pay for disk reads)."""
    for d in dirs:
        for root, _, files in os.walk(d):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    while fh.read(1 << 22):
                        pass


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def prepare(work, binary, records):
    shards = os.path.join(work, "shards")
    pngs = os.path.join(work, "png")
    stamp = os.path.join(work, "ready-%d" % records)
    if os.path.exists(stamp):
        return shards, pngs
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(pngs)
    siim = os.path.join(work, "siim")
    run([binary, "synth", "--out", siim, "--train", str(records), "--test", "0", "--size", "1024", "--seed", "5"])
    run([binary, "prep", "--input", siim, "--out", shards, "--size", "1024"])
    ids = run([binary, "inspect", shards, "--ids"]).stdout.split()
    for i in ids:
        run([binary, "export", shards, "--id", i, "--image", os.path.join(pngs, i + ".image.png"),
             "--mask", os.path.join(pngs, i + ".mask.png")])
    open(stamp, "w").close()
    return shards, pngs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=48)
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3,
                    help="pneumoflow runs per round (its round rate is the mean over them)")
    ap.add_argument("--first-seed", type=int, default=1,
                    help="round r uses seed first_seed + r on every side (pneumoflow --seed, Python's RNGs)")
    ap.add_argument("--work", default=os.path.join(REPO, "target", "bulk-augment-anchor"))
    ap.add_argument("--bin", default=os.path.join(REPO, "target", "release", "pneumoflow"))
    ap.add_argument("--loop", nargs=4, metavar=("PNG_DIR", "OUT_DIR", "COPIES", "SEED"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.loop:
        return python_loop(a.loop[0], a.loop[1], int(a.loop[2]), int(a.loop[3]))
    shards, pngs = prepare(a.work, a.bin, a.records)
    venvs = [(label, os.path.join(REPO, v, "bin", "python")) for label, v in VENVS]
    venvs = [(label, py) for label, py in venvs if os.path.exists(py)]
    if not venvs:
        sys.exit("no albumentations venv found (.venv-albu031, .venv-albu-current); see the docstring")
    out = os.path.join(a.work, "out")
    rates = {"pneumoflow": []}
    elastic = {"pneumoflow": []}
    versions = {}
    for r in range(a.rounds):
        seed = a.first_seed + r
        # how many copies ElasticTransform (9 ms per copy it runs on; the mean Compose is ~2.5 ms)
        # runs on this round
        plan = run([a.bin, "augment", "--shards", shards, "--transforms", JSON, "--copies", str(a.copies),
                    "--seed", str(seed), "--plan"]).stdout
        elastic["pneumoflow"].append(int(next(l for l in plan.splitlines() if l.startswith("ElasticTransform"))
                                         .split()[1]))
        # the command runs `--repeats` times back to back and the round's rate is the mean over
        # them (total images / total time): one run takes ~1 s, where the VM's speed swings by
        # +-15% from one second to the next; one Python run takes 7-15 s and averages that out
        seconds = 0.0
        cpu0 = os.times()
        for _ in range(a.repeats):
            shutil.rmtree(out, ignore_errors=True)
            warm(shards)
            t0 = time.perf_counter()
            run([a.bin, "augment", "--shards", shards, "--transforms", JSON, "--out", out,
                 "--copies", str(a.copies), "--seed", str(seed), "--workers", "1"])
            seconds += time.perf_counter() - t0
        rates["pneumoflow"].append(a.repeats * a.records * a.copies / seconds)
        # CPU seconds of the runs (user + system): wall time well above it is waiting (the disk)
        cpu1 = os.times()
        cpu = (cpu1.children_user - cpu0.children_user) + (cpu1.children_system - cpu0.children_system)
        sys.stderr.write("round %d (seed %d): pneumoflow %.1f img/s (%.2f s wall, %.2f s CPU per run), "
                         "ElasticTransform on %d copies\n"
                         % (r + 1, seed, rates["pneumoflow"][-1], seconds / a.repeats, cpu / a.repeats,
                            elastic["pneumoflow"][-1]))
        for label, py in venvs:
            shutil.rmtree(out, ignore_errors=True)
            warm(pngs)
            res = json.loads(run([py, os.path.abspath(__file__), "--loop", pngs, out, str(a.copies),
                                  str(seed)]).stdout)
            versions[label] = res["version"]
            rates.setdefault(label, []).append(res["n"] / res["seconds"])
            elastic.setdefault(label, []).append(res["elastic"])
            sys.stderr.write("round %d (seed %d): %s %s %.1f img/s, ElasticTransform on %d copies\n"
                             % (r + 1, seed, label, res["version"], rates[label][-1], res["elastic"]))
    shutil.rmtree(out, ignore_errors=True)
    print("bulk re-augmentation, %d records x %d copies at 1024^2, 1 thread, %d lockstep rounds (seeds %d-%d), "
          "pneumoflow %d runs per round" % (a.records, a.copies, a.rounds, a.first_seed,
                                            a.first_seed + a.rounds - 1, a.repeats))
    print("| | img/s (median) | ratio pneumoflow / it: median (min-max) | ElasticTransform runs per round |")
    print("|---|---:|---:|---|")
    runs = lambda k: "/".join(str(e) for e in elastic[k])
    print("| pneumoflow augment --workers 1 | %.1f | | %s |" % (statistics.median(rates["pneumoflow"]),
                                                               runs("pneumoflow")))
    for label, _ in venvs:
        ratios = [p / q for p, q in zip(rates["pneumoflow"], rates[label])]
        print("| Python loop, albumentations %s | %.1f | %.1fx (%.1f-%.1f) | %s |"
              % (versions[label], statistics.median(rates[label]), statistics.median(ratios), min(ratios),
                 max(ratios), runs(label)))
    print("(expected ElasticTransform runs: %.1f of %d copies, p = 0.3 x 1/3)" % (a.records * a.copies * 0.1,
                                                                               a.records * a.copies))

if __name__ == "__main__":
    main()
