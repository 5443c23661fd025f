"""Speed of the importance-sampled log p(x) of ``vaekit evaluate``: seconds and images/s at k = 1,
100 and 5000 for Burda et al.'s 784-200-200-50 VAE (tanh, Bernoulli) on MNIST test images, beside
the floor that the decoder's matrix products put on it on this host, measured in the same run.

Floor. Decoding one z costs F = Σ_layers 2·in·out FLOPs (0.41 MFLOP for 50-200-200-784), so N
images × k draws need N·k·F FLOPs of GEMM. Dividing by this host's float32 GEMM rate gives the
floor, with the rate measured two ways: the 1024³ ``torch.mm`` rate (the arithmetic floor the
issue names) and the rate of the decoder's own three products at the evaluation's block shape
(2048 rows: what those thin shapes reach). The ratio seconds / floor is what everything else
costs: drawing z, the encoder, tanh, the Bernoulli log-density, log q, log p(z), log-sum-exp.

``--baseline`` also times the previous implementation side by side on the same images and draws
(torch's elementwise binary cross-entropy; 500 samples × 100 images decoded at once; ``torch.tanh``
instead of vaekit's 2σ(2x) − 1) and reports the largest difference between the two estimates (float
rounding only: same draws, same model).

    python bench/evaluate_speed.py --baseline                  # writes bench/results/evaluate_speed.json
    python bench/evaluate_speed.py --images 10000 --ks 5000    # the whole test set at k = 5000
    python bench/evaluate_speed.py --run-dir runs/bench-mnist-nll --baseline   # a trained model

Without --run-dir the weights are the preset's seeded initialisation (a decode costs the same for
any weights; denormals are flushed). Needs MNIST under VAEKIT_DATA (default ../shared/data).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch

torch.set_flush_denormal(True)  # before the first parallel op, so OpenMP workers inherit it

from host import gemm_gflops, machine  # noqa: E402
from torch import nn  # noqa: E402
from torch.distributions import Bernoulli, Independent  # noqa: E402

from vaekit.config import load_config  # noqa: E402
from vaekit.distributions import likelihoods  # noqa: E402
from vaekit.evaluate.likelihood import ROWS_PER_DECODE, log_likelihood_estimate  # noqa: E402
from vaekit.nn import mlp  # noqa: E402
from vaekit.presets import preset_path  # noqa: E402
from vaekit.runs import build_model, load_data, load_run, test_images  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("VAEKIT_DATA") or ROOT.parent / "shared" / "data")


def decoder_linears(model) -> list[nn.Linear]:
    return [module for module in model.decoder.modules() if isinstance(module, nn.Linear)]


def decoder_gemm_gflops(model, rows: int, repeats: int = 20) -> float:
    """GFLOP/s of the decoder's own matrix products (addmm of each Linear) on ``rows`` latents."""
    layers = decoder_linears(model)
    inputs = [torch.randn(rows, layer.in_features) for layer in layers]
    flops = sum(2 * rows * layer.in_features * layer.out_features for layer in layers)

    def products():
        for x, layer in zip(inputs, layers):
            torch.addmm(layer.bias, x, layer.weight.t())
    for _ in range(3):
        products()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        products()
        times.append(time.perf_counter() - started)
    return flops / statistics.median(times) / 1e9


def previous_bernoulli(self, logits: torch.Tensor):
    """The likelihood before bench/evaluate_speed.py: torch's elementwise binary cross-entropy."""
    return Independent(Bernoulli(logits=logits, validate_args=False), 3, validate_args=False)


def previous_tanh(self, x: torch.Tensor) -> torch.Tensor:
    """The activation before bench/evaluate_speed.py: torch's tanh kernel."""
    return torch.tanh(x)


