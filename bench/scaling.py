"""Data-parallel throughput: images/s of 1 and 2 processes × 1 and 2 threads per process, for the
conv VAE on 64×64 dSprites and the MLP VAE on MNIST, side by side in one run.

Each cell is one `vaekit train` of a preset: 1 process is the plain command, 2 processes are
`torchrun --nproc_per_node 2 --standalone -m vaekit train` (gloo), with train.threads = T and
OMP_NUM_THREADS = T in every process, no validation set, `--epochs` epochs of `--*-images`
images each. The global batch is the preset's for every cell (dSprites 64, MNIST 128), so two
processes split each step's work in two. Throughput = images per epoch / the median epoch time
of epochs 2.. (the first is a warm-up; with one epoch it is the only one), as rank 0 measures
the training pass (metrics.csv "seconds"; start-up, data loading and checkpoints excluded).
The table gives the speedup over 1 process × 1 thread and the host's float32 GEMM rate
(1024³ `torch.mm`) on 1 and 2 threads, the ceiling that one or two busy cores put on any cell.

    python bench/scaling.py                                    # the full run (alone on the machine)
    python bench/scaling.py --epochs 2 --dsprites-images 256 --mnist-images 1024 --out /tmp/scaling.json   # smoke
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from host import gemm_gflops, machine

ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("VAEKIT_DATA") or ROOT.parent / "shared" / "data")
MODELS = {  # name → (label, preset, data overrides)
    "conv-dsprites": ("conv VAE, dSprites 64×64", "dsprites_beta_vae", []),
    "mlp-mnist": ("MLP VAE 784-400-20, MNIST", "mnist_vae", [f"data.root={DATA_ROOT}"]),
}
CELLS = ((1, 1), (1, 2), (2, 1), (2, 2))   # (processes, threads per process)


def train_command(processes: int, preset: str, overrides: list[str]) -> list[str]:
    launcher = ([sys.executable, "-m", "vaekit"] if processes == 1 else
                [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={processes}", "--standalone",
                 "-m", "vaekit"])
    return [*launcher, "train", preset, *overrides]


def images_per_second(model: str, processes: int, threads: int, images: int, epochs: int, folder: Path) -> dict:
    """Train one cell and read its epoch times back from metrics.csv."""
    from vaekit.train.logging import read_metrics

    _, preset, data = MODELS[model]
    run_dir = folder / f"{model}-{processes}x{threads}"
    command = train_command(processes, preset, [
        *data, f"run_dir={run_dir}", "data.valid_fraction=0", f"train.epochs={epochs}", f"train.epoch_size={images}",
        f"train.threads={threads}", f"train.checkpoint_every={epochs}", "train.progress=false"])
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=3600)
    if result.returncode != 0:
        sys.exit(f"scaling: {shlex.join(command)} failed:\n{result.stderr[-2000:]}")
    seconds = [row["seconds"] for row in read_metrics(run_dir / "metrics.csv")]
    timed = seconds[1:] or seconds
    epoch_seconds = statistics.median(timed)
    return {"model": model, "processes": processes, "threads_per_process": threads, "images_per_epoch": images,
            "epoch_seconds": epoch_seconds, "images_per_second": images / epoch_seconds,
            "timed_epochs": len(timed), "wall_seconds": time.perf_counter() - started, "command": shlex.join(command)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=4, help="epochs per cell; the first is a warm-up")
    parser.add_argument("--dsprites-images", type=int, default=6400, help="images per epoch of the conv VAE")
    parser.add_argument("--mnist-images", type=int, default=60000, help="images per epoch of the MLP VAE")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, of {', '.join(MODELS)}")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "scaling.json"))
    args = parser.parse_args(argv)
    models = args.models.split(",")
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        sys.exit(f"scaling: unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")

    gflops = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        gflops[threads] = gemm_gflops(1024, 1024, 1024, repeats=10)
    rows = []
    with tempfile.TemporaryDirectory(prefix="vaekit-scaling-") as folder:
        for model in models:
            images = args.dsprites_images if model == "conv-dsprites" else args.mnist_images
            for processes, threads in CELLS:
                print(f"{model}: {processes} process(es) × {threads} thread(s) ...", flush=True)
                rows.append(images_per_second(model, processes, threads, images, args.epochs, Path(folder)))

    print(f"\nhost: {machine()}; float32 GEMM (1024³) {gflops[1]:.1f} GFLOP/s on 1 thread, "
          f"{gflops[2]:.1f} on 2")
    print(f"{'model':28} {'processes':>9} {'threads':>7} {'images/s':>10} {'s/epoch':>8} {'speedup':>7}")
    for row in rows:
        base = next(r for r in rows if r["model"] == row["model"] and r["processes"] == r["threads_per_process"] == 1)
        row["speedup"] = row["images_per_second"] / base["images_per_second"]
        print(f"{MODELS[row['model']][0]:28} {row['processes']:9d} {row['threads_per_process']:7d} "
              f"{row['images_per_second']:10,.0f} {row['epoch_seconds']:8.2f} {row['speedup']:6.2f}×")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"host": {"machine": machine(), "cpu_count": os.cpu_count(),
                                        "gemm_gflops_by_threads": gflops, "torch": torch.__version__},
                               "command": shlex.join([sys.executable, *sys.argv]), "epochs": args.epochs,
                               "rows": rows}, indent=2) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
