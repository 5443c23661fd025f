"""Training: the Trainer, atomic checkpoints, CSV/TensorBoard logs."""
from vaekit.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from vaekit.train.trainer import History, Trainer, TrainingError

__all__ = ["Trainer", "History", "TrainingError", "save_checkpoint", "load_checkpoint", "CheckpointError"]
