"""Test NLL of Burda et al.'s one-stochastic-layer VAE on MNIST within a CPU time budget.

Architecture 784-200-200-50 (tanh), Bernoulli likelihood, dynamic binarization, all 60,000
training images, Adam; the learning rate decays ×0.1 over the planned epochs. The test NLL is
the k-sample importance-weighted estimate −L_k on the 10,000 test images (binarized once, fixed
seed). Burda et al. (2016, Table 1) report 86.76 nats for this model after 3,280 passes.

    python bench/mnist_nll.py --minutes 30 --k 5000        # the issue's target: ≤ 88.0 nats
    python bench/mnist_nll.py --minutes 1 --k 100          # a smoke run
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

import torch

torch.set_flush_denormal(True)  # before the first parallel op, so OpenMP workers inherit it

from vaekit.config import load_config  # noqa: E402
from vaekit.evaluate import evaluate_model  # noqa: E402
from vaekit.presets import PRESET_DIR  # noqa: E402
from vaekit.runs import test_images, train_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAPER_NLL, TARGET_NLL = 86.76, 88.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0, help="training budget (wall clock)")
    parser.add_argument("--k", type=int, default=5000, help="importance samples of the test NLL")
    parser.add_argument("--run-dir", default=str(ROOT / "runs" / "bench-mnist-nll"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "mnist_nll.json"))
    args = parser.parse_args()

    config = load_config(PRESET_DIR / "mnist_iwae_arch.yaml", [f"run_dir={args.run_dir}"])
    # calibrate: a few epochs of a throwaway model tell how many epochs fit (the first is slow: warm-up)
    data_started = time.perf_counter()
    calibration = dataclasses.replace(config, run_dir=args.run_dir + "-calibration",
                                      train=dataclasses.replace(config.train, epochs=3, progress=False))
    os.system(f"rm -rf '{calibration.run_dir}' '{args.run_dir}'")
    _, history = train_run(calibration)
    epoch_seconds = min(row["seconds"] for row in history.epochs)
    epochs = max(1, int(args.minutes * 60 / epoch_seconds))
    print(f"calibration: {epoch_seconds:.2f} s/epoch → planning {epochs} epochs in {args.minutes} min "
          f"({time.perf_counter() - data_started:.1f} s)")
    config = dataclasses.replace(config, train=dataclasses.replace(
        config.train, epochs=epochs, lr_decay=0.1 ** (1 / epochs), time_limit_minutes=args.minutes,
        progress=False, checkpoint_every=25))

    started = time.perf_counter()
    model, history = train_run(config)
    train_seconds = time.perf_counter() - started
    evaluation = dataclasses.replace(config.evaluate, importance_samples=args.k)
    started = time.perf_counter()
    metrics = evaluate_model(model, test_images(config, model).images, evaluation, progress=True)
    eval_seconds = time.perf_counter() - started

    result = {
        "benchmark": "mnist_nll", "model": "VAE 784-200-200-50 tanh, Bernoulli (Burda et al. 2016)",
        "epochs": len(history.epochs), "train_seconds": round(train_seconds, 1),
        "eval_seconds": round(eval_seconds, 1), "importance_samples": args.k,
        "test_nll": round(metrics["nll"], 3), "test_nll_standard_error": round(metrics["nll_standard_error"], 3),
        "test_elbo": round(metrics["elbo"], 3), "test_kl": round(metrics["kl"], 3),
        "active_units": metrics["active_units"], "paper_nll": PAPER_NLL, "target_nll": TARGET_NLL,
        "target_met": metrics["nll"] <= TARGET_NLL,
        "command": f"python bench/mnist_nll.py --minutes {args.minutes:g} --k {args.k}",
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
    }
    rows = [("epochs (passes)", f"{result['epochs']}", "3280"),
            ("training wall time", f"{train_seconds / 60:.1f} min", "-"),
            (f"test NLL, k={args.k} (nats)", f"{result['test_nll']:.2f} ± {result['test_nll_standard_error']:.2f}",
             f"{PAPER_NLL}"),
            ("test ELBO (nats)", f"{result['test_elbo']:.2f}", "-"),
            ("KL / active units", f"{result['test_kl']:.2f} / {result['active_units']}", "-")]
    print(f"\n{'':30} {'vaekit':>16} {'Burda et al.':>14}")
    for name, ours, paper in rows:
        print(f"{name:30} {ours:>16} {paper:>14}")
    print(f"target ≤ {TARGET_NLL} nats: {'met' if result['target_met'] else 'NOT met'}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
