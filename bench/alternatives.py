"""The lecture's alternatives on one table: VAE, RealNVP flow and DCGAN at one training budget.

A thin driver of ``vaekit experiment alternatives`` (src/vaekit/experiments/alternatives.py):
each model trains from its preset for ``--minutes`` of wall clock on 8-bit MNIST, then the
table gives bits/dim (IS bound for the VAE, exact for the flow, none for the GAN), classifier
FD, precision, recall, sharpness and training time. This script adds the host's float32 GEMM
rate and writes the results to bench/results/alternatives.json; the report folder (figure,
report.md) goes to ``--report``.

    python bench/alternatives.py --minutes 5            # what the README shows (≈ 40 min on 2 cores)
    python bench/alternatives.py --minutes 30           # the presets' own budgets
    python bench/alternatives.py --quick --out /tmp/alternatives.json   # smoke run (~1 min)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("VAEKIT_DATA") or ROOT.parent / "shared" / "data")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget per model (wall clock)")
    parser.add_argument("--quick", action="store_true", help="the experiment's quick settings (a smoke run)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--report", default=str(ROOT / "runs" / "bench-alternatives"), help="report folder")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "alternatives.json"))
    args = parser.parse_args()

    import torch
    torch.set_flush_denormal(True)                 # before the first parallel op
    if args.threads:
        torch.set_num_threads(args.threads)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from host import gemm_gflops, machine
    from vaekit.experiments import run_experiment

    gflops = gemm_gflops(1024, 1024, 1024, repeats=10)
    overrides = [f"data_root={DATA_ROOT}"] + ([] if args.quick else [f"minutes={args.minutes}"])
    report = run_experiment("alternatives", args.report, quick=args.quick, overrides=overrides)
    results = json.loads((Path(args.report) / "results.json").read_text())
    print(f"\nhost: {machine()}, float32 GEMM {gflops:.1f} GFLOP/s on {torch.get_num_threads()} thread(s)")
    print(f"{'set':40} {'bits/dim':>9} {'FD':>7} {'prec':>5} {'rec':>5} {'sharp':>6} {'train min':>9}")
    models = results["results"]["models"]
    for name, scores in results["results"]["sample_quality"].items():
        model = next((m for m in models.values() if name.startswith(m["label"])), {})
        bits = f"{model['bits_per_dim']:.3f}" if "bits_per_dim" in model else ("–" if model else "")
        minutes = f"{model['train_seconds'] / 60:.1f}" if model else "–"
        print(f"{name:40} {bits:>9} {scores['fd']:7.2f} {scores['precision']:5.2f} {scores['recall']:5.2f} "
              f"{scores['sharpness']:6.3f} {minutes:>9}")
    for check in report.checks:
        print(f"[{'held' if check['held'] else 'NOT held'}] {check['claim']}: {check['measured']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"host": {"machine": machine(), "threads": torch.get_num_threads(),
                                                   "gemm_gflops": gflops},
                                          "minutes": None if args.quick else args.minutes, "quick": args.quick,
                                          **{key: results[key] for key in ("results", "checks", "seconds")}},
                                         indent=2, default=str))
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
