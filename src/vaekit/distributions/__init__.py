"""Likelihoods p(x|z), posteriors q(z|x), priors p(z) and KL terms, as torch.distributions objects."""
from vaekit.distributions.autoregressive import PixelCNNBernoulli, PixelCNNLikelihood
from vaekit.distributions.autoregressive_text import AutoregressiveText
from vaekit.distributions.kl import kl_per_dimension, kl_term
from vaekit.distributions.likelihoods import LIKELIHOODS, Likelihood, make_likelihood
from vaekit.distributions.posterior import diagonal_gaussian, standard_normal
from vaekit.distributions import flows  # noqa: F401  (registers the planar and iaf posteriors)

__all__ = ["LIKELIHOODS", "Likelihood", "make_likelihood", "diagonal_gaussian", "standard_normal",
           "kl_term", "kl_per_dimension", "PixelCNNBernoulli", "PixelCNNLikelihood",
           "AutoregressiveText"]
