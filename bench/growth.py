"""How training and evaluation time grow: epoch time of the MLP VAE (mnist_vae: 784-400-20,
Bernoulli, batch 128) as one setting at a time moves away from the preset, and the time of the
importance-sampled log p(x) as k grows.

- data size: images per epoch 7,500 / 15,000 / 30,000 / 60,000 (expect linear);
- latent size: 2 / 20 / 100 / 500 (the 400×2D encoder head and D×400 decoder input add
  3D/784 of the FLOPs; the elementwise work on (B, D) grows with D too);
- batch size: 32 / 128 / 512 / 2048 (fewer, larger steps: the per-step overhead of autograd, the
  optimizer and elementwise work is amortized, up to the GEMM rate);
- k of the IWAE objective: 1 / 5 / 20 / 50 (k decodes per image: the decoder's share grows ∝ k);
- evaluation: seconds of the IS estimate of log p(x) on 500 test images at k = 10 / 100 / 1000 / 5000
  (∝ k once k·B rows fill a block; the encoder pass is paid once).

Each training cell trains --epochs epochs of --images images in this process on all its threads;
the time is the median of the trainer's own epoch times (the training pass) after the first. The host's
GEMM rate is printed beside the table.

    python bench/growth.py                           # writes bench/results/growth.json
    python bench/growth.py --images 3000 --out /tmp/growth.json     # smoke
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

torch.set_flush_denormal(True)  # before the first parallel op, so OpenMP workers inherit it

from host import gemm_gflops, machine  # noqa: E402

from vaekit.config import load_config  # noqa: E402
from vaekit.evaluate.likelihood import log_likelihood_estimate  # noqa: E402
from vaekit.presets import preset_path  # noqa: E402
from vaekit.runs import test_images, train_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("VAEKIT_DATA") or ROOT.parent / "shared" / "data")
SWEEPS = {  # setting → (values, overrides of one value; images per epoch = the value for "data size")
    "data size": ((7_500, 15_000, 30_000, 60_000), lambda value: [f"train.epoch_size={value}"]),
    "latent size": ((2, 20, 100, 500), lambda value: [f"model.latent_dim={value}"]),
    "batch size": ((32, 128, 512, 2048), lambda value: [f"train.batch_size={value}"]),
    "IWAE k": ((1, 5, 20, 50), lambda value: ["objective.name=iwae", f"objective.num_samples={value}"]),
}
EVALUATION_KS = (10, 100, 1000, 5000)


def epoch_seconds(overrides: list[str], images: int, folder: Path, epochs: int) -> float:
    """Median epoch time of epochs 2..``epochs`` (the first warms up) of mnist_vae with ``overrides``."""
    run_dir = folder / f"run{len(list(folder.iterdir()))}"
    config = load_config(preset_path("mnist_vae"), [
        f"data.root={DATA_ROOT}", "data.valid_fraction=0", f"train.epoch_size={images}", f"train.epochs={epochs}",
        "train.progress=false", f"train.checkpoint_every={epochs}", "evaluate.importance_samples=0",
        f"run_dir={run_dir}", *overrides])
    _, history = train_run(config)
    return statistics.median(row["seconds"] for row in history.epochs[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=15_000, help="images per epoch (but in the data-size sweep)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per cell; the median of all but the first")
    parser.add_argument("--eval-images", type=int, default=500)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "growth.json"))
    args = parser.parse_args()

    gemm = gemm_gflops(1024, 1024, 1024, repeats=10)
    print(f"host: {machine()}; float32 GEMM {gemm:.1f} GFLOP/s (1024³)")
    result = {"benchmark": "growth", "machine": machine(), "gemm_gflops_1024": round(gemm, 1),
              "images_per_epoch": args.images, "sweeps": {}, "command": "python bench/growth.py"}
    with tempfile.TemporaryDirectory() as folder:
        for setting, (values, overrides_of) in SWEEPS.items():
            rows = []
            for value in values:
                images = value if setting == "data size" else args.images
                seconds = epoch_seconds(overrides_of(value), images, Path(folder), args.epochs)
                rows.append({"value": value, "epoch_seconds": round(seconds, 3),
                             "images_per_second": round(images / seconds, 1)})
            base = rows[0]["epoch_seconds"]
            print(f"{setting:>12}: " + "  ".join(
                f"{row['value']}: {row['epoch_seconds']:.2f} s ({row['epoch_seconds'] / base:.2f}×, "
                f"{row['images_per_second']:.0f} img/s)" for row in rows), flush=True)
            result["sweeps"][setting] = rows

        config = load_config(preset_path("mnist_vae"), [f"data.root={DATA_ROOT}", "data.valid_fraction=0",
                                                         "train.epochs=1", "train.epoch_size=1000",
                                                         "train.progress=false", f"run_dir={folder}/eval"])
        model, _ = train_run(config)
        images = test_images(config, model).images[:args.eval_images]
        rows = []
        for k in EVALUATION_KS:
            torch.manual_seed(0)
            started = time.perf_counter()
            log_likelihood_estimate(model, images, k)
            seconds = time.perf_counter() - started
            rows.append({"k": k, "seconds": round(seconds, 3), "images_per_second": round(len(images) / seconds, 1)})
        print(f"{'evaluation':>12}: " + "  ".join(f"k={row['k']}: {row['seconds']:.2f} s" for row in rows)
              + f" ({len(images)} images)")
        result["evaluation"] = {"images": len(images), "rows": rows}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
