"""A test per bug that other public VAE libraries shipped (issue 12).

Each test pins one property whose violation has been published in some VAE library: the β-TCVAE
stratified weights, FactorVAE's permutation and its two losses, DIP-VAE's covariance, the IWAE
gradient, and the sentence VAE's word dropout and perplexity. Each test's docstring names, in its
first line, the failure it guards against. Properties already pinned elsewhere are not repeated
here: IWAE with k = 1 equals the ELBO (tests/objectives/test_linear_gaussian.py::
test_iwae_with_one_sample_is_the_elbo), DIP-II adds E[σ²] to the diagonal
(tests/objectives/test_regularizers.py::test_dip_covariances_and_penalties), word dropout is off
in eval() (tests/models/test_sentence_vae.py::test_word_dropout_acts_in_training_only).
"""
import copy
import math
import types

import numpy as np
import pytest
import torch
from torch import nn
from torch.distributions import Independent, Normal

from vaekit import Trainer
from vaekit.config import EvalConfig, ObjectiveConfig, RegularizerConfig, TrainConfig
from vaekit.data.text import BOS, EOS, PAD, UNK
from vaekit.evaluate import log_likelihood_estimate
from vaekit.evaluate.text import evaluate_text
from vaekit.models import VAE, FactorVAE, SentenceVAE
from vaekit.objectives import OBJECTIVES, REGULARIZERS, LatentBatch, iwae_bound
from vaekit.objectives.elbo import regularized_loss
from vaekit.objectives.regularizers import discriminator_loss, stratified_log_weights

TEXT_SIZES = dict(architecture="lstm", vocab_size=9, embedding_dim=6, rnn_hidden=8)
SENTENCES = torch.tensor([[4, 5, 6, EOS, PAD], [7, EOS, PAD, PAD, PAD], [8, 8, 4, 5, EOS], [6, 7, EOS, PAD, PAD],
                          [5, EOS, PAD, PAD, PAD]])          # 4 + 2 + 5 + 3 + 2 = 16 predicted tokens


# -- β-TCVAE: minibatch stratified sampling (Chen et al. 2018, appendix C.1) -----------------------
@pytest.mark.parametrize("batch_size, dataset_size", [(2, 10), (5, 100), (64, 60_000)])
def test_stratified_weights_have_diagonal_one_over_n_and_rows_summing_to_one(batch_size, dataset_size):
    """Guards against a wrong stride that writes 1/N into column 0 instead of the diagonal and a stratum weight in the wrong row."""
    weights = stratified_log_weights(batch_size, dataset_size, torch.zeros((), dtype=torch.float64)).exp()
    torch.testing.assert_close(weights.diagonal(), torch.full((batch_size,), 1 / dataset_size, dtype=torch.float64))
    torch.testing.assert_close(weights.sum(1), torch.ones(batch_size, dtype=torch.float64))


def test_mss_total_correlation_is_zero_when_every_posterior_is_the_same():
    """Guards against stratified weights whose rows do not sum to 1, which leave TC = (D − 1)·log(row sum) ≠ 0 for one shared factorised posterior."""
    generator = torch.Generator().manual_seed(0)
    batch_size, latent_dim = 16, 4
    loc = torch.randn(latent_dim, generator=generator, dtype=torch.float64).expand(batch_size, -1)
    scale = (0.5 + torch.rand(latent_dim, generator=generator, dtype=torch.float64)).expand(batch_size, -1)
    posterior = Independent(Normal(loc, scale), 1)
    batch = LatentBatch(posterior, posterior.sample(), None, 1000, None)
    value = REGULARIZERS["total-correlation"](batch, RegularizerConfig("total-correlation", estimator="mss"))
    assert abs(float(value)) < 1e-10


# -- FactorVAE (Kim & Mnih 2018) ---------------------------------------------------------------------
class RecordingDiscriminator(nn.Module):
    """Two zero logits for every input; keeps the inputs it was given."""

    def __init__(self):
        super().__init__()
        self.inputs = []

    def forward(self, z):
        self.inputs.append(z.detach().clone())
        return z.new_zeros(len(z), 2)


