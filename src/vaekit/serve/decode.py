"""The model side of ``vaekit serve``: test codes, the 2-D map and its inverse, batched decodes into
images (mean E[x|z] and a pixel draw) or sentences (greedy and sampled, ``vaekit.viz.text``).

The map shows the test set's codes μ(x) (posterior means of a VAE or sentence VAE, f(x) of an
autoencoder). A 2-D latent is drawn as is; a larger one through PCA, y = Wᵀ(z − m) with orthonormal
columns W (D, 2) and m the mean code, mapped back by z = m + W y (the point of the principal plane through m).
Under that projection the prior N(0, I) becomes N(−Wᵀm, I₂): its 1σ/2σ circles keep radius 1 and 2
around the projection of z = 0.
"""
from __future__ import annotations

import dataclasses
import math

import torch
from sklearn.decomposition import PCA

from vaekit.data.text import EOS, Vocabulary
from vaekit.evaluate.active_units import posterior_mean_variance
from vaekit.evaluate.posterior_statistics import batch_kl
from vaekit.evaluate.summary import mean_or_none
from vaekit.models import Model
from vaekit.viz.interpolate import METHODS, path
from vaekit.viz.text import decode_rows

MAX_ABS_LATENT = 1e6        # |z| above this is refused: no trained decoder means anything there
MAX_BATCH = 256             # latents per decode request of an image run
MAX_SENTENCE_BATCH = 32     # of a text run: each latent is decoded twice, token by token, ≤ MAX_LENGTH tokens
ACTIVE_THRESHOLD = 0.01     # Burda et al. (2016): Var_x(μ_d(x)) below it is a collapsed dimension
SUPPORTED_KINDS = ("vae", "autoencoder", "sentence-vae")


class LatentError(ValueError):
    """A request's latent, point or index that the model cannot decode; the message says why."""


def check_explorable(model: Model) -> None:
    """Refuse, by name, models the explorer cannot show: it needs a code, and a decoder mean (images) or
    a sentence decoder (text)."""
    if model.kind not in SUPPORTED_KINDS:
        why = "holds sentences but no latent code" if model.input_kind == "tokens" else "is not explorable"
        raise ValueError(f"model.kind={model.kind} {why}: the explorer serves {', '.join(SUPPORTED_KINDS)} runs")
    if model.config.architecture == "pixelcnn":
        raise ValueError("a pixelcnn decoder has no closed-form mean image to show live")


@dataclasses.dataclass(frozen=True)
class LatentMap:
    """Test codes (N, D), their 2-D positions (N, 2) and the projection between the two."""

    codes: torch.Tensor
    points: torch.Tensor
    projection: str              # "identity" (D = 2) or "pca"
    center: torch.Tensor         # m (D,)
    components: torch.Tensor     # W (D, 2), orthonormal columns
    explained_variance: tuple[float, float]

    @classmethod
    def fit(cls, codes: torch.Tensor) -> "LatentMap":
        dimension = codes.shape[1]
        if dimension == 2:
            return cls(codes, codes.clone(), "identity", torch.zeros(2), torch.eye(2), (math.nan, math.nan))
        if dimension == 1:           # the line z is drawn on the x axis; y is ignored on the way back
            return cls(codes, torch.cat([codes, torch.zeros_like(codes)], 1), "identity",
                       torch.zeros(1), torch.tensor([[1.0, 0.0]]), (math.nan, math.nan))
        pca = PCA(n_components=2).fit(codes.double().numpy())
        center = torch.from_numpy(pca.mean_).float()
        components = torch.from_numpy(pca.components_.T).float()                     # (D, 2)
        ratio = tuple(float(r) for r in pca.explained_variance_ratio_)
        return cls(codes, (codes - center) @ components, "pca", center, components, ratio)

    def to_latent(self, points: torch.Tensor) -> torch.Tensor:
        """z = m + W y for map points y (B, 2): the inverse of the projection on its plane."""
        return self.center + points @ self.components.T                             # (B, D)

    def to_map(self, latents: torch.Tensor) -> torch.Tensor:
        return (latents - self.center) @ self.components                             # (B, 2)


