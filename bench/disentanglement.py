"""β-VAE, β-TCVAE and FactorVAE on dSprites within a CPU budget: MIG and FactorVAE score beside the papers.

Runs `vaekit experiment disentanglement` (full settings: disentanglement_lib's architecture, 10
latents, batch 64, 5 epochs of the 60,000-image training split per model; see
configs/experiments/disentanglement.yaml) into --report, or reads a report folder it already
wrote (--from-report), and prints each model's MIG and FactorVAE score next to the published
means on dSprites with the wall time. Published values (../shared/PAPERS.md §2c): Kim & Mnih
2018 (FactorVAE), Chen et al. 2018 (β-TCVAE, MIG), Locatello et al. 2019 (300,000 steps, GPU).

    python bench/disentanglement.py                                    # trains all models (~1 h on 2 cores)
    python bench/disentanglement.py --from-report docs/experiments/disentanglement
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

torch.set_flush_denormal(True)  # before the first parallel op, so OpenMP workers inherit it

from vaekit.experiments import run_experiment  # noqa: E402
from vaekit.experiments.disentanglement import published_for  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAPER_STEPS = 300_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report", default=str(ROOT / "runs" / "bench-disentanglement"),
                        help="folder the experiment writes")
    parser.add_argument("--from-report", help="read this finished report folder instead of training")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "disentanglement.json"))
    args = parser.parse_args()

    if args.from_report:
        folder = Path(args.from_report)
    else:
        folder = Path(args.report)
        run_experiment("disentanglement", folder, data_root=os.environ.get("VAEKIT_DATA"))
    payload = json.loads((folder / "results.json").read_text())
    settings, models = payload["settings"], payload["results"]["models"]
    steps = settings["epochs"] * -(-payload["results"]["train_images"] // settings["batch_size"])
    rows, summary = [], {}
    for label, m in models.items():
        published = published_for(m)
        summary[label] = {"mig": m["mig"], "factor_vae_score": m["factor_vae"], "kl": m["kl"],
                          "total_correlation": m["total_correlation"], "active_units": m["active_units"],
                          "published_factor_vae_score": None if published is None else published[0],
                          "published_mig": None if published is None else published[1]}
        rows.append((label, f"{m['mig']:.3f}", "—" if published is None else f"{published[1]:.2f}",
                     f"{m['factor_vae']:.3f}", "—" if published is None else f"{published[0]:.2f}"))
    print(f"\n{'model':22} {'MIG':>7} {'paper':>7} {'FactorVAE':>10} {'paper':>7}")
    for row in rows:
        print(f"{row[0]:22} {row[1]:>7} {row[2]:>7} {row[3]:>10} {row[4]:>7}")
    print(f"\n{steps} training steps of {settings['batch_size']} per model (papers: {PAPER_STEPS}, "
          f"{steps / PAPER_STEPS:.1%} of it); experiment wall time {payload['seconds'] / 60:.1f} min for "
          f"{len(models)} models on {payload['machine']}")
    result = {"benchmark": "disentanglement", "report": str(folder), "models": summary,
              "steps_per_model": steps, "paper_steps": PAPER_STEPS, "wall_seconds": payload["seconds"],
              "settings": settings, "calibration": payload["results"]["calibration"],
              "machine": payload["machine"], "processor": platform.processor() or platform.machine(),
              "written": time.strftime("%Y-%m-%d %H:%M:%S"),
              "command": "python bench/disentanglement.py" + (f" --from-report {args.from_report}"
                                                              if args.from_report else "")}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
