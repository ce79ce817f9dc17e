#!/usr/bin/env python3
"""Anchor for `cargo bench --bench augment`: the same workload through albumentations 0.3.1 and the
current albumentations, on this machine, then the speed-up ratios of pneumoflow.

Workload (as in benches/augment.rs): a synthetic 1-channel uint8
chest X-ray + 0/255 mask, one OpenCV thread; each single-transform call applies one transform with
p=1 to image and mask (Normalize: image only); the Compose rows run the solution's train pipeline
(flip .5, OneOf .3 x2, SSR .5, Resize, Normalize) for a fixed cycle of 160 reseeded calls.
Numbers are images/s, median of --reps repetitions.

Environments (the recipes of albu-bench-results.md; both venvs are git-ignored):
  run C  (albumentations 0.3.1): .venv-albu031   -- see tests/fixtures/augment/gen_augment_fixtures.py
  run A  (current, 2.0.8):       python3.11 -m venv .venv-albu-current
                                 .venv-albu-current/bin/pip install albumentations opencv-python-headless pillow

Usage:
  cargo bench --bench augment                       # writes $CARGO_TARGET_DIR/criterion/**/estimates.json
  python3 benches/albu_anchor.py                    # measures both venvs, reads criterion, prints ratios
  python3 benches/albu_anchor.py --ours ours.json   # or pass pneumoflow numbers: {"augment_1024/ElasticTransform": 71.2, ...}
  python3 benches/albu_anchor.py --quick            # smoke run
  python3 benches/albu_anchor.py --sizes 1024 --only 'Compose_solution_p_resize1024$'   # one row
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TRANSFORMS = ["HorizontalFlip", "RandomContrast", "RandomGamma", "RandomBrightness", "ElasticTransform",
              "GridDistortion", "OpticalDistortion", "ShiftScaleRotate", "Resize", "Normalize"]
# (row name in the table, criterion id template[, anchor id template when it differs]); {s} = input size
ROWS = [("%s" % t, "augment_{s}/%s" % (t if t != "Resize" else "Resize_to_{h}")) for t in TRANSFORMS] + [
    ("ElasticTransform, fields = \"numpy\" (draw-identical)", "augment_{s}/ElasticTransform_numpy_fields",
     "augment_{s}/ElasticTransform"),
    ("Compose (solution p's, Resize = input)", "augment_{s}/Compose_solution_p_resize{s}"),
    ("Compose (solution p's, Resize = input), 3-channel", "augment_{s}/Compose_solution_p_resize{s}_3ch"),
    ("Compose (solution p's, Resize 512)", "augment_{s}/Compose_solution_p_resize512"),
    ("Compose (all stages forced)", "augment_{s}/Compose_all_forced_resize{s}"),
]
# the targets: ratio vs 0.3.1 / vs current albumentations (1-channel rows, as the anchors)
TARGETS = {("Compose (solution p's, Resize = input)", 1024): (10.0, 3.0), ("ElasticTransform", 1024): (20.0, None)}


# --------------------------------------------------------------------------- measuring (inside a venv)
def measure(sizes, reps, min_time, calls, only=None):
    import cv2
    import numpy as np
    import albumentations as A

    cv2.setNumThreads(1)
    major = int(A.__version__.split(".")[0])
    lin, border = cv2.INTER_LINEAR, cv2.BORDER_REFLECT_101

    def accepts(cls, arg):
        import inspect
        try:
            return arg in inspect.signature(getattr(A, cls).__init__).parameters
        except (TypeError, ValueError):
            return False

    def xray(size):
        rng = np.random.default_rng(12345)
        y, x = np.mgrid[0:size, 0:size].astype(np.float64) / size
        body = 170.0 - 90.0 * ((x - 0.5) ** 2 + 0.6 * (y - 0.55) ** 2)
        ll = ((x - 0.31) / 0.17) ** 2 + ((y - 0.48) / 0.30) ** 2
        lr = ((x - 0.69) / 0.17) ** 2 + ((y - 0.48) / 0.30) ** 2
        m = np.minimum(ll, lr)
        img = body - np.exp(-m ** 2) * 85.0 + 14.0 * np.sin(2 * np.pi * (y * 11.0 + 0.8 * np.abs(x - 0.5))) ** 8 * np.exp(-m)
        img = np.clip(img + rng.normal(0.0, 6.0, size=(size, size)), 0, 255).astype(np.uint8)
        mask = ((((x - 0.72) / 0.09) ** 2 + ((y - 0.30) / 0.14) ** 2) < 1.0).astype(np.uint8) * 255
        return img, mask

    def resize(size, p=1.0):
        return A.Resize(size, size, interpolation=lin, always_apply=True, p=1) if major < 1 else A.Resize(size, size, interpolation=lin, p=1)

    def leaves(half):
        t = {"HorizontalFlip": A.HorizontalFlip(p=1.0)}
        if hasattr(A, "RandomContrast"):
            t["RandomContrast"] = A.RandomContrast(limit=(-0.2, 0.2), p=1.0)
            t["RandomGamma"] = A.RandomGamma(gamma_limit=(80, 120), p=1.0)
            t["RandomBrightness"] = A.RandomBrightness(limit=(-0.2, 0.2), p=1.0)
        else:
            t["RandomContrast"] = A.RandomBrightnessContrast(brightness_limit=0, contrast_limit=(-0.2, 0.2), p=1.0)
            t["RandomGamma"] = A.RandomGamma(gamma_limit=(80, 120), p=1.0)
            t["RandomBrightness"] = A.RandomBrightnessContrast(brightness_limit=(-0.2, 0.2), contrast_limit=0,
                                                               brightness_by_max=False, p=1.0)
        if major < 1 or accepts("ElasticTransform", "alpha_affine"):
            t["ElasticTransform"] = A.ElasticTransform(alpha=120, sigma=6.0, alpha_affine=3.6, interpolation=lin,
                                                       border_mode=border, approximate=False, p=1.0)
        else:
            t["ElasticTransform"] = A.ElasticTransform(alpha=120, sigma=6.0, interpolation=lin, border_mode=border,
                                                       approximate=False, noise_distribution="uniform", p=1.0)
        g = dict(num_steps=5, distort_limit=(-0.3, 0.3), interpolation=lin, border_mode=border, p=1.0)
        if accepts("GridDistortion", "normalized"):
            g["normalized"] = False
        t["GridDistortion"] = A.GridDistortion(**g)
        o = dict(distort_limit=(-2, 2), interpolation=lin, border_mode=border, p=1.0)
        if accepts("OpticalDistortion", "shift_limit"):
            o["shift_limit"] = (-0.5, 0.5)
        t["OpticalDistortion"] = A.OpticalDistortion(**o)
        t["ShiftScaleRotate"] = A.ShiftScaleRotate(shift_limit=(-0.0625, 0.0625), scale_limit=(-0.1, 0.1),
                                                   rotate_limit=(-45, 45), interpolation=lin, border_mode=border, p=1.0)
        t["Resize"] = resize(half)
        t["Normalize"] = A.Normalize(mean=(0.485,), std=(0.229,), max_pixel_value=255.0, p=1.0)
        return t

    def compose(final, forced, channels=1):
        tr = leaves(final)
        if channels == 3:
            tr["Normalize"] = A.Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                                          max_pixel_value=255.0, p=1.0)
        half, third = (1.0, 1.0) if forced else (0.5, 0.3)
        seq = [A.HorizontalFlip(p=half),
               A.OneOf([tr["RandomContrast"], tr["RandomGamma"], tr["RandomBrightness"]], p=third),
               A.OneOf([tr["ElasticTransform"], tr["GridDistortion"], tr["OpticalDistortion"]], p=third),
               A.ShiftScaleRotate(shift_limit=(-0.0625, 0.0625), scale_limit=(-0.1, 0.1), rotate_limit=(-45, 45),
                                  interpolation=lin, border_mode=border, p=half),
               resize(final), tr["Normalize"]]
        return A.Compose(seq, p=1.0, seed=0) if major >= 2 else A.Compose(seq, p=1.0)

    def reseed(c):
        random.seed(0)
        np.random.seed(0)
        if hasattr(c, "set_random_seed"):
            c.set_random_seed(0)

    def rate_single(fn):
        fn()
        rates = []
        for _ in range(reps):
            n, t0 = 0, time.perf_counter()
            while True:
                fn()
                n += 1
                el = time.perf_counter() - t0
                if n >= 3 and el >= min_time:
                    break
            rates.append(n / el)
        return statistics.median(rates)

    def rate_fixed(fn, c, n):
        reseed(c)
        fn()
        rates = []
        for _ in range(reps):
            reseed(c)
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            rates.append(n / (time.perf_counter() - t0))
        return statistics.median(rates)

    import re
    want = (lambda key: re.search(only, key) is not None) if only else (lambda key: True)
    out = {"albumentations": A.__version__, "opencv": cv2.__version__, "numpy": np.__version__, "rows": {}}
    for size in sizes:
        img, mask = xray(size)
        for name, t in leaves(size // 2).items():
            random.seed(0)
            np.random.seed(0)
            call = (lambda t=t: t(image=img)) if name == "Normalize" else (lambda t=t: t(image=img, mask=mask))
            key = "augment_%d/%s" % (size, name if name != "Resize" else "Resize_to_%d" % (size // 2))
            if not want(key):
                continue
            out["rows"][key] = rate_single(call)
            sys.stderr.write("  %s %s: %.1f img/s\n" % (A.__version__, key, out["rows"][key]))
        img3 = np.ascontiguousarray(np.repeat(img[:, :, None], 3, axis=2))  # cv2.imread(path, 1)
        finals = [(size, False, 1, "Compose_solution_p_resize%d" % size),
                  (size, False, 3, "Compose_solution_p_resize%d_3ch" % size)]
        if size == 1024:
            finals.append((512, False, 1, "Compose_solution_p_resize512"))
        finals.append((size, True, 1, "Compose_all_forced_resize%d" % size))
        for final, forced, channels, label in finals:
            key = "augment_%d/%s" % (size, label)
            if not want(key):
                continue
            c = compose(final, forced, channels)
            x = img3 if channels == 3 else img
            n = calls if not forced else max(calls // 4, 5)
            out["rows"][key] = rate_fixed(lambda c=c, x=x: c(image=x, mask=mask), c, n)
            sys.stderr.write("  %s %s: %.1f img/s\n" % (A.__version__, key, out["rows"][key]))
    return out


# --------------------------------------------------------------------------- orchestrating
def criterion_rates(root):
    """images/s of every benchmark under root (criterion's new/estimates.json, and the elements per
    iteration from new/benchmark.json: 1 for single transforms, the 160-call cycle for Compose rows)."""
    rates = {}
    for dirpath, _, files in os.walk(root):
        if "estimates.json" in files and os.path.basename(dirpath) == "new":
            rel = os.path.relpath(os.path.dirname(dirpath), root)
            with open(os.path.join(dirpath, "estimates.json")) as f:
                est = json.load(f)
            elements = 1
            if "benchmark.json" in files:
                with open(os.path.join(dirpath, "benchmark.json")) as f:
                    elements = (json.load(f).get("throughput") or {}).get("Elements", 1)
            ns = (est.get("median") or est["mean"])["point_estimate"]
            rates[rel.replace(os.sep, "/")] = elements * 1e9 / ns
    return rates


def run_venv(python, args):
    cmd = [python, os.path.abspath(__file__), "--measure", "--sizes", args.sizes, "--reps", str(args.reps),
           "--min-time", str(args.min_time), "--calls", str(args.calls)]
    if args.only:
        cmd += ["--only", args.only]
    res = subprocess.run(cmd, capture_output=True, text=True)
    sys.stderr.write(res.stderr)
    if res.returncode != 0:
        sys.exit("measuring with %s failed" % python)
    return json.loads(res.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--old-python", default=os.path.join(REPO, ".venv-albu031", "bin", "python"))
    ap.add_argument("--new-python", default=os.path.join(REPO, ".venv-albu-current", "bin", "python"))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    ap.add_argument("--criterion", default=os.path.join(target, "criterion"))
    ap.add_argument("--ours", help="JSON {criterion id: images/s} instead of reading criterion")
    ap.add_argument("--sizes", default="1024,512")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.6)
    ap.add_argument("--calls", type=int, default=160)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", help="regex on the row id (e.g. 'Compose_solution_p_resize1024$'): measure only those")
    ap.add_argument("--json", help="also write all numbers here")
    args = ap.parse_args()
    if args.quick:
        args.reps, args.min_time, args.calls = 2, 0.05, 8
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.measure:
        print(json.dumps(measure(sizes, args.reps, args.min_time, args.calls, args.only)))
        return
    old = run_venv(args.old_python, args)
    new = run_venv(args.new_python, args)
    if args.ours:
        with open(args.ours) as f:
            ours = json.load(f)
    else:
        ours = criterion_rates(args.criterion)
    print("pneumoflow vs albumentations %s (OpenCV %s) and %s (OpenCV %s); images/s, 1 thread, this machine\n"
          % (old["albumentations"], old["opencv"], new["albumentations"], new["opencv"]))
    print("| size | row | pneumoflow | albu %s | albu %s | x %s | x %s | target |" % (
        old["albumentations"], new["albumentations"], old["albumentations"], new["albumentations"]))
    print("|---|---|---:|---:|---:|---:|---:|---|")
    failed = []
    for size in sizes:
        seen = set()
        for name, tmpl, *anchor in ROWS:
            key = tmpl.format(s=size, h=size // 2)
            akey = (anchor[0] if anchor else tmpl).format(s=size, h=size // 2)
            if akey not in old["rows"] or key in seen:
                continue
            seen.add(key)
            o, n, us = old["rows"][akey], new["rows"][akey], ours.get(key)
            r_old = us / o if us else float("nan")
            r_new = us / n if us else float("nan")
            tgt = TARGETS.get((name, size))
            verdict = ""
            if tgt:
                ok = r_old >= tgt[0] and (tgt[1] is None or r_new >= tgt[1])
                verdict = ">= %gx / %s: %s" % (tgt[0], ("%gx" % tgt[1]) if tgt[1] else "-", "met" if ok else "NOT met")
                if not ok:
                    failed.append(key)
            print("| %d | %s | %s | %.1f | %.1f | %.1f | %.1f | %s |" % (
                size, name, "%.1f" % us if us else "n/a", o, n, r_old, r_new, verdict))
    extra = sorted(k for k in ours if "/ElasticFields_" in k and int(k.split("/")[0].split("_")[1]) in sizes)
    if extra:
        print("\npneumoflow only (ElasticTransform's displacement fields alone, per generator; "
              "fast = default, numpy = draw-identical to albumentations 0.3.1):")
        for k in extra:
            print("  %s: %.1f /s (%.2f ms)" % (k, ours[k], 1e3 / ours[k]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"old": old, "new": new, "ours": ours}, f, indent=1)
    if failed:
        print("\ntargets not met: %s" % ", ".join(failed))


if __name__ == "__main__":
    main()
