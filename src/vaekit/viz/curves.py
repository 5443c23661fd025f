"""Training curves from a run's ``metrics.csv``."""
from __future__ import annotations

from pathlib import Path


def plot_curves(rows: list[dict[str, float]], path: str | Path, keys: tuple[str, ...] = ("elbo", "kl")) -> Path:
    """One panel per term, train and valid on the same axes, against the epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = [k for k in keys if any(f"{split}_{k}" in row for row in rows for split in ("train", "valid"))]
    if not rows or not present:
        raise ValueError(f"no {', '.join(keys)} columns to plot")
    figure, axes = plt.subplots(1, len(present), figsize=(4.5 * len(present), 3.4), squeeze=False)
    for axis, key in zip(axes[0], present):
        for split in ("train", "valid"):
            points = [(row["epoch"], row[f"{split}_{key}"]) for row in rows if f"{split}_{key}" in row]
            if points:
                axis.plot(*zip(*points), label=split, marker="." if len(points) < 30 else None)
        axis.set_xlabel("epoch")
        axis.set_ylabel(f"{key} (nats per example)")
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return Path(path)