def test_discriminator_sees_each_latent_dimension_permuted_across_examples():
    """Guards against permuting within each example (mixing dimensions) or applying one permutation to every dimension."""
    batch_size, latent_dim = 64, 5
    z = torch.arange(batch_size, dtype=torch.float64).unsqueeze(1) * 10 + torch.arange(latent_dim)  # z[n, d] = 10n + d
    model = types.SimpleNamespace(discriminator=RecordingDiscriminator())
    discriminator_loss(model, z)
    seen, = model.discriminator.inputs
    assert torch.equal(seen[:batch_size], z)                                   # the joint samples, unchanged
    permuted = seen[batch_size:]                                               # the Π_d q(z_d) samples
    rows = (permuted - torch.arange(latent_dim)) / 10                          # example each entry came from
    for d in range(latent_dim):
        assert torch.equal(permuted[:, d].sort().values, z[:, d])              # a permutation of column d itself
    assert not all(torch.equal(rows[:, d], rows[:, 0]) for d in range(1, latent_dim))  # independent permutations
    assert not torch.equal(rows[:, 0], torch.arange(batch_size, dtype=torch.float64))


def test_a_factor_vae_training_step_gives_the_encoder_the_vae_loss_gradient_only():
    """Guards against the discriminator's loss back-propagating into the encoder (one backward of the summed losses)."""
    torch.manual_seed(0)
    fields = dict(latent_dim=3, hidden=(16,), discriminator_hidden=(16, 16), image_shape=(1, 4, 4))
    model = FactorVAE(**fields)
    data = torch.bernoulli(torch.full((32, 1, 4, 4), 0.4), generator=torch.Generator().manual_seed(1))
    objective = ObjectiveConfig(name="factor-vae", regularizers=(
        RegularizerConfig("total-correlation", weight=10.0, estimator="discriminator"),))
    trainer = Trainer(TrainConfig(epochs=1, batch_size=32, progress=False, discriminator_lr=1e-2), objective)
    calls = []

    def recorded(model, x, config, **kwargs):
        calls.append((copy.deepcopy(model.state_dict()), x.clone(), config, kwargs, torch.get_rng_state()))
        return OBJECTIVES["factor-vae"](model, x, config, **kwargs)

    trainer.objective = recorded
    trainer.fit(model, data)                                   # one batch: one step of each optimizer
    (state, x, config, kwargs, rng), = calls
    before = FactorVAE(**fields)
    before.load_state_dict(state)
    torch.set_rng_state(rng)
    vae_loss, _, _ = regularized_loss(before, x, config, **kwargs)            # −ELBO + γ·TC, as the objective draws it
    expected = torch.autograd.grad(vae_loss, list(before.encoder.parameters()))
    for parameter, gradient in zip(model.encoder.parameters(), expected):
        torch.testing.assert_close(parameter.grad, gradient)
    assert not torch.equal(model.discriminator[0].weight, before.discriminator[0].weight)   # D was stepped too


def test_discriminator_total_correlation_is_positive_for_perfectly_correlated_codes():
    """Guards against the TC estimate's logit order disagreeing with the discriminator's labels (a negative TC, rewarded by the loss)."""
    torch.manual_seed(0)
    model = FactorVAE(latent_dim=2, hidden=(8,), discriminator_hidden=(32, 32), image_shape=(1, 4, 4))
    optimizer = torch.optim.Adam(model.discriminator.parameters(), lr=3e-3)

    def correlated(n):                                          # z_2 = z_1: TC = ∞
        return torch.randn(n, 1).expand(-1, 2).contiguous()

    for _ in range(200):
        optimizer.zero_grad()
        discriminator_loss(model, correlated(256)).backward()
        optimizer.step()
    config = RegularizerConfig("total-correlation", estimator="discriminator")

    def estimate(z):
        posterior = Independent(Normal(z, torch.ones_like(z)), 1)
        with torch.no_grad():
            return float(REGULARIZERS["total-correlation"](LatentBatch(posterior, z, None, 1000, model), config))

    assert estimate(correlated(1000)) > 1.0
    assert estimate(torch.randn(1000, 2)) < estimate(correlated(1000)) - 1.0     # independent z: lower


