"""What ``vaekit evaluate`` reports about a GAN, a model that defines no density.

Always: that it has no likelihood, and the discriminator's view of the test images x and of as
many draws g(z): the losses L_D, L_G of ``objectives.gan`` and the mean scores D(x), D(g(z)).

With an estimator (``ais``, or ``prior``): log p(x) of the generator under an added Gaussian
observation model, as Wu et al. 2017 ("On the quantitative analysis of decoder-based generative
models", §2 and §5) do for GANs:

    p(z) = N(0, I),   p(x|z) = N(x; g(z), σ² I),   log p(x) = log ∫ p(z) p(x|z) dz,

estimated by ``estimators.estimate_log_likelihood`` (AIS from p(z), or naive Monte Carlo from p(z)).
The number is a property of (g, σ), not of g alone: as σ → 0 the density concentrates on the
latent_dim-dimensional set {g(z)} and log p(x) → −∞ for every x off it. σ = ``evaluate.gan_noise_std``;
the default σ² = 0.025 is the default of Wu et al.'s code (``tonywu95/eval_gen``, experiments/run.py,
where it is the setting of their 10-d GAN; 0.01 for the 50-d one). It is a density on continuous
x ∈ R^{C·H·W}, not comparable with the bits/dim of a model of discrete pixels. Importance sampling
with q(z|x) (``is``) needs an encoder, which a GAN lacks: refused by name, as is AIS from q(z|x).
"""
from __future__ import annotations

import dataclasses

import torch

from vaekit.config import ConfigError, EvalConfig
from vaekit.distributions import make_likelihood
from vaekit.evaluate.estimators import check_estimator_config, estimate_log_likelihood
from vaekit.objectives.gan import gan

NO_LIKELIHOOD = ("none: a GAN defines no density p(x) (g(z) puts all its mass on a {}-dimensional set); "
                 "--estimator ais gives log p(x) under an added Gaussian observation model N(g(z), σ² I)")


class GaussianObservation:
    """The generator with p(x|z) = N(x; g(z), σ² I) added: ``prior()``, ``decode(z)`` and ``eval()``,
    the interface of the log p(x) estimators."""

    def __init__(self, model, std: float):
        self.model = model
        self.likelihood = make_likelihood("gaussian", model.image_shape, std).to(next(model.parameters()))

    def prior(self):
        return self.model.prior()

    def decode(self, z: torch.Tensor):
        """N(g(z), σ² I), batch shape (...) for z (..., latent_dim), event shape (C, H, W)."""
        return self.likelihood(self.model.generate(z))

    def eval(self) -> "GaussianObservation":
        self.model.eval()
        return self


@torch.no_grad()
def discriminator_statistics(model, images: torch.Tensor, batch_size: int = 100) -> dict[str, float]:
    """L_D, L_G, mean D(x) over ``images`` and mean D(g(z)) over as many z ~ p(z), in eval mode."""
    model.eval()
    totals: dict[str, float] = {}
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size]
        _, terms = gan(model, x)
        for key, value in terms.items():
            totals[key] = totals.get(key, 0.0) + float(value) * len(x)
    names = {"discriminator": "discriminator_loss", "generator": "generator_loss"}
    return {names.get(key, key): value / len(images) for key, value in totals.items()}


def evaluate_gan(model, images: torch.Tensor, config: EvalConfig = EvalConfig(), estimator: str | None = None,
                 progress: bool = False, distributed=None) -> dict:
    """The module docstring's report on ``images`` (prepared as the model expects); log p(x) under
    N(g(z), σ² I) only when ``estimator`` is given (``is`` and ``ais_start=posterior`` are refused).
    Under torchrun (``distributed``) the ranks share the log p(x) estimate by batches, with one
    process's numbers; each computes the discriminator's statistics (the same on every rank)."""
    if estimator is not None:
        config = dataclasses.replace(config, estimator=estimator)
        check_estimator_config(config)
        if estimator == "is":
            raise ConfigError("--estimator is: a gan has no encoder q(z|x) to propose from; use --estimator ais "
                              "(or prior) for log p(x) under N(g(z), σ² I), σ = evaluate.gan_noise_std")
        if estimator == "ais" and config.ais_start != "prior":
            raise ConfigError(f"evaluate.ais_start={config.ais_start} needs an encoder q(z|x); a gan has none: "
                              "use --ais-start prior")
    if config.max_examples is not None:
        images = images[:config.max_examples]
    results = {"num_examples": len(images), "num_pixels": model.num_pixels,
               **discriminator_statistics(model, images, config.batch_size)}
    if estimator is None:
        return {**results, "likelihood": NO_LIKELIHOOD.format(model.config.latent_dim)}
    std = config.gan_noise_std
    estimate = estimate_log_likelihood(GaussianObservation(model, std), images, config, progress=progress,
                                       distributed=distributed)
    return {**results,
            "likelihood": f"gaussian observation model added to the generator: p(x|z) = N(g(z), σ² I), σ = {std:.4g} "
                          f"(σ² = {std ** 2:.4g}, evaluate.gan_noise_std; Wu et al. 2017); the number depends on σ, "
                          "and is a density on continuous pixels, not bits/dim of discrete ones",
            "observation_std": std, "estimator": estimate["estimator"],
            "importance_samples": estimate["importance_samples"],
            **({"ais_steps": config.ais_steps} if estimator == "ais" else {}),
            "observation_log_likelihood": -estimate["nll"],                 # mean log p̂(x), nats per image
            "observation_log_likelihood_standard_error": estimate["nll_standard_error"],
            "estimator_decoder_evaluations": estimate["decoder_evaluations"],
            "estimator_seconds": estimate["seconds"]}
