"""Sentence VAE (Bowman et al. 2016) and its baseline, the LSTM language model with no latent.

Sentence VAE:  q(z|x) = N(μ(h_n), diag σ²(h_n)), h_n the LSTM encoder's state at <eos>;
               p(z) = N(0, I);  p(x|z) = Π_{t=1}^{n+1} p(x_t | x_<t, z), an LSTM that reads z
               (``vaekit.nn.recurrent``, ``vaekit.distributions.autoregressive_text``).
Language model: p(x) = Π_t p(x_t | x_<t), the same decoder without z; its exact −log p(x) is what a
               sentence VAE's −ELBO and −log p(x) estimate are compared with.

The decoder alone can model the sentences, so training may drive KL(q(z|x) || p(z)) to 0 for every x
and leave z unused ("posterior collapse", Bowman et al. §3.1); KL annealing and free bits live in the
objectives, word dropout in the decoder (``model.word_dropout``).
"""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

from vaekit.config import ConfigError, ModelConfig
from vaekit.data.text import SPECIALS, check_tokens
from vaekit.distributions.autoregressive_text import AutoregressiveText
from vaekit.models.base import MODELS, Model
from vaekit.models.vae import VAE
from vaekit.nn.recurrent import RecurrentDecoder, RecurrentEncoder


def check_text_config(config: ModelConfig) -> ModelConfig:
    if config.architecture != "lstm":
        raise ConfigError(f"a {config.kind} needs model.architecture=lstm, got {config.architecture!r}")
    if config.vocab_size <= len(SPECIALS):
        raise ConfigError(f"model.vocab_size must exceed the {len(SPECIALS)} special tokens, got "
                          f"{config.vocab_size} (vaekit train fills it from the data's vocabulary)")
    for name in ("embedding_dim", "rnn_hidden"):
        if getattr(config, name) < 1:
            raise ConfigError(f"model.{name} must be ≥ 1, got {getattr(config, name)}")
    return config


class TextModel:
    """What the sentence models share: (B, T) int64 token ids in, no pixel likelihood."""

    input_kind = "tokens"

    def _likelihood(self) -> None:
        return None                      # decode() builds AutoregressiveText around the decoder

    def check_input(self, x: torch.Tensor, source: str = "input") -> torch.Tensor:
        """Validate a batch of sentences: see ``vaekit.data.text.check_tokens``."""
        return check_tokens(x, self.config.vocab_size, source)

    @property
    def num_pixels(self) -> int:
        """Sentences have no fixed size; 1 makes a "per dimension" figure read "per sentence"."""
        return 1

    def _decoder(self) -> nn.Module:
        c = check_text_config(self.config)
        return RecurrentDecoder(c.vocab_size, c.embedding_dim, c.rnn_hidden, c.latent_dim,
                                c.word_dropout, c.embedding_dropout)

    def decode(self, z: torch.Tensor) -> AutoregressiveText:
        """p(x|z) for codes (..., latent_dim): batch shape (...)."""
        return AutoregressiveText(self.decoder, z)


@MODELS.register("sentence-vae")
class SentenceVAE(TextModel, VAE):
    """``encode``, ``prior``, ``code`` and ``sample`` are the VAE's; ``sample(n).greedy()`` decodes greedily."""

    kind = "sentence-vae"
    objectives = ("elbo", "iwae")

    def _encoder(self, out_features: int) -> nn.Module:
        c = check_text_config(self.config)
        if c.latent_dim < 1:
            raise ConfigError(f"a sentence-vae needs model.latent_dim ≥ 1, got {c.latent_dim}")
        return RecurrentEncoder(c.vocab_size, c.embedding_dim, c.rnn_hidden, out_features)


@MODELS.register("language-model")
class LanguageModel(TextModel, Model):
    """The decoder with an empty code; model.latent_dim is set to 0."""

    kind = "language-model"
    objectives = ("language-model",)

    def __init__(self, config: ModelConfig | None = None, **fields):
        super().__init__(config, **fields)
        self.config = dataclasses.replace(self.config, latent_dim=0)
        self.decoder = self._decoder()

    def marginal(self, num_sentences: int) -> AutoregressiveText:
        """p(x) itself, batch shape (num_sentences,)."""
        return self.decode(self.decoder.output.weight.new_zeros(num_sentences, 0))

    def sample(self, num_samples: int, generator: torch.Generator | None = None) -> AutoregressiveText:
        """p(x) for ``num_samples`` sentences (no latent to draw: ``generator`` is unused)."""
        return self.marginal(num_samples)
