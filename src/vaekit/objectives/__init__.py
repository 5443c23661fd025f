"""Training objectives: each maps (model, x, config) to (loss, named terms per data point)."""
from vaekit.objectives.elbo import elbo, elbo_terms
from vaekit.objectives.iwae import importance_log_weights, iwae_bound
from vaekit.objectives.reconstruction import reconstruction
from vaekit.objectives.registry import OBJECTIVES, Objective

__all__ = ["OBJECTIVES", "Objective", "elbo", "elbo_terms", "iwae_bound", "importance_log_weights", "reconstruction"]
