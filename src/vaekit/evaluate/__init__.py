"""Evaluation: importance-sampled log p(x), ELBO terms, KL per dimension, active units, text perplexity."""
from vaekit.evaluate.active_units import active_units, posterior_mean_variance
from vaekit.evaluate.diagnostics import collapse_diagnostics, mutual_information
from vaekit.evaluate.likelihood import log_likelihood_estimate
from vaekit.evaluate.summary import evaluate_model, encode_dataset
from vaekit.evaluate.text import evaluate_text, perplexity

__all__ = ["log_likelihood_estimate", "active_units", "posterior_mean_variance", "evaluate_model",
           "encode_dataset", "collapse_diagnostics", "mutual_information", "evaluate_text", "perplexity"]
