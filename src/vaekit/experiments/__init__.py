"""`vaekit experiment NAME`: each lecture claim reproduced on real data, measured, with figures.

Every experiment is a function ``run(report, settings)`` registered by name; its parameters are
a frozen dataclass filled from ``vaekit/configs/experiments/NAME.yaml`` (section ``full`` or ``quick``),
then from command-line overrides.
"""
from vaekit.experiments.registry import EXPERIMENTS, Experiment, run_experiment
from vaekit.experiments.report import Report

# importing the modules registers the experiments
from vaekit.experiments import (  # noqa: F401,E402  isort:skip
    alternatives, ae_vs_vae_2d, beta_sweep, deep_ae_vs_pca, denoising_ae, disentanglement, interpolation, linear_ae_pca, posterior_collapse, sampling,
    tighter_bounds)

__all__ = ["EXPERIMENTS", "Experiment", "Report", "run_experiment"]
