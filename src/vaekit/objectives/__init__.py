"""Training objectives: each maps (model, x, config) to (loss, named terms per data point)."""
from vaekit.objectives.elbo import elbo, elbo_terms, regularized_loss
from vaekit.objectives.factor_vae import factor_vae
from vaekit.objectives.flow_nll import flow_nll
from vaekit.objectives.gan import gan
from vaekit.objectives.iwae import importance_log_weights, iwae_bound
from vaekit.objectives.language_model import language_model
from vaekit.objectives.reconstruction import reconstruction
from vaekit.objectives.registry import OBJECTIVES, Objective
from vaekit.objectives.regularizers import REGULARIZERS, LatentBatch

__all__ = ["OBJECTIVES", "Objective", "elbo", "elbo_terms", "regularized_loss", "factor_vae", "flow_nll", "gan", "REGULARIZERS", "LatentBatch", "iwae_bound", "importance_log_weights", "language_model", "reconstruction"]
