#!/usr/bin/env python3
"""Prediction with flip TTA: `pneumoflow predict` against PyTorch's eval loop on the same images,
alternately (lockstep rounds), same 2 cores.

Job: AlbuNet at 256², batch 2, eval mode, no gradients, `p = (sigmoid(net(x)) +
flip(sigmoid(net(flip(x))))) / 2` per image (Inference.py with FLIP), one checkpoint, over the 60
training images of the synthetic 256² dataset of benches/train_epoch_anchor.py.

- pneumoflow: `pneumoflow predict P --checkpoints C --name bench --split valid` (2 data workers,
  2 libtorch threads); the figure is the img/s it prints (checkpoint load, graph, forward passes,
  maps resized, quantised and written to the prediction store).
- PyTorch: `DataLoader(batch_size=2, num_workers=2)` over the reference Dataset (cv2.imread(png, 1),
  ToTensor) and the TTA forward in `torch.no_grad()`, maps to numpy; torch on 2 threads; timed from
  the first batch request to the last map. Runs in .venv-albu031 with torch 2.13.0 from .venv-torch.

Usage:
  cargo build --release && python3 benches/train_epoch_anchor.py --records 60 --rounds 1   # makes the data and a checkpoint
  python3 benches/predict_anchor.py [--rounds 3]
"""
import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# the 60-record data and checkpoint of `train_epoch_anchor.py --records 60`
WORK = os.path.join(REPO, "target", "train-epoch-anchor-60")


def torch_loop(png_dir, threads):
    for p in glob.glob(os.path.join(REPO, ".venv-torch", "lib", "python3*", "site-packages")):
        sys.path.append(p)
    sys.path.insert(0, os.path.join(REPO, "tests", "fixtures", "model"))
    import cv2
    import numpy as np
    import torch
    from torch.utils.data import DataLoader, Dataset
    import reference_nets

    cv2.setNumThreads(1)
    torch.set_num_threads(threads)
    ids = sorted(f[: -len(".image.png")] for f in os.listdir(png_dir) if f.endswith(".image.png"))

    class Images(Dataset):
        def __len__(self):
            return len(ids)

        def __getitem__(self, i):
            image = cv2.imread(os.path.join(png_dir, ids[i] + ".image.png"), 1)
            return torch.from_numpy(image.transpose(2, 0, 1).astype(np.float32) / 255.0)

    def init(_):
        cv2.setNumThreads(1)
        torch.set_num_threads(1)

    model = reference_nets.build("albunet").eval()
    loader = DataLoader(Images(), batch_size=2, shuffle=False, num_workers=2, worker_init_fn=init)
    n = 0
    t0 = time.perf_counter()
    with torch.no_grad():
        for x in loader:
            p1 = torch.sigmoid(model(x))
            p2 = torch.flip(torch.sigmoid(model(torch.flip(x, [3]))), [3])
            maps = ((p1 + p2) / 2).squeeze(1).numpy()
            n += maps.shape[0]
    print(json.dumps({"images": n, "seconds": time.perf_counter() - t0}))


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bin", default=os.path.join(REPO, "target", "release", "pneumoflow"))
    ap.add_argument("--loop", nargs=2, metavar=("PNG_DIR", "THREADS"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.loop:
        return torch_loop(a.loop[0], int(a.loop[1]))
    sys.path.insert(0, HERE)
    import bulk_augment_anchor

    shards, pngs, pipeline = (os.path.join(WORK, x) for x in ("shards", "png", "epoch.toml"))
    checkpoint = os.path.join(WORK, "run", "best_fold0.safetensors")
    if not os.path.exists(checkpoint):
        sys.exit("run `python3 benches/train_epoch_anchor.py --records 60 --rounds 1` first (data and a checkpoint)")
    with open(pipeline) as f:
        text = f.read()
    bench_pipeline = os.path.join(WORK, "predict.toml")
    with open(bench_pipeline, "w") as f:
        f.write(text + "\n[predict]\nsize = 256\nbatch_size = 2\ntta = true\n")
    py = os.path.join(REPO, ".venv-albu031", "bin", "python")
    rust_rates, torch_rates = [], []
    for r in range(a.rounds):
        store = os.path.join(WORK, "predictions")
        shutil.rmtree(store, ignore_errors=True)
        bulk_augment_anchor.warm(shards)
        out = run([a.bin, "predict", bench_pipeline, "--checkpoints", checkpoint, "--name", "bench",
                   "--split", "valid", "--out", store, "--workers", "2", "--threads", "2"]).stdout
        rust_rates.append(float(re.search(r"\(\d+ maps, ([0-9.]+) img/s\)", out).group(1)))
        bulk_augment_anchor.warm(pngs)
        res = json.loads(run([py, os.path.abspath(__file__), "--loop", pngs, "2"]).stdout)
        torch_rates.append(res["images"] / res["seconds"])
        sys.stderr.write("round %d: pneumoflow %.2f img/s, pytorch %.2f img/s\n" % (r + 1, rust_rates[-1], torch_rates[-1]))
    ratios = [x / y for x, y in zip(rust_rates, torch_rates)]
    print("predict with flip TTA, AlbuNet 256², batch 2, 2 cores: pneumoflow %.2f img/s, PyTorch eval %.2f img/s"
          % (statistics.median(rust_rates), statistics.median(torch_rates)))
    print("ratio %.2fx (%.2f-%.2f) over %d rounds" % (statistics.median(ratios), min(ratios), max(ratios), a.rounds))


if __name__ == "__main__":
    main()
