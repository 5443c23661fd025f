"""Epoch time of the classic MLP VAE: vaekit's Trainer vs the pytorch/examples DataLoader loop.

Model: 784-400-20 ReLU, Bernoulli likelihood, dynamic binarization (x ~ Bernoulli(pixels) per
batch), Adam lr 1e-3, batch 128, the 60,000 MNIST training images. Two contenders, same model size:

- vaekit: ``Trainer(...).fit(vaekit.VAE(...), images)`` for one epoch; the time is the trainer's own
  ``History.epochs[-1]["seconds"]`` (the training pass; no validation set). Each epoch is one
  ``fit`` call, so Adam restarts from zero moments; the work per step is unchanged.
- DataLoader loop: the model, loss and ``train(epoch)`` of pytorch/examples/vae/main.py (fc1, fc21,
  fc22, fc3, fc4; sigmoid + ``F.binary_cross_entropy(reduction='sum')`` + KLD), fed by
  ``DataLoader(TensorDataset(images, labels), batch_size=128, shuffle=True)`` with
  ``torch.bernoulli(data)`` per batch; timed with ``time.perf_counter`` around the pass.

Each contender runs one uncounted warm-up epoch, then --epochs rounds interleaved (vaekit,
DataLoader loop, DataLoader alone, vaekit, ...), so noise on the machine hits both; reported are
the median epoch times and the ratio DataLoader loop / vaekit (target ≥ 2). "DataLoader alone" is
one pass over the loader with no model: the part of the baseline that vaekit's index slicing removes.

Throughput: training FLOPs per epoch ≈ 6 · (weights of the linear layers) · N (a forward
multiply-add is 2 FLOPs, the backward pass ≈ 2× the forward), divided by the epoch time, as a
fraction of this CPU's float32 GEMM rate: the median time of ``torch.mm`` of 1024×1024 matrices
(the peak) and of 128×784 @ 784×400 (the model's largest GEMM).

    python bench/epoch_speed.py                                       # 3 epochs each, all threads
    python bench/epoch_speed.py --epochs 1 --subset 6000 --out /tmp/epoch_speed.json   # smoke run
    python bench/epoch_speed.py --epochs 1 --subset 6000 --profile   # + where a vaekit step's time goes
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch

torch.set_flush_denormal(True)  # before the first parallel op, so OpenMP workers inherit it (both contenders)

from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import vaekit  # noqa: E402
from vaekit.config import ObjectiveConfig, TrainConfig  # noqa: E402
from vaekit.data import DataError, load_dataset  # noqa: E402
from host import gemm_gflops  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("VAEKIT_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
BATCH_SIZE, LR, TARGET_SPEEDUP, PROFILE_STEPS = 128, 1e-3, 2.0, 20


class ExampleVAE(nn.Module):
    """The VAE of pytorch/examples/vae/main.py, unchanged."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    """pytorch/examples: reconstruction BCE summed over the batch + KL(q(z|x) || N(0, I))."""
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


def baseline_epoch(model: ExampleVAE, optimizer: torch.optim.Optimizer, train_loader: DataLoader) -> float:
    """Seconds of one pytorch/examples ``train(epoch)`` pass (its logging left out), binarizing each batch."""
    started = time.perf_counter()
    model.train()
    train_loss = 0
    for data, _ in train_loader:
        data = torch.bernoulli(data)
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    return time.perf_counter() - started


def loader_epoch(train_loader: DataLoader) -> float:
    """Seconds of one pass over the DataLoader alone: per-example indexing and collation, no model."""
    started = time.perf_counter()
    for _ in train_loader:
        pass
    return time.perf_counter() - started


def vaekit_trainer(seed: int) -> vaekit.Trainer:
    config = TrainConfig(epochs=1, batch_size=BATCH_SIZE, lr=LR, progress=False, seed=seed)
    return vaekit.Trainer(config, ObjectiveConfig(), binarize="dynamic")


def vaekit_epoch(model: vaekit.VAE, images: torch.Tensor, seed: int) -> float:
    """Seconds of one training epoch as vaekit's Trainer reports it in its History."""
    return vaekit_trainer(seed).fit(model, images).epochs[-1]["seconds"]


def training_flops(model: nn.Module, num_images: int) -> int:
    """6 · (weights of the linear layers) · images: forward 2 FLOPs per multiply-add, backward ≈ 2× forward."""
    weights = sum(module.weight.numel() for module in model.modules() if isinstance(module, nn.Linear))
    return 6 * weights * num_images