def check_latents(values, latent_dim: int, what: str = "latents", max_batch: int = MAX_BATCH) -> torch.Tensor:
    """A (B ≤ max_batch, latent_dim) float tensor from nested lists, or LatentError naming what is wrong."""
    if not isinstance(values, list) or not values:
        raise LatentError(f"{what}: expected a non-empty list of vectors, got {type(values).__name__}")
    if len(values) > max_batch:
        raise LatentError(f"{what}: at most {max_batch} vectors per request, got {len(values)}")
    for row, vector in enumerate(values):
        if not isinstance(vector, list) or len(vector) != latent_dim:
            size = len(vector) if isinstance(vector, list) else type(vector).__name__
            raise LatentError(f"{what}[{row}]: expected {latent_dim} numbers, got {size}")
        for column, value in enumerate(vector):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise LatentError(f"{what}[{row}][{column}]: expected a number, got {type(value).__name__}")
            if not math.isfinite(value):
                raise LatentError(f"{what}[{row}][{column}]: expected a finite number, got {value}")
            if abs(value) > MAX_ABS_LATENT:
                raise LatentError(f"{what}[{row}][{column}]: |z| must be ≤ {MAX_ABS_LATENT:g}, got {value:g}")
    return torch.tensor(values, dtype=torch.float32)


@torch.no_grad()
def decode_images(model: Model, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean images E[x|z] and one pixel draw x ~ p(x|z) of latents (B, D), both (B, C, H, W) in [0, 1]."""
    likelihood = model.decode(latents)
    mean = mean_or_none(likelihood)
    if mean is None:
        raise ValueError(f"the {model.kind}'s decoder has no closed-form mean")
    return mean.clamp(0, 1), likelihood.sample().clamp(0, 1)


@torch.no_grad()
def decode_sentences(model: Model, vocabulary: Vocabulary, latents: torch.Tensor) -> dict[str, list]:
    """Sentences of latents (B, D) under p(x|z) (``vaekit.distributions.autoregressive_text``):
    ``greedy`` x_t = argmax_v p(x_t = v | x_<t, z), ``sampled`` one draw x ~ p(x|z), as words up to <eos>
    (``vaekit.viz.text.decode_rows``); both stop at MAX_LENGTH tokens, and ``truncated`` marks the greedy
    rows cut there (no <eos>)."""
    likelihood = model.decode(latents)
    greedy = likelihood.greedy()                                                       # (B, L)
    return {"greedy": decode_rows(vocabulary, greedy), "sampled": decode_rows(vocabulary, likelihood.sample()),
            "truncated": (greedy == EOS).any(-1).logical_not().tolist()}


@torch.no_grad()
def dimension_ranking(model: Model, inputs: torch.Tensor) -> list[dict]:
    """Latent dimensions sorted by mean KL(q(z_d|x) || p(z_d)) over test ``inputs`` (images or token rows;
    an autoencoder, or a posterior without a per-dimension KL: by Var_x(μ_d)); ``collapsed`` when
    Var_x(μ_d) < 0.01."""
    codes = model.code(inputs)                                                        # (N, D)
    variance = posterior_mean_variance(codes)
    kl = None
    if hasattr(model, "prior"):
        _, kl_per_dim = batch_kl(model.encode(inputs), model.prior())
        kl = None if kl_per_dim is None else kl_per_dim.mean(0)
    score = variance if kl is None else kl
    return [{"dimension": d, "kl": None if kl is None else float(kl[d]), "variance": float(variance[d]),
             "collapsed": bool(variance[d] < ACTIVE_THRESHOLD)}
            for d in score.argsort(descending=True).tolist()]


def path_points(start: torch.Tensor, end: torch.Tensor, times: list[float], method: str) -> torch.Tensor:
    """z(t) = (1−t) z0 + t z1, or slerp (``vaekit.viz.interpolate.path``), from ``start`` to ``end`` (both
    (D,)) at each t of ``times``; returns (T, D)."""
    if method not in METHODS:
        raise LatentError(f"method must be 'linear' or 'slerp', got {method!r}")
    return path(start, end, torch.tensor(times, dtype=start.dtype), method)
