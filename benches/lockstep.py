#!/usr/bin/env python3
"""Lockstep benchmark driver: runs a Rust criterion bench and its Python anchor alternately on the
same machine, several rounds, and reports per row the median ratio and its spread (min-max over
rounds), so that a shared, drifting machine shows up as spread instead of a lucky number.

  python3 benches/lockstep.py augment [--rounds 3] [--only REGEX] [--sizes 1024,512]
      criterion `--bench augment` vs benches/albu_anchor.py in .venv-albu031 (albumentations
      0.3.1) and .venv-albu-current (current albumentations)
  python3 benches/lockstep.py shard [--rounds 3]
      criterion `--bench shard` (shard reads) vs cv2.imread of the same PNGs (benches/png_anchor.py)
  python3 benches/lockstep.py sweep [--rounds 3]
      criterion `--bench sweep` (threshold sweeps, image-configurations/s) vs the numpy metric
      (benches/sweep_anchor.py, in .venv-albu031 or any python with numpy: $SWEEP_PYTHON)

The bulk re-augmentation anchor (whole commands) has its own rounds: benches/bulk_augment_anchor.py;
the model bench alternates steps itself: benches/torch_anchor.py --lockstep.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))


def cargo_bench(bench, criterion_filter, extra):
    cmd = ["cargo", "bench", "--bench", bench, "--", criterion_filter, "--noplot"] + extra
    sys.stderr.write("$ %s\n" % " ".join(cmd))
    subprocess.run(cmd, check=True, cwd=REPO, stdout=subprocess.DEVNULL)


def criterion_rate(bench_dir):
    """Elements/s of one criterion benchmark directory (its new/estimates.json), or None."""
    import json

    path = os.path.join(bench_dir, "new", "estimates.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        est = json.load(f)
    return 1e9 / (est.get("median") or est["mean"])["point_estimate"]


def summarise(title, rows, ratios, rates, anchors, unit="img/s"):
    """rows: ordered row ids; ratios[anchor][row] = [per-round ratios]; rates[who][row] = [unit]."""
    print(title)
    head = "| row | pneumoflow %s |" % unit + "".join(
        " %s %s | x %s median (min-max) |" % (a, unit, a) for a in anchors)
    print(head)
    print("|---|---:|" + "---:|---:|" * len(anchors))
    for row in rows:
        if row not in rates["pneumoflow"]:
            continue
        line = "| %s | %.1f |" % (row, statistics.median(rates["pneumoflow"][row]))
        for a in anchors:
            r = ratios[a].get(row)
            if not r:
                line += " n/a | n/a |"
                continue
            line += " %.1f | %.1fx (%.1f-%.1f) |" % (statistics.median(rates[a][row]), statistics.median(r),
                                                    min(r), max(r))
        print(line)


def augment(args):
    import albu_anchor as aa

    sizes = [int(s) for s in args.sizes.split(",")]
    venvs = [("albu-0.3.1", os.path.join(REPO, ".venv-albu031", "bin", "python")),
             ("albu-current", os.path.join(REPO, ".venv-albu-current", "bin", "python"))]
    venvs = [(n, p) for n, p in venvs if os.path.exists(p)]
    anchor_args = argparse.Namespace(sizes=args.sizes, reps=3, min_time=0.6, calls=160, only=args.only)
    rates = {"pneumoflow": {}}
    ratios = {n: {} for n, _ in venvs}
    rows = []
    for r in range(args.rounds):
        cargo_bench("augment", args.only or "", ["--warm-up-time", "1", "--measurement-time", "4"])
        ours = aa.criterion_rates(os.path.join(TARGET, "criterion"))
        for name, py in venvs:
            got = aa.run_venv(py, anchor_args)
            label = "%s (%s)" % (name, got["albumentations"])
            for size in sizes:
                for row_name, tmpl, *anchor in aa.ROWS:
                    key = tmpl.format(s=size, h=size // 2)
                    akey = (anchor[0] if anchor else tmpl).format(s=size, h=size // 2)
                    if akey not in got["rows"] or key not in ours:
                        continue
                    if key not in rows:
                        rows.append(key)
                    rates.setdefault(name, {}).setdefault(key, []).append(got["rows"][akey])
                    ratios[name].setdefault(key, []).append(ours[key] / got["rows"][akey])
            sys.stderr.write("round %d: %s measured\n" % (r + 1, label))
        for key in rows:
            if key in ours:
                rates["pneumoflow"].setdefault(key, []).append(ours[key])
    summarise("augmentation, 1 thread, image + mask per call, %d lockstep rounds" % args.rounds, rows, ratios,
              rates, [n for n, _ in venvs])


def shard(args):

    def cv2_rate():
        py = os.path.join(REPO, ".venv-albu-current", "bin", "python")
        out = subprocess.run([py, os.path.join(HERE, "png_anchor.py"), "--rate"], check=True,
                             capture_output=True, text=True).stdout
        return float(out)

    rates = {"pneumoflow": {}, "cv2.imread": {}}
    ratios = {"cv2.imread": {}}
    rows = []
    for r in range(args.rounds):
        cargo_bench("shard", args.only or "read_1024", ["--warm-up-time", "1", "--measurement-time", "3"])
        anchor = cv2_rate()
        crit = os.path.join(TARGET, "criterion", "read_1024")
        for name in sorted(os.listdir(crit)):
            ours = criterion_rate(os.path.join(crit, name))
            if ours is None or (args.only and not re.search(args.only, name)):
                continue
            if name not in rows:
                rows.append(name)
            rates["pneumoflow"].setdefault(name, []).append(ours)
            rates["cv2.imread"].setdefault(name, []).append(anchor)
            ratios["cv2.imread"].setdefault(name, []).append(ours / anchor)
        sys.stderr.write("round %d: cv2.imread %.1f img/s\n" % (r + 1, anchor))
    summarise("shard reads at 1024^2 vs cv2.imread of the same PNGs, 1 thread, %d lockstep rounds" % args.rounds,
              rows, ratios, rates, ["cv2.imread"])


def sweep(args):
    import sweep_anchor as sa

    py = os.environ.get("SWEEP_PYTHON", os.path.join(REPO, ".venv-albu031", "bin", "python"))
    if not os.path.exists(py):
        py = sys.executable
    rates = {"pneumoflow": {}, "numpy": {}}
    ratios = {"numpy": {}}
    rows = []
    for r in range(args.rounds):
        cargo_bench("sweep", args.only or "sweep_1024", ["--warm-up-time", "1", "--measurement-time", "4"])
        out = subprocess.run([py, os.path.join(HERE, "sweep_anchor.py"), "--rate", "--seconds", "10"],
                             check=True, capture_output=True, text=True).stdout
        anchor = float(out)
        for name, ours in sa.criterion_rates().items():
            if args.only and not re.search(args.only, name):
                continue
            if name not in rows:
                rows.append(name)
            rates["pneumoflow"].setdefault(name, []).append(ours)
            rates["numpy"].setdefault(name, []).append(anchor)
            ratios["numpy"].setdefault(name, []).append(ours / anchor)
        sys.stderr.write("round %d: numpy %.1f image-configurations/s\n" % (r + 1, anchor))
    summarise("sweeps at 1024^2 vs the numpy metric, 1 thread, %d lockstep rounds" % args.rounds,
              rows, ratios, rates, ["numpy"], unit="image-configurations/s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bench", choices=["augment", "shard", "sweep"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", help="regex on the criterion ids (also passed to criterion as its filter)")
    ap.add_argument("--sizes", default="1024,512")
    args = ap.parse_args()
    {"augment": augment, "shard": shard, "sweep": sweep}[args.bench](args)


if __name__ == "__main__":
    main()
