#!/usr/bin/env python3
"""One epoch of real training at 256² on the CPU: `pneumoflow train` against the reference
training loop in PyTorch on the same images, alternately (lockstep rounds), same 2 cores.

Job: AlbuNet from the same random initialisation family, batch 2, ComboLoss (bce 1, dice 1,
focal 1), Adam lr 1e-4 with L2 5e-6, gradient-norm clip 1.0, one epoch of the sliding sampler at
p = 0.5 over fold 1..4 of a synthetic 256² dataset, the light train augmentation
(HorizontalFlip + ShiftScaleRotate, pipelines/transforms/demo_train_light.toml).

- pneumoflow: `pneumoflow train` (2 data workers, 2 libtorch threads: the defaults on this
  machine); the figure is metrics.jsonl's `images_per_second` (the training phase of the epoch,
  graph start to the last step, validation excluded).
- PyTorch (the solution's `Learning.run_train` loop): `DataLoader(batch_size=2, num_workers=2)`
  over the reference Dataset class (`cv2.imread(png, 1)`, `cv2.imread(mask, 0)`,
  albumentations 0.3.1, ToTensor), per batch `model(images)`, ComboLoss as the solution wrote it
  (tests/fixtures/train/gen_train_fixtures.py), `zero_grad`, `backward`, `clip_grad_norm_`,
  `step`; torch on 2 threads; the same number of images as pneumoflow's epoch; timed from the
  first batch request to the last step. AlbuNet from tests/fixtures/model/reference_nets.py.
  Runs in .venv-albu031 with torch 2.13.0 from .venv-torch on its path.

Usage:
  cargo build --release && python3 benches/train_epoch_anchor.py [--records 180] [--rounds 3]
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def torch_loop(png_dir, ids_file, threads):
    for p in glob.glob(os.path.join(REPO, ".venv-torch", "lib", "python3*", "site-packages")):
        sys.path.append(p)
    sys.path.insert(0, os.path.join(REPO, "tests", "fixtures", "model"))
    sys.path.insert(0, os.path.join(REPO, "tests", "fixtures", "train"))
    import cv2
    import numpy as np
    import torch
    import albumentations as A
    from torch.utils.data import DataLoader, Dataset
    import reference_nets
    from gen_train_fixtures import combo_loss_solution_structured

    cv2.setNumThreads(1)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    ids = json.load(open(ids_file))
    aug = A.Compose([A.HorizontalFlip(p=0.5),
                     A.ShiftScaleRotate(shift_limit=0.0625, scale_limit=0.1, rotate_limit=15, p=0.5)], p=1.0)

    class PneumothoraxDataset(Dataset):
        def __len__(self):
            return len(ids)

        def __getitem__(self, i):
            image = cv2.imread(os.path.join(png_dir, ids[i] + ".image.png"), 1)
            mask = cv2.imread(os.path.join(png_dir, ids[i] + ".mask.png"), 0)
            r = aug(image=image, mask=mask)
            img = torch.from_numpy(r["image"].transpose(2, 0, 1).astype(np.float32) / 255.0)
            m = torch.from_numpy(np.expand_dims(r["mask"], 0).astype(np.float32) / 255.0)
            return img, m

    def init(_):
        cv2.setNumThreads(1)
        torch.set_num_threads(1)

    model = reference_nets.build("albunet")
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=5e-6)
    weights = {"bce": 1, "dice": 1, "focal": 1}
    loader = DataLoader(PneumothoraxDataset(), batch_size=2, shuffle=False, num_workers=2, worker_init_fn=init)
    n = 0
    t0 = time.perf_counter()
    for images, masks in loader:
        preds = model(images)
        loss = combo_loss_solution_structured(preds, masks, weights, 1.0)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        n += images.shape[0]
    seconds = time.perf_counter() - t0
    print(json.dumps({"images": n, "seconds": seconds}))


PIPELINE = """
[data]
shards = "{shards}"
seed = 3

[model]
arch = "albunet"

[train]
folds = [0]
batch_size = 2
clip = 1.0