def timed_estimate(model, images: torch.Tensor, k: int, previous: bool) -> tuple[float, torch.Tensor]:
    current, current_tanh = likelihoods.BernoulliLikelihood.forward, mlp.Tanh.forward
    if previous:
        likelihoods.BernoulliLikelihood.forward, mlp.Tanh.forward = previous_bernoulli, previous_tanh
    try:
        torch.manual_seed(0)
        started = time.perf_counter()
        log_px = log_likelihood_estimate(model, images, k, chunk=500, batch_size=100,
                                         rows_per_decode=None if previous else ROWS_PER_DECODE)
        return time.perf_counter() - started, log_px
    finally:
        likelihoods.BernoulliLikelihood.forward, mlp.Tanh.forward = current, current_tanh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1000, help="MNIST test images per k (default 1000)")
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 100, 5000], help="importance samples")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--run-dir", help="a trained run of this architecture (default: seeded initialisation)")
    parser.add_argument("--baseline", action="store_true", help="also time the previous implementation")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "evaluate_speed.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    if args.run_dir:
        config, model = load_run(args.run_dir)
    else:
        config = load_config(preset_path("mnist_iwae_arch"), [f"data.root={DATA_ROOT}"])
        torch.manual_seed(0)
        model = build_model(config, load_data(config, "test"))
    model.eval()
    images = test_images(config, model).images[:args.images]
    flops_per_decode = sum(2 * layer.in_features * layer.out_features for layer in decoder_linears(model))

    gemm_1024 = gemm_gflops(1024, 1024, 1024, repeats=10)
    gemm_decoder = decoder_gemm_gflops(model, ROWS_PER_DECODE)
    print(f"host: {machine()}; float32 GEMM {gemm_1024:.1f} GFLOP/s (1024³), decoder products at "
          f"{ROWS_PER_DECODE} rows {gemm_decoder:.1f} GFLOP/s; {flops_per_decode / 1e6:.3f} MFLOP per decode")
    header = (f"{'k':>5} {'images':>6} {'seconds':>8} {'images/s':>9} {'floor(1024³) s':>15} {'ratio':>6} "
              f"{'floor(shapes) s':>16} {'ratio':>6} {'previous s':>11} {'speed-up':>8} {'max|Δ|':>8}")
    print(header)
    rows = []
    for k in args.ks:
        seconds, log_px = timed_estimate(model, images, k, previous=False)
        flops = len(images) * k * flops_per_decode
        row = {"k": k, "images": len(images), "seconds": round(seconds, 3),
               "images_per_second": round(len(images) / seconds, 2),
               "nll": round(float(-log_px.mean()), 4),
               "floor_seconds_gemm_1024": round(flops / gemm_1024 / 1e9, 3),
               "floor_seconds_decoder_shapes": round(flops / gemm_decoder / 1e9, 3)}
        row["ratio_to_floor_1024"] = round(seconds / row["floor_seconds_gemm_1024"], 2)
        row["ratio_to_floor_shapes"] = round(seconds / row["floor_seconds_decoder_shapes"], 2)
        previous = ""
        if args.baseline:
            previous_seconds, previous_log_px = timed_estimate(model, images, k, previous=True)
            row.update(previous_seconds=round(previous_seconds, 3),
                       speedup=round(previous_seconds / seconds, 2),
                       max_abs_difference_nats=float((previous_log_px - log_px).abs().max()))
            previous = (f"{previous_seconds:>11.2f} {row['speedup']:>7.2f}× "
                        f"{row['max_abs_difference_nats']:>8.1e}")
        rows.append(row)
        print(f"{k:>5} {len(images):>6} {seconds:>8.2f} {row['images_per_second']:>9.1f} "
              f"{row['floor_seconds_gemm_1024']:>15.2f} {row['ratio_to_floor_1024']:>6.2f} "
              f"{row['floor_seconds_decoder_shapes']:>16.2f} {row['ratio_to_floor_shapes']:>6.2f} {previous}")
    result = {"benchmark": "evaluate_speed", "model": "VAE 784-200-200-50 tanh, Bernoulli (mnist_iwae_arch)",
              "weights": args.run_dir or "seeded initialisation", "threads": args.threads, "machine": machine(),
              "gemm_gflops_1024": round(gemm_1024, 1), "gemm_gflops_decoder_shapes": round(gemm_decoder, 1),
              "rows_per_decode": ROWS_PER_DECODE, "mflop_per_decode": flops_per_decode / 1e6, "rows": rows,
              "command": "python bench/evaluate_speed.py " + " ".join(
                  f"--{key.replace('_', '-')} {value}" for key, value in vars(args).items()
                  if key in ("images", "threads", "run_dir") and value)}
    if 5000 in args.ks:
        per_image = next(row for row in rows if row["k"] == 5000)["seconds"] / len(images)
        result["k5000_10000_images_seconds_extrapolated"] = round(per_image * 10_000, 1)
        print(f"k = 5000 on all 10,000 test images: about {per_image * 10_000:.0f} s at this rate")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
