"""Logistic PCA: principal components with a Bernoulli likelihood.

Collins, Dasgupta & Schapire (2001), "A generalization of principal component analysis to the
exponential family"; Schein, Saul & Ungar (2003), "A generalized linear model for principal
component analysis of binary data". Data X (N, D) with entries in [0, 1] are modelled as

    X ≈ σ(Θ),   Θ = 1 bᵀ + A Vᵀ,   A (N, k) scores, V (D, k) loadings, b (D,) bias,

and A, V, b minimise the Bernoulli negative log-likelihood (the cross-entropy, which for grey
values x ∈ [0, 1] is the cross-entropy between Bernoulli(x) and Bernoulli(σ(θ)))

    L(A, V, b) = Σ_{n,d} −x_nd log σ(θ_nd) − (1 − x_nd) log(1 − σ(θ_nd))
               = Σ_{n,d} log(1 + e^{θ_nd}) − x_nd θ_nd,

whose gradient is ∂L/∂Θ = σ(Θ) − X, so ∂L/∂A = (σ(Θ) − X) V, ∂L/∂V = (σ(Θ) − X)ᵀ A,
∂L/∂b = (σ(Θ) − X)ᵀ 1. We take full-batch Adam steps on these gradients, starting from PCA
(A = principal scores, V = 4 × principal directions: σ'(0) = 1/4 makes σ(Θ) ≈ PCA's fit near
σ = 1/2). New data are encoded by minimising L over their scores with V and b fixed (a convex
problem: one logistic regression per row).
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.special import expit
from sklearn.exceptions import NotFittedError
from sklearn.utils.extmath import randomized_svd


class LogisticPCA:
    """``LogisticPCA(n_components=30).fit(X)``; ``inverse_transform(transform(X))`` reconstructs X.

    Attributes after ``fit``: ``components_`` (k, D) = Vᵀ, ``bias_`` (D,) = b, ``loss_curve_`` (the
    cross-entropy per row, L / N, before each of the ``max_iter`` steps), ``n_features_in_``.
    """

    def __init__(self, n_components: int = 2, max_iter: int = 300, lr: float = 0.05,
                 random_state: int | None = None):
        self.n_components, self.max_iter, self.lr, self.random_state = n_components, max_iter, lr, random_state

    def fit(self, X) -> "LogisticPCA":
        self.fit_transform(X)
        return self

    def fit_transform(self, X) -> np.ndarray:
        """Fit A, V, b to X (N, D) and return the scores A (N, k)."""
        self._check_parameters()
        x = self._check_data(X, "fit")
        if not 1 <= self.n_components <= min(x.shape):
            raise ValueError(f"n_components must be between 1 and min(n_samples, n_features) = {min(x.shape)}, "
                             f"got {self.n_components}")
        mean = x.mean(0)
        left, singular, right = randomized_svd((x - mean).numpy(), self.n_components, random_state=self.random_state)
        scores = torch.from_numpy(left * singular).float()                        # (N, k)
        loadings = 4 * torch.from_numpy(right.T.copy()).float()                   # (D, k)
        bias = torch.logit(mean.clamp(1e-3, 1 - 1e-3))                            # (D,)
        self.loss_curve_ = self._descend(x, scores, loadings, bias, fit=True)
        self.components_, self.bias_ = loadings.T.numpy(), bias.numpy()
        self.n_features_in_ = x.shape[1]
        return scores.numpy()

    def transform(self, X) -> np.ndarray:
        """Scores A (N, k) minimising L(A, V, b) for new rows X, with V and b fixed; A starts at 0."""
        self._check_fitted()
        x = self._check_data(X, "transform")
        if x.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {x.shape[1]} features, but LogisticPCA was fitted with {self.n_features_in_}")
        scores = torch.zeros(len(x), self.n_components)
        self._descend(x, scores, torch.from_numpy(self.components_.T.copy()), torch.from_numpy(self.bias_), fit=False)
        return scores.numpy()

    def inverse_transform(self, A) -> np.ndarray:
        """σ(1 bᵀ + A Vᵀ), the Bernoulli means (N, D) in (0, 1)."""
        self._check_fitted()
        scores = np.asarray(A, dtype=np.float32)
        if scores.ndim != 2 or scores.shape[1] != self.n_components:
            raise ValueError(f"expected scores of shape (n_samples, {self.n_components}), got {scores.shape}")
        return expit(self.bias_ + scores @ self.components_)

    # ------------------------------------------------------------------------------
    def _descend(self, x: torch.Tensor, scores: torch.Tensor, loadings: torch.Tensor, bias: torch.Tensor,
                 fit: bool) -> list[float]:
        """``max_iter`` Adam steps on L, in place; with ``fit=False`` only the scores move."""
        parameters = [scores, loadings, bias] if fit else [scores]
        optimizer = torch.optim.Adam(parameters, lr=self.lr)
        losses = []
        for _ in range(self.max_iter):
            logits = torch.addmm(bias, scores, loadings.T)                        # Θ (N, D)
            losses.append(float((torch.nn.functional.softplus(logits) - x * logits).sum()) / len(x))
            residual = torch.sigmoid(logits).sub_(x)                              # ∂L/∂Θ (N, D)
            scores.grad = residual @ loadings
            if fit:
                loadings.grad, bias.grad = residual.T @ scores, residual.sum(0)
            optimizer.step()
        return losses

    def _check_parameters(self) -> None:
        if isinstance(self.n_components, bool) or not isinstance(self.n_components, (int, np.integer)):
            raise ValueError(f"n_components must be an int, got {self.n_components!r}")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, (int, np.integer)) or self.max_iter < 1:
            raise ValueError(f"max_iter must be an int >= 1, got {self.max_iter!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")

    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            raise NotFittedError("this LogisticPCA instance is not fitted yet; call fit(X) first")

    @staticmethod
    def _check_data(X, method: str) -> torch.Tensor:
        array = np.asarray(X, dtype=np.float32)
        if array.ndim != 2 or array.shape[0] == 0:
            raise ValueError(f"{method}: expected a non-empty 2-D array (n_samples, n_features), "
                             f"got shape {array.shape}")
        if not np.isfinite(array).all():
            raise ValueError(f"{method}: X contains NaN or infinite values")
        if array.min() < 0 or array.max() > 1:
            raise ValueError(f"{method}: logistic PCA needs values in [0, 1] (Bernoulli means), "
                             f"got range [{array.min():.4g}, {array.max():.4g}]")
        return torch.from_numpy(array)