[[train.parts]]
size = 256
lr = 1e-4
weight_decay = 5e-6
sample_rate = 0.5
transforms = "{transforms}"
epochs = 1
early_stopping = 5
top_k = 1
loss = {{ bce = 1, dice = 1, focal = 1 }}
scheduler = {{ type = "cosine", t_max = 4, eta_min = 1e-6 }}
"""


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def prepare(work, binary, records):
    shards, pngs, siim = (os.path.join(work, d) for d in ("shards", "png", "siim"))
    stamp = os.path.join(work, "ready-%d" % records)
    if not os.path.exists(stamp):
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(pngs)
        run([binary, "synth", "--out", siim, "--train", str(records), "--test", "0", "--size", "256", "--seed", "5"])
        run([binary, "prep", "--input", siim, "--out", shards, "--size", "256", "--n-folds", "5", "--seed", "5"])
        for i in run([binary, "inspect", shards, "--ids"]).stdout.split():
            run([binary, "export", shards, "--id", i, "--image", os.path.join(pngs, i + ".image.png"),
                 "--mask", os.path.join(pngs, i + ".mask.png")])
        open(stamp, "w").close()
    pipeline = os.path.join(work, "epoch.toml")
    with open(pipeline, "w") as f:
        f.write(PIPELINE.format(shards=shards, transforms=os.path.join(
            REPO, "pipelines", "transforms", "demo_train_light.toml")))
    return shards, pngs, pipeline


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=180)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", help="work directory (default: target/train-epoch-anchor-RECORDS)")
    ap.add_argument("--bin", default=os.path.join(REPO, "target", "release", "pneumoflow"))
    ap.add_argument("--loop", nargs=3, metavar=("PNG_DIR", "IDS_JSON", "THREADS"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.loop:
        return torch_loop(a.loop[0], a.loop[1], int(a.loop[2]))
    sys.path.insert(0, HERE)
    import bulk_augment_anchor

    a.work = a.work or os.path.join(REPO, "target", "train-epoch-anchor-%d" % a.records)
    shards, pngs, pipeline = prepare(a.work, a.bin, a.records)
    py = os.path.join(REPO, ".venv-albu031", "bin", "python")
    rust_rates, torch_rates = [], []
    for r in range(a.rounds):
        run_dir = os.path.join(a.work, "run")
        shutil.rmtree(run_dir, ignore_errors=True)
        bulk_augment_anchor.warm(shards)
        run([a.bin, "train", pipeline, "--run-dir", run_dir, "--workers", "2", "--threads", "2"])
        m = json.loads(open(os.path.join(run_dir, "metrics.jsonl")).readline())
        rust_rates.append(m["images_per_second"])
        n = m["n_pos"] + m["n_neg"]
        # The same number of images for PyTorch: the fold-0 training ids, cycled.
        manifest = json.load(open(os.path.join(shards, "manifest.json")))
        train_ids = [rec["id"] for rec in manifest["records"] if rec.get("fold") != 0]
        ids = [train_ids[i % len(train_ids)] for i in range(n)]
        ids_file = os.path.join(a.work, "ids.json")
        json.dump(ids, open(ids_file, "w"))
        bulk_augment_anchor.warm(pngs)
        res = json.loads(run([py, os.path.abspath(__file__), "--loop", pngs, ids_file, "2"]).stdout)
        torch_rates.append(res["images"] / res["seconds"])
        sys.stderr.write("round %d: pneumoflow %.2f img/s, pytorch %.2f img/s (%d images)\n"
                         % (r + 1, rust_rates[-1], torch_rates[-1], n))
    ratios = [x / y for x, y in zip(rust_rates, torch_rates)]
    print("one epoch at 256², AlbuNet, batch 2, 2 cores: pneumoflow %.2f img/s, PyTorch %.2f img/s (medians)"
          % (statistics.median(rust_rates), statistics.median(torch_rates)))
    print("ratio %.2fx (%.2f-%.2f) over %d rounds" % (statistics.median(ratios), min(ratios), max(ratios), a.rounds))


if __name__ == "__main__":
    main()
