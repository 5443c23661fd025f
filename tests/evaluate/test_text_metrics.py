import math

import pytest
import torch

from simulated_ranks import RankOf

from vaekit.config import EvalConfig
from vaekit.data.text import EOS, PAD
from vaekit.evaluate.text import evaluate_text, perplexity
from vaekit.models import LanguageModel, SentenceVAE

SIZES = dict(architecture="lstm", vocab_size=9, embedding_dim=6, rnn_hidden=8)
X = torch.tensor([[4, 5, 6, EOS, PAD], [7, EOS, PAD, PAD, PAD], [8, 8, 4, 5, EOS], [6, 7, EOS, PAD, PAD],
                  [5, EOS, PAD, PAD, PAD]])          # 4 + 2 + 5 + 3 + 2 = 16 predicted tokens


def test_perplexity_is_the_exponential_of_the_nll_per_token():
    assert perplexity(16 * math.log(9), 16) == pytest.approx(9)
    assert perplexity(0.0, 5) == 1.0


def test_language_model_metrics_are_exact_and_independent_of_order():
    model = LanguageModel(**SIZES).double().eval()
    with torch.no_grad():
        log_px = model.marginal(len(X)).log_prob(X)
    results = evaluate_text(model, X, EvalConfig(batch_size=2))
    assert results["num_examples"] == 5 and results["num_tokens"] == 16
    assert results["nll"] == pytest.approx(float(-log_px.mean()), rel=1e-12)
    assert results["perplexity"] == pytest.approx(math.exp(float(-log_px.sum()) / 16), rel=1e-12)
    shuffled = evaluate_text(model, X[torch.tensor([3, 0, 4, 1, 2])], EvalConfig(batch_size=3))
    assert shuffled["nll"] == pytest.approx(results["nll"], rel=1e-12)
    assert evaluate_text(model, X, EvalConfig(max_examples=2))["num_tokens"] == 6


def test_sentence_vae_metrics_bound_each_other():
    torch.manual_seed(0)
    model = SentenceVAE(**SIZES, latent_dim=2).double().eval()
    results = evaluate_text(model, X, EvalConfig(importance_samples=200, sample_chunk=50, batch_size=2))
    assert results["elbo"] == pytest.approx(-(results["reconstruction"] + results["kl"]), rel=1e-12)
    assert results["importance_samples"] == 200 and len(results["kl_per_dimension"]) == 2
    assert sum(results["kl_per_dimension"]) == pytest.approx(results["kl"], rel=1e-9)
    assert results["nll"] <= -results["elbo"] + 0.5                  # L_k ≥ ELBO, up to sampling noise
    assert results["perplexity"] == pytest.approx(math.exp(results["nll"] * 5 / 16), rel=1e-9)
    assert results["perplexity_elbo"] == pytest.approx(math.exp(-results["elbo"] * 5 / 16), rel=1e-9)
    assert 0 <= results["active_units"] <= 2 and "mutual_information" in results
    assert "nll" not in evaluate_text(model, X, EvalConfig(importance_samples=0))


def test_ranks_share_a_sentence_vaes_nll_with_one_process_numbers():
    """Under torchrun the importance-sampled NLL is split by batches (3 batches of at most 2 sentences
    over 2 ranks: rank 0 takes batches 0 and 2, rank 1 batch 1): the ranks' shares of the mean NLL
    sum to the one process's."""
    torch.manual_seed(0)
    model = SentenceVAE(**SIZES, latent_dim=2).double().eval()
    config = EvalConfig(importance_samples=30, sample_chunk=10, batch_size=2)
    torch.manual_seed(5)
    alone = evaluate_text(model, X, config)
    total = 0.0
    for rank in range(2):
        torch.manual_seed(5)
        share = evaluate_text(model, X, config, distributed=RankOf(rank, 2))
        assert share["elbo"] == alone["elbo"]                       # the one-pass metrics: every rank, same
        total += share["nll"]
    assert total == pytest.approx(alone["nll"], rel=1e-12)
