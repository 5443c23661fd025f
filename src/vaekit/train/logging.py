"""Scalar logs of a run: one CSV row per epoch and TensorBoard event files."""
from __future__ import annotations

import csv
from pathlib import Path


class RunLogger:
    """Append per-epoch scalars to ``metrics.csv`` and TensorBoard events in ``run_dir``."""

    def __init__(self, run_dir: str | Path, resume_after_epoch: int = 0, resume_step: int | None = None):
        from torch.utils.tensorboard import SummaryWriter  # imported here: tensorboard is slow to import

        self.path = Path(run_dir) / "metrics.csv"
        self.rows = read_metrics(self.path)
        self.rows = [row for row in self.rows if int(row["epoch"]) <= resume_after_epoch]
        self.writer = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"), purge_step=resume_step)

    def log(self, row: dict[str, float], step: int) -> None:
        self.rows.append({k: float(v) for k, v in row.items()})
        fields = list(dict.fromkeys(k for r in self.rows for k in r))
        with open(self.path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(self.rows)
        for key, value in row.items():
            if key not in ("epoch", "step"):
                self.writer.add_scalar(key.replace("_", "/", 1), value, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def read_metrics(path: str | Path) -> list[dict[str, float]]:
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]
