"""Training throughput and ELBO of the MLP VAE per train.precision × train.compile, on the GPU if any.

Model and data: the mnist_vae preset (784-400-20, Bernoulli, dynamic binarization, batch 128) on
the MNIST training images. Each variant builds the same initial weights (seed 0) and trains with
``vaekit.Trainer`` on ``train.device=auto`` for a warm-up epoch (compilation, kernel selection)
then a measured epoch, each of ``--steps`` batches (``train.epoch_size = steps × batch``). Printed
and written per variant: images/s of the measured epoch (the trainer's own epoch time, which
ends with a device synchronisation) and its training ELBO (nats, the mean over the epoch's
batches), and the ratio to fp32 eager.

Variants: with CUDA, fp32 / bf16 / fp16 × eager / compiled; on a CPU-only machine the subset that
makes sense there: fp32, bf16 and fp32 compiled (fp16 on the CPU runs, slowly, in the tests).

    python bench/gpu_path.py                                         # on a GPU machine: 500 steps each
    python bench/gpu_path.py --steps 3 --batch-size 32 --out /tmp/gpu_path.json   # smoke run
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

import torch

from vaekit.config import load_config
from vaekit.presets import preset_path
from vaekit.runs import build_model, load_data
from vaekit.train import Trainer
from vaekit.train.device import resolve_device

ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("VAEKIT_DATA") or ROOT.parent / "shared" / "data")
GPU_VARIANTS = [(precision, compiled) for compiled in (False, True) for precision in ("fp32", "bf16", "fp16")]
CPU_VARIANTS = [("fp32", False), ("bf16", False), ("fp32", True)]


def run_variant(precision: str, compiled: bool, steps: int, batch_size: int, threads: int | None) -> dict:
    """Images/s and training ELBO of the measured (second) epoch of one variant."""
    config = load_config(preset_path("mnist_vae"), [f"data.root={DATA_ROOT}"])
    data = load_data(config, "train")
    train = dataclasses.replace(config.train, epochs=2, batch_size=batch_size, epoch_size=steps * batch_size,
                                precision=precision, compile=compiled, device="auto", progress=False,
                                threads=threads)
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = build_model(config, data)
    history = Trainer(train, config.objective, binarize=config.data.binarize).fit(model, data)
    measured = history.epochs[-1]
    return {"precision": precision, "compile": compiled, "images_per_second": steps * batch_size / measured["seconds"],
            "train_elbo": measured["train_elbo"], "warmup_seconds": history.epochs[0]["seconds"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=500, help="batches per epoch (a warm-up and a measured one)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (train.threads); default torch's")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "gpu_path.json"))
    args = parser.parse_args(argv)

    device = resolve_device("auto")
    variants = GPU_VARIANTS if device.type == "cuda" else CPU_VARIANTS
    rows = [run_variant(precision, compiled, args.steps, args.batch_size, args.threads)
            for precision, compiled in variants]
    reference = rows[0]["images_per_second"]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"\nMLP VAE 784-400-20 on MNIST, {name}, {args.steps} steps of {args.batch_size} per epoch, torch {torch.__version__}")
    print(f"{'precision':<10}{'compile':<9}{'images/s':>12}{'vs fp32':>9}{'train ELBO':>12}{'warm-up s':>11}")
    for row in rows:
        row["speedup_vs_fp32"] = row["images_per_second"] / reference
        print(f"{row['precision']:<10}{'yes' if row['compile'] else 'no':<9}{row['images_per_second']:>12.0f}"
              f"{row['speedup_vs_fp32']:>8.2f}x{row['train_elbo']:>12.2f}{row['warmup_seconds']:>11.1f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"device": name, "torch": torch.__version__, "steps": args.steps,
                               "batch_size": args.batch_size, "command": " ".join(sys.argv), "variants": rows},
                              indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
