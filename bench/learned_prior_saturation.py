"""Why the learned-prior presets use ReLU: with tanh their encoder saturates and z goes unused.

A learned prior follows the encoder (the VampPrior is p(z) = (1/K) Σ_k q(z|u_k); the two-layer
model's p(z1|z2) is learned), so the KL term of the ELBO,

    KL(q(z|x) ‖ p(z)) ≈ log q(z|x) − log p(z),   z ~ q(z|x),

no longer holds the posterior means μ(x) near 0 as it does for p(z) = N(0, I). This script trains
the VampPrior preset (no warm-up, β = 1) with tanh and with ReLU from the same seed on the same
minibatches of static binarized MNIST and prints, every ``--every`` steps: the minibatch's
reconstruction term and KL, the mean |μ| and σ of q(z|x), and the fraction of the encoder's last
hidden units that are saturated (tanh: |h| > 0.99) or off (ReLU: h = 0). With tanh the KL stays
near 0 while the units saturate and the reconstruction stops improving (z is ignored); with ReLU
the KL and the reconstruction move together.

    python bench/learned_prior_saturation.py                  # 500 steps; writes bench/results/learned_prior_saturation.json

Needs binarized MNIST under VAEKIT_DATA (default ../shared/data).
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch

torch.set_flush_denormal(True)  # before the first parallel op, so OpenMP workers inherit it

from host import gemm_gflops, machine  # noqa: E402

from vaekit.config import load_config  # noqa: E402
from vaekit.presets import preset_path  # noqa: E402
from vaekit.runs import build_model, load_data  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("VAEKIT_DATA") or ROOT.parent / "shared" / "data")


def trace(activation: str, steps: int, every: int, seed: int = 0) -> list[dict]:
    """Train the VampPrior preset with ``activation`` for ``steps`` Adam steps; a row every ``every``."""
    config = load_config(preset_path("mnist_vampprior_vae"), [
        f"data.root={DATA_ROOT}", f"model.activation={activation}", "objective.kl_schedule.kind=constant"])
    data = load_data(config, "train")
    torch.manual_seed(seed)
    model = build_model(config, data)
    images = data.images.float()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.train.lr)
    last_hidden = {}
    units = [module for module in model.encoder.modules() if type(module).__name__ in ("Tanh", "ReLU")]
    units[-1].register_forward_hook(lambda module, inputs, output: last_hidden.__setitem__("h", output.detach()))
    batches = torch.Generator().manual_seed(seed)
    rows = []
    for step in range(steps + 1):
        x = images[torch.randint(0, len(images), (config.train.batch_size,), generator=batches)]
        posterior = model.encode(x)
        z = posterior.rsample()
        reconstruction = -model.decode(z).log_prob(x).mean()
        kl = (posterior.log_prob(z) - model.prior().log_prob(z)).mean()
        optimizer.zero_grad()
        (reconstruction + kl).backward()
        optimizer.step()
        if step % every == 0:
            gaussian = posterior.base_dist if hasattr(posterior, "base_dist") else posterior
            hidden = last_hidden["h"]
            stuck = hidden.abs() > 0.99 if activation == "tanh" else hidden == 0
            rows.append({"step": step, "reconstruction": round(reconstruction.item(), 2), "kl": round(kl.item(), 3),
                         "mean_abs_mu": round(float(gaussian.loc.abs().mean()), 3),
                         "mean_sigma": round(float(gaussian.scale.mean()), 3),
                         "stuck_units": round(float(stuck.float().mean()), 3)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "learned_prior_saturation.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"host: {machine()}; float32 GEMM {gemm_gflops(1024, 1024, 1024, repeats=10):.1f} GFLOP/s (1024³)")
    traces = {activation: trace(activation, args.steps, args.every) for activation in ("tanh", "relu")}
    print(f"{'step':>5} | {'tanh: rec':>9} {'KL':>7} {'|μ|':>6} {'σ':>6} {'|h|>.99':>8} | "
          f"{'relu: rec':>9} {'KL':>7} {'|μ|':>6} {'σ':>6} {'h=0':>6}")
    for tanh, relu in zip(traces["tanh"], traces["relu"]):
        print(f"{tanh['step']:>5} | {tanh['reconstruction']:>9.1f} {tanh['kl']:>7.3f} {tanh['mean_abs_mu']:>6.2f} "
              f"{tanh['mean_sigma']:>6.2f} {tanh['stuck_units']:>8.2f} | {relu['reconstruction']:>9.1f} "
              f"{relu['kl']:>7.3f} {relu['mean_abs_mu']:>6.2f} {relu['mean_sigma']:>6.2f} {relu['stuck_units']:>6.2f}")
    result = {"benchmark": "learned_prior_saturation", "preset": "mnist_vampprior_vae (β = 1, no warm-up)",
              "machine": machine(), "steps": args.steps, "traces": traces,
              "command": f"python bench/learned_prior_saturation.py --steps {args.steps} --every {args.every}"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