# -- DIP-VAE (Kumar et al. 2018) -------------------------------------------------------------------
def test_dip_penalty_is_that_of_the_biased_covariance_and_ignores_shift_and_duplication():
    """Guards against an uncentred E[μμᵀ] or an N − 1 normalisation in Cov[μ(x)] of DIP-VAE's penalty."""
    generator = torch.Generator().manual_seed(2)
    means = torch.randn(50, 3, generator=generator, dtype=torch.float64) @ torch.tensor(
        [[1.0, 0.6, 0.0], [0.0, 0.8, 0.3], [0.0, 0.0, 0.5]], dtype=torch.float64)
    config = RegularizerConfig("dip-i", diagonal_weight=10.0)

    def penalty(mu):
        return float(REGULARIZERS["dip-i"](LatentBatch(Independent(Normal(mu, torch.ones_like(mu)), 1), mu, None,
                                                       len(mu), None), config))

    covariance = np.cov(means.numpy(), rowvar=False, bias=True)
    off_diagonal = (covariance ** 2).sum() - (np.diagonal(covariance) ** 2).sum()
    expected = off_diagonal + 10.0 * ((np.diagonal(covariance) - 1) ** 2).sum()
    assert penalty(means) == pytest.approx(expected, rel=1e-12)
    assert penalty(means + torch.tensor([5.0, -3.0, 2.0], dtype=torch.float64)) == pytest.approx(expected, rel=1e-9)
    assert penalty(torch.cat([means, means])) == pytest.approx(expected, rel=1e-12)


# -- IWAE (Burda et al. 2016) ----------------------------------------------------------------------
def tiny_vae_and_data():
    torch.manual_seed(0)
    model = VAE(latent_dim=2, hidden=(8,), image_shape=(1, 4, 4)).double()
    x = torch.bernoulli(torch.full((6, 1, 4, 4), 0.4, dtype=torch.float64), generator=torch.Generator().manual_seed(3))
    return model, x


def log_weights_by_hand(model, x, posterior, z):
    """log w_i = log p(x|z_i) + log N(z_i; 0, I) − log q(z_i|x) for z (K, B, D), nothing detached: (K, B)."""
    return model.decode(z).log_prob(x) + Normal(0.0, 1.0).log_prob(z).sum(-1) - posterior.log_prob(z)


def test_iwae_loss_gradient_is_that_of_minus_log_mean_exp_of_the_log_weights():
    """Guards against an IWAE surrogate Σ w̃_i log w_i whose normalised weights w̃ are not detached (an extra Σ log w_i ∇w̃_i)."""
    model, x = tiny_vae_and_data()
    parameters = list(model.parameters())
    torch.manual_seed(4)
    loss, _ = OBJECTIVES["iwae"](model, x, ObjectiveConfig(name="iwae", num_samples=5))
    ours = torch.autograd.grad(loss, parameters)
    torch.manual_seed(4)
    posterior = model.encode(x)
    log_weights = log_weights_by_hand(model, x, posterior, posterior.rsample((5,)))
    reference = torch.autograd.grad(-torch.log(torch.exp(log_weights).mean(0)).mean(), parameters, retain_graph=True)
    normalized = torch.softmax(log_weights, 0)
    burda = torch.autograd.grad(-(normalized.detach() * log_weights).sum(0).mean(), parameters, retain_graph=True)
    undetached = torch.autograd.grad(-(normalized * log_weights).sum(0).mean(), parameters)
    for mine, exact, surrogate in zip(ours, reference, burda):
        torch.testing.assert_close(mine, exact)
        torch.testing.assert_close(surrogate, exact)                  # Burda et al. eq. 14
    assert any((wrong - exact).abs().max() > 1e-4 for wrong, exact in zip(undetached, reference))


