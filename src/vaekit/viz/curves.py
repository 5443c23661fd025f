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


# panel title → the metrics.csv column prefixes it draws (one line per matching column)
DIAGNOSTICS = {
    "active units (Var_x μ_d(x) ≥ 0.01)": ("valid_active_units",),
    "mutual information I(x; z) (nats)": ("valid_mutual_information",),
    "KL(q(z_d|x) ‖ p(z_d)) per dimension (nats)": ("valid_kl_d",),
    "discriminator's mean score": ("valid_real_score", "valid_fake_score"),
}


def diagnostic_columns(rows: list[dict[str, float]]) -> dict[str, list[str]]:
    """The panels of ``DIAGNOSTICS`` that ``rows`` have columns for, with those columns."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    found = {title: [c for c in columns if c.startswith(prefixes)] for title, prefixes in DIAGNOSTICS.items()}
    return {title: names for title, names in found.items() if names}


def plot_diagnostics(rows: list[dict[str, float]], path: str | Path) -> Path:
    """One panel per logged diagnostic of ``DIAGNOSTICS`` (validation set), against the epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = diagnostic_columns(rows)
    if not panels:
        raise ValueError(f"no diagnostic columns ({', '.join(DIAGNOSTICS)}) to plot")
    figure, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.4), squeeze=False)
    for axis, (title, columns) in zip(axes[0], panels.items()):
        for column in columns:
            points = [(row["epoch"], row[column]) for row in rows if column in row]
            label = column.removeprefix("valid_kl_").removeprefix("valid_")
            axis.plot(*zip(*points), label=label, marker="." if len(points) < 30 else None)
        axis.set_xlabel("epoch")
        axis.set_title(title, fontsize=10)
        axis.grid(alpha=0.3)
        if 1 < len(columns) <= 10:
            axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return Path(path)