def profile_vaekit(model: vaekit.VAE, images: torch.Tensor) -> list[dict]:
    """Top 15 ops by self CPU time of one ``fit`` of PROFILE_STEPS steps (its one-off input checks included)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        vaekit_trainer(seed=1234).fit(model, images[: PROFILE_STEPS * BATCH_SIZE])
    averages = profiler.key_averages()
    print(f"\nvaekit, one fit of {PROFILE_STEPS} steps of batch {BATCH_SIZE} (input checks included): "
          "top 15 ops by self CPU time")
    print(averages.table(sort_by="self_cpu_time_total", row_limit=15))
    top = sorted(averages, key=lambda event: event.self_cpu_time_total, reverse=True)[:15]
    return [{"op": event.key, "calls": event.count, "self_cpu_ms": round(event.self_cpu_time_total / 1e3, 3)}
            for event in top]


def rounded(value):
    """Floats to 4 decimals, inside dicts and lists, for a readable JSON file."""
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return round(value, 4) if isinstance(value, float) else value


def processor_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per contender (after 1 warm-up)")
    parser.add_argument("--subset", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "epoch_speed.json"))
    parser.add_argument("--profile", action="store_true", help=f"also profile {PROFILE_STEPS} vaekit steps")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    try:
        mnist = load_dataset("mnist", "train", root=DATA_ROOT, download=False)
    except DataError as error:
        print(f"epoch_speed: MNIST training set not available under {DATA_ROOT / 'mnist'} "
              f"(set VAEKIT_DATA to the data folder):\n{error}", file=sys.stderr)
        sys.exit(2)
    images, labels = mnist.images[: args.subset], mnist.labels[: args.subset]  # (N, 1, 28, 28), (N,)
    num_images = len(images)

    torch.manual_seed(0)
    model = vaekit.VAE(latent_dim=20, hidden=(400,), activation="relu", likelihood="bernoulli",
                       image_shape=(1, 28, 28))
    baseline = ExampleVAE()
    baseline_optimizer = torch.optim.Adam(baseline.parameters(), lr=LR)
    train_loader = DataLoader(TensorDataset(images, labels), batch_size=BATCH_SIZE, shuffle=True)

    print(f"warm-up: one uncounted epoch each on {num_images} images, {torch.get_num_threads()} threads")
    vaekit_epoch(model, images, seed=0)
    baseline_epoch(baseline, baseline_optimizer, train_loader)
    seconds = {"vaekit": [], "dataloader": [], "dataloader_alone": []}
    for round_index in range(1, args.epochs + 1):
        seconds["vaekit"].append(vaekit_epoch(model, images, seed=round_index))
        seconds["dataloader"].append(baseline_epoch(baseline, baseline_optimizer, train_loader))
        seconds["dataloader_alone"].append(loader_epoch(train_loader))
        print(f"round {round_index}/{args.epochs}: vaekit {seconds['vaekit'][-1]:.2f} s, DataLoader loop "
              f"{seconds['dataloader'][-1]:.2f} s, DataLoader alone {seconds['dataloader_alone'][-1]:.2f} s")

    peak_gflops = gemm_gflops(1024, 1024, 1024, repeats=20)
    model_gemm_gflops = gemm_gflops(BATCH_SIZE, 784, 400, repeats=200)
    median = {name: statistics.median(values) for name, values in seconds.items()}
    speedup = median["dataloader"] / median["vaekit"]
    contenders = {}
    for name, label, network in (("vaekit", "vaekit Trainer", model),
                                 ("dataloader", "DataLoader loop (pytorch/examples)", baseline)):
        flops = training_flops(network, num_images)
        achieved = flops / median[name] / 1e9
        contenders[name] = {
            "label": label, "median_seconds_per_epoch": median[name], "epoch_seconds": seconds[name],
            "images_per_second": num_images / median[name], "training_flops_per_epoch": flops,
            "achieved_gflops": achieved, "fraction_of_peak_gemm": achieved / peak_gflops,
            "speedup_vs_dataloader": median["dataloader"] / median[name]}

    print(f"\n{'contender':36} {'s/epoch':>8} {'images/s':>9} {'GFLOP/s':>8} {'of peak':>8} {'vs DataLoader':>13}")
    for row in contenders.values():
        print(f"{row['label']:36} {row['median_seconds_per_epoch']:8.2f} {row['images_per_second']:9.0f} "
              f"{row['achieved_gflops']:8.1f} {row['fraction_of_peak_gemm']:8.1%} "
              f"{row['speedup_vs_dataloader']:12.2f}×")
    print(f"float32 GEMM on this CPU: {peak_gflops:.1f} GFLOP/s (1024×1024×1024, the peak), "
          f"{model_gemm_gflops:.1f} GFLOP/s (128×784 @ 784×400)")
    met = speedup >= TARGET_SPEEDUP
    print(f"target vaekit ≥ {TARGET_SPEEDUP:.1f}× DataLoader loop: {'met' if met else 'NOT met'} "
          f"(ratio {speedup:.2f})")
    # what bounds the ratio: the loader's share of the baseline, and the GEMM work any loop must do
    loader_bound = median["dataloader"] / max(median["dataloader"] - median["dataloader_alone"], 1e-9)
    gemm_floor = contenders["vaekit"]["training_flops_per_epoch"] / model_gemm_gflops / 1e9
    print(f"limits: the DataLoader alone takes {median['dataloader_alone']:.2f} of the loop's "
          f"{median['dataloader']:.2f} s/epoch, so removing it gives at most {loader_bound:.2f}×; "
          f"the FLOPs at the 128×784 @ 784×400 GEMM rate take {gemm_floor:.2f} s/epoch "
          f"(any trainer: at most {median['dataloader'] / gemm_floor:.2f}×)")

    result = {
        "benchmark": "epoch_speed",
        "model": "VAE 784-400-20 relu, Bernoulli, dynamic binarization, Adam lr 1e-3, batch 128",
        "images": num_images, "timed_epochs": args.epochs, "warmup_epochs": 1,
        "contenders": contenders,
        "dataloader_alone": {"median_seconds_per_epoch": median["dataloader_alone"],
                             "epoch_seconds": seconds["dataloader_alone"]},
        "speedup": speedup, "target_speedup": TARGET_SPEEDUP, "target_met": met,
        "bound_without_loader": loader_bound, "gemm_floor_seconds_per_epoch": gemm_floor,
        "gemm_gflops_1024": peak_gflops, "gemm_gflops_128x784x400": model_gemm_gflops,
        "torch": torch.__version__, "threads": torch.get_num_threads(), "processor": processor_name(),
        "flush_denormal": True, "command": "python " + shlex.join(sys.argv),
    }
    if args.profile:
        result["profile_top_ops"] = profile_vaekit(model, images)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rounded(result), indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
