#!/usr/bin/env python3
"""Converts a PyTorch pickle (.pth/.pt, torch.save) state_dict into .safetensors for pneumoflow.

libtorch's C++ loaders, which is all Rust/tch can call, cannot read plain `torch.save` pickles
(zip or legacy format), so `pneumoflow weights import` asks for this one-step conversion:

    python scripts/pth_to_safetensors.py resnet34-333f7ec4.pth resnet34.safetensors
    pneumoflow weights import --model albunet --from resnet34.safetensors --out albunet-init.safetensors

Handles: a bare state_dict; a checkpoint dict holding one under "state_dict", "model_state_dict",
"model" or "net"; a whole pickled nn.Module. Keys are kept as they are (the importer strips
`module.` prefixes, maps aliases and encoder-only layouts, and checks every shape). Tensors that
share storage (AlbuNet registers its encoder twice) are cloned, as safetensors requires.
Non-tensor entries are dropped and listed.

Needs: torch (any version that can read the file; tested with torch==2.13.0) and safetensors.
"""
import argparse
import os
import sys
import tempfile


def extract_state_dict(obj):
    import torch

    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model", "net"):
            inner = obj.get(key)
            if isinstance(inner, torch.nn.Module):
                return inner.state_dict()
            if isinstance(inner, dict) and any(isinstance(v, torch.Tensor) for v in inner.values()):
                return inner
        return obj
    raise SystemExit(f"error: the file holds a {type(obj).__name__}, not a state_dict")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", help="input .pth/.pt file")
    ap.add_argument("dst", help="output .safetensors file (written atomically)")
    ap.add_argument("--unsafe-full-pickle", action="store_true",
                    help="allow arbitrary pickled objects (torch.load weights_only=False); only for trusted files")
    args = ap.parse_args()
    if not args.dst.endswith(".safetensors"):
        raise SystemExit("error: the output name must end in .safetensors")

    import torch
    from safetensors.torch import save_file

    try:
        obj = torch.load(args.src, map_location="cpu", weights_only=not args.unsafe_full_pickle)
    except Exception as err:  # noqa: BLE001 - report any unpickling failure with the hint below
        raise SystemExit(f"error: cannot load {args.src}: {err}\n"
                         "(a checkpoint that pickles whole modules needs --unsafe-full-pickle; only for trusted files)")
    state = extract_state_dict(obj)
    tensors, dropped = {}, []
    for key, value in state.items():
        if isinstance(value, torch.Tensor):
            tensors[str(key)] = value.detach().to("cpu").clone().contiguous()
        else:
            dropped.append(str(key))
    if not tensors:
        raise SystemExit(f"error: no tensors in {args.src}")

    out_dir = os.path.dirname(os.path.abspath(args.dst))
    fd, tmp = tempfile.mkstemp(prefix=".pth2st-", suffix=".safetensors", dir=out_dir)
    os.close(fd)
    try:
        save_file(tensors, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, args.dst)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    print(f"wrote {args.dst}: {len(tensors)} tensors")
    if dropped:
        print(f"dropped {len(dropped)} non-tensor entries: {', '.join(dropped[:10])}", file=sys.stderr)


if __name__ == "__main__":
    main()
