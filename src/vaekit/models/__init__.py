"""Model families: one file each. Every model encodes to a code or a posterior and decodes to p(x|z)."""
from vaekit.models.autoencoder import Autoencoder
from vaekit.models.base import MODELS, Model, load
from vaekit.models.factor_vae import FactorVAE
from vaekit.models.flow_model import RealNVP
from vaekit.models.gan import GAN
from vaekit.models.hierarchical_vae import HierarchicalVAE
from vaekit.models.sentence_vae import LanguageModel, SentenceVAE
from vaekit.models.vae import VAE

__all__ = ["MODELS", "Model", "VAE", "Autoencoder", "FactorVAE", "HierarchicalVAE", "SentenceVAE", "LanguageModel",
           "RealNVP", "GAN", "load"]