def test_standard_iwae_gradient_keeps_the_score_term_of_the_importance_weights():
    """Guards against the plain IWAE estimator detaching the importance weights or log q (silently turning it into STL or worse)."""
    model, x = tiny_vae_and_data()
    encoder = list(model.encoder.parameters())
    gradients = {}
    for gradient in ("standard", "stl"):
        torch.manual_seed(5)
        gradients[gradient] = torch.autograd.grad(-iwae_bound(model, x, 5, gradient).mean(), encoder)
    torch.manual_seed(5)
    posterior = model.encode(x)
    z = posterior.rsample((5,)).detach()
    with torch.no_grad():
        normalized = torch.softmax(log_weights_by_hand(model, x, posterior, z), 0)   # w̃_i, (K, B)
    # ∇_φ(−L_k) standard − STL = Σ_i w̃_i ∂_φ log q_φ(z_i|x) at fixed z_i: the score term
    score = torch.autograd.grad((normalized * posterior.log_prob(z)).sum(0).mean(), encoder)
    for standard, stl, term in zip(gradients["standard"], gradients["stl"], score):
        torch.testing.assert_close(standard - stl, term)
    assert max(float(term.abs().max()) for term in score) > 1e-3


# -- Sentence VAE (Bowman et al. 2016) -------------------------------------------------------------
def test_word_dropout_replaces_input_words_by_unk_and_scores_the_original_words():
    """Guards against word dropout that zeroes embeddings instead of whole words, hits <bos>/<pad>, or corrupts the targets."""
    torch.manual_seed(6)
    model = SentenceVAE(**TEXT_SIZES, latent_dim=3, word_dropout=0.5).double()
    x, z = SENTENCES.clone(), torch.randn(len(SENTENCES), 3, dtype=torch.float64)
    clean = torch.cat([torch.full_like(x[:, :1], BOS), x[:, :-1]], 1)        # <bos>, x_1, ..., x_{T−1}
    seen = []
    hook = model.decoder.embedding.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].clone()))
    try:
        model.train()
        log_px = model.decode(z).log_prob(x)
        dropped = seen[-1]
        model.eval()
        model.decode(z).log_prob(x)
        assert torch.equal(seen[-1], clean)                                    # eval(): no word dropout
        # the dropped inputs, teacher-forced, must predict the original words x_t
        logits = model.decoder.logits(model.decoder(z, dropped))               # (B, T, V)
    finally:
        hook.remove()
    assert torch.equal(x, SENTENCES)                                           # the batch is not edited in place
    changed = dropped != clean
    assert changed.any() and (dropped[changed] == UNK).all()                   # whole words become <unk>
    assert not changed[(clean == BOS) | (clean == PAD)].any()
    mask = x != PAD
    per_token = torch.log_softmax(logits, -1).gather(-1, x.unsqueeze(-1)).squeeze(-1)   # (B, T); −∞ at <pad>
    expected = torch.where(mask, per_token, 0.0).sum(1)
    torch.testing.assert_close(log_px, expected)


def test_sentence_vae_perplexity_comes_from_the_importance_sampled_nll_not_the_elbo():
    """Guards against reporting a sentence VAE's perplexity from −ELBO (an upper bound) as if it were −log p(x)."""
    torch.manual_seed(7)
    model = SentenceVAE(**TEXT_SIZES, latent_dim=2).double().eval()
    with torch.no_grad():                   # q(z|x) = N(0, 9 I) for every x: KL(q || p) = 5.8 nats, so −ELBO ≫ −log p(x)
        model.encoder.output.weight.zero_()
        model.encoder.output.bias.copy_(torch.tensor([0.0, 0.0, math.log(9.0), math.log(9.0)]))
    results = evaluate_text(model, SENTENCES, EvalConfig(importance_samples=500, sample_chunk=250, batch_size=5))
    reference = -float(log_likelihood_estimate(model, SENTENCES, num_samples=2000, chunk=1000).mean())
    assert results["nll"] == pytest.approx(reference, abs=0.2)
    assert results["nll"] < -results["elbo"] - 3.0
    assert results["perplexity"] == pytest.approx(math.exp(results["nll"] * len(SENTENCES) / 16), rel=1e-9)
    assert results["perplexity"] < results["perplexity_elbo"]
