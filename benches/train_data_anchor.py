#!/usr/bin/env python3
"""The training data stages at 1024², pneumoflow against a PyTorch DataLoader, in lockstep rounds.

Job: batches of 2 of the solution's training inputs at 1024²: read, the solution's train
transforms with ImageNet normalisation (pipelines/transforms/train_transforms_complex_1024.json,
the resnet50 experiment's), images as float32 [N, 3, H, W] tensors and masks as [N, 1, H, W]
tensors. The training step is replaced by a sink on both sides.

- pneumoflow: `cargo bench --bench train_data -- SHARDS W IMAGES 2` (benches/train_data.rs): the
  train graph's data stages (sample on every worker -> batches -> tensors in batch order on
  worker 0), W = 1 and 2 worker threads, libtorch on 1 thread.
- PyTorch: a `DataLoader(batch_size=2)` over the reference `PneumothoraxDataset` class
  (spec 1.5: `cv2.imread(png, 1)` BGR 3-channel, `cv2.imread(mask, 0)`, albumentations 0.3.1
  loaded from the same JSON, then albumentations.pytorch's 0.3.x ToTensor: HWC -> CHW, the mask
  expanded and divided by 255), `num_workers=0` (1 core: the main process) and `num_workers=2`
  (2 cores), cv2 and torch on 1 thread each. Runs in .venv-albu031 (albumentations 0.3.1,
  opencv-python-headless 4.8.1.78, numpy 1.23.5) with torch from .venv-torch (2.13.0) on its path.

Reports img/s per core and the ratios: pneumoflow 1 worker / DataLoader num_workers=0 (per core,
target >= 10x), and pneumoflow's own scaling 1 -> 2 workers (target >= 1.7x).

Usage:
  cargo build --release && python3 benches/train_data_anchor.py [--records 24] [--images 1920] [--py-images 48] [--rounds 5]
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
JSON = os.path.join(REPO, "pipelines", "transforms", "train_transforms_complex_1024.json")


def dataloader_loop(png_dir, images, workers):
    """Runs in the albumentations 0.3.1 venv: the reference Dataset + DataLoader; prints JSON."""
    for p in glob.glob(os.path.join(REPO, ".venv-torch", "lib", "python3*", "site-packages")):
        sys.path.append(p)
    import cv2
    import numpy as np
    import torch
    import albumentations as A
    from torch.utils.data import DataLoader, Dataset

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    ids = sorted(f[: -len(".image.png")] for f in os.listdir(png_dir) if f.endswith(".image.png"))
    order = [ids[(i * 7) % len(ids)] for i in range(images)]

    def to_tensor(image, mask):
        # albumentations.pytorch.ToTensor (0.3.x): float images are not divided again.
        img = torch.from_numpy(image.transpose(2, 0, 1).astype(np.float32))
        m = torch.from_numpy(np.expand_dims(mask, 0).astype(np.float32) / 255.0)
        return img, m

    class PneumothoraxDataset(Dataset):
        def __init__(self):
            self.transform = A.load(JSON)

        def __len__(self):
            return len(order)

        def __getitem__(self, i):
            image = cv2.imread(os.path.join(png_dir, order[i] + ".image.png"), 1)
            mask = cv2.imread(os.path.join(png_dir, order[i] + ".mask.png"), 0)
            r = self.transform(image=image, mask=mask)
            return to_tensor(r["image"], r["mask"])

    def init(_):
        cv2.setNumThreads(1)
        torch.set_num_threads(1)

    loader = DataLoader(PneumothoraxDataset(), batch_size=2, shuffle=False, num_workers=workers,
                        worker_init_fn=init if workers else None)
    n = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for x, y in loader:
        assert x.shape[1:] == (3, 1024, 1024) and x.dtype == torch.float32
        n += x.shape[0]
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    # process_time counts the main process only: the CPU figure is meaningful for num_workers=0.
    print(json.dumps({"workers": workers, "images": n, "seconds": seconds, "cpu_seconds": cpu}))


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def rust(shards, workers, images):
    out = run(["cargo", "bench", "--bench", "train_data", "--", shards, str(workers), str(images), "2"],
              cwd=REPO).stdout
    res = json.loads(out.strip().splitlines()[-1])
    return res["images"] / res["seconds"], res["images"] / res["cpu_seconds"]


def python(pngs, workers, images):
    py = os.path.join(REPO, ".venv-albu031", "bin", "python")
    res = json.loads(run([py, os.path.abspath(__file__), "--loop", pngs, str(images), str(workers)]).stdout)
    return res["images"] / res["seconds"], res["images"] / res["cpu_seconds"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=24)
    ap.add_argument("--images", type=int, default=1920, help="images per pneumoflow run (steady state: the first batches fault in their buffers)")
    ap.add_argument("--py-images", type=int, default=48, help="images per DataLoader run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", default=os.path.join(REPO, "target", "train-data-anchor"))
    ap.add_argument("--bin", default=os.path.join(REPO, "target", "release", "pneumoflow"))
    ap.add_argument("--loop", nargs=3, metavar=("PNG_DIR", "IMAGES", "WORKERS"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.loop:
        return dataloader_loop(a.loop[0], int(a.loop[1]), int(a.loop[2]))
    import bulk_augment_anchor

    shards, pngs = bulk_augment_anchor.prepare(a.work, a.bin, a.records)
    rates = {k: [] for k in ["pf1", "pf2", "dl0", "dl2"]}
    cpu = {"pf1": [], "dl0": []}
    for r in range(a.rounds):
        for key, run_it in [("pf1", lambda: rust(shards, 1, a.images)), ("dl0", lambda: python(pngs, 0, a.py_images)),
                            ("pf2", lambda: rust(shards, 2, a.images)), ("dl2", lambda: python(pngs, 2, a.py_images))]:
            bulk_augment_anchor.warm(shards if key.startswith("pf") else pngs)
            wall, per_cpu = run_it()
            rates[key].append(wall)
            if key in cpu:
                cpu[key].append(per_cpu)
        sys.stderr.write("round %d: %s\n" % (r + 1, {k: round(v[-1], 1) for k, v in rates.items()}))
    med = {k: statistics.median(v) for k, v in rates.items()}
    per_core = [p / d for p, d in zip(rates["pf1"], rates["dl0"])]
    scale = [b / a_ for a_, b in zip(rates["pf1"], rates["pf2"])]
    dl_scale = [b / a_ for a_, b in zip(rates["dl0"], rates["dl2"])]
    print("| | img/s (median of %d rounds) |" % a.rounds)
    print("|---|---|")
    print("| pneumoflow, 1 worker | %.1f |" % med["pf1"])
    print("| pneumoflow, 2 workers | %.1f |" % med["pf2"])
    print("| DataLoader, num_workers=0 (1 core) | %.1f |" % med["dl0"])
    print("| DataLoader, num_workers=2 (2 cores) | %.1f |" % med["dl2"])
    print("per core (pneumoflow 1 worker / DataLoader 0 workers): %.1fx (%.1f-%.1f) wall clock"
          % (statistics.median(per_core), min(per_core), max(per_core)))
    per_cpu = [p / d for p, d in zip(cpu["pf1"], cpu["dl0"])]
    print("per CPU-second (images / (user + system) seconds): pneumoflow %.1f, DataLoader %.1f: %.1fx (%.1f-%.1f)"
          % (statistics.median(cpu["pf1"]), statistics.median(cpu["dl0"]), statistics.median(per_cpu),
             min(per_cpu), max(per_cpu)))
    print("pneumoflow 1 -> 2 workers: %.2fx (%.2f-%.2f); DataLoader 0 -> 2 workers: %.2fx"
          % (statistics.median(scale), min(scale), max(scale), statistics.median(dl_scale)))


if __name__ == "__main__":
    main()
