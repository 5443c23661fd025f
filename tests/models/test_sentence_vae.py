"""Sentence VAE and LSTM language model: the generic objectives, persistence, input checks, training."""
import math

import pytest
import torch

from vaekit import Trainer, load
from vaekit.config import ConfigError, ObjectiveConfig, TrainConfig
from vaekit.data.text import BOS, EOS, PAD
from vaekit.evaluate import log_likelihood_estimate
from vaekit.models import MODELS, LanguageModel, SentenceVAE
from vaekit.objectives import OBJECTIVES

SIZES = dict(architecture="lstm", vocab_size=9, embedding_dim=6, rnn_hidden=8)
# token models (their checks are here, not in test_models.py's image table) and their objectives
TEXT_CASES = {"sentence-vae": (SentenceVAE, dict(SIZES, latent_dim=3), ("elbo", "iwae")),
              "language-model": (LanguageModel, dict(SIZES), ("language-model",))}


def sentences():
    return torch.tensor([[4, 5, 6, EOS, PAD], [7, EOS, PAD, PAD, PAD], [8, 8, 4, 5, EOS], [6, 7, EOS, PAD, PAD]])


def corpus(size=96, seed=0):
    """Two kinds of sentences: 4 5 ... 5 <eos> and 6 7 ... 7 <eos>, of 1 to 5 words."""
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.zeros(size, 6, dtype=torch.int64)
    for i in range(size):
        first, rest = (4, 5) if i % 2 else (6, 7)
        length = int(torch.randint(1, 6, (1,), generator=generator))
        tokens[i, :length] = torch.tensor([first] + [rest] * (length - 1))
        tokens[i, length] = EOS
    return tokens


def test_the_table_holds_every_token_model():
    assert {name for name in MODELS.names() if MODELS[name].input_kind == "tokens"} == set(TEXT_CASES)
    for kind, (cls, fields, objectives) in TEXT_CASES.items():
        assert cls.kind == kind and cls.objectives == objectives and cls(**fields).num_pixels == 1


@pytest.mark.parametrize("kind", TEXT_CASES)
def test_save_load_round_trips_exactly(kind, tmp_path):
    cls, fields, _ = TEXT_CASES[kind]
    model = cls(**fields, word_dropout=0.2, embedding_dropout=0.1).eval()
    model.save(tmp_path / "model")
    loaded = load(tmp_path / "model")
    assert type(loaded) is cls and loaded.config == model.config and loaded.config.vocab_size == 9
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    x = sentences()
    z = torch.randn(len(x), model.config.latent_dim)
    torch.testing.assert_close(loaded.decode(z).log_prob(x), model.decode(z).log_prob(x))


def test_the_generic_elbo_and_iwae_objectives_run_unchanged():
    model = SentenceVAE(**TEXT_CASES["sentence-vae"][1])
    x = sentences()
    loss, terms = OBJECTIVES["elbo"](model, x, ObjectiveConfig(num_samples=3))
    assert terms["kl"] > 0 and terms["reconstruction"] > 0
    torch.testing.assert_close(terms["elbo"], -(terms["reconstruction"] + terms["kl"]))
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    _, terms = OBJECTIVES["iwae"](model, x, ObjectiveConfig(name="iwae", num_samples=4))
    assert torch.isfinite(terms["iwae_bound"])


def test_language_model_objective_is_the_mean_sum_of_token_nlls():
    model = LanguageModel(**TEXT_CASES["language-model"][1]).eval()
    assert model.config.latent_dim == 0
    x = sentences()
    loss, terms = OBJECTIVES["language-model"](model, x, ObjectiveConfig(name="language-model"))
    totals = []
    with torch.no_grad():
        for row in x.tolist():                       # one sentence at a time, one token at a time
            state, previous, total = None, BOS, 0.0
            for token in row[:row.index(EOS) + 1]:
                logits, state = model.decoder.step(torch.zeros(1, 0), torch.tensor([previous]), state)
                total -= torch.log_softmax(logits[0], 0)[token].item()
                previous = token
            totals.append(total)
    assert loss.item() == pytest.approx(sum(totals) / len(totals), rel=1e-5)
    assert terms["nll"].item() == pytest.approx(loss.item())


def test_importance_sampled_log_likelihood_matches_quadrature_for_a_one_dimensional_latent():
    """log p(x) = log ∫ p(x|z) N(z; 0, 1) dz by the trapezoid rule on [−10, 10]."""
    torch.manual_seed(1)
    model = SentenceVAE(**dict(SIZES, latent_dim=1)).double().eval()
    x = sentences()
    grid = torch.linspace(-10, 10, 4001, dtype=torch.float64)
    with torch.no_grad():
        log_joint = model.decode(grid.view(-1, 1, 1)).log_prob(x) + model.prior().log_prob(grid.view(-1, 1, 1))
    exact = torch.logsumexp(log_joint, 0) + math.log(grid[1] - grid[0])      # (B,)
    estimate = log_likelihood_estimate(model, x, num_samples=4000, chunk=1000, batch_size=2)
    assert estimate.dtype == torch.float64 and estimate.shape == (4,)
    torch.testing.assert_close(estimate, exact, rtol=0, atol=0.03)     # ~5 standard errors of the estimate


def test_word_dropout_acts_in_training_only():
    model = SentenceVAE(**dict(TEXT_CASES["sentence-vae"][1], word_dropout=0.5))
    x, z = sentences(), torch.randn(4, 3)
    with torch.no_grad():
        model.eval()
        assert torch.equal(model.decode(z).log_prob(x), model.decode(z).log_prob(x))
        model.train()
        draws = torch.stack([model.decode(z).log_prob(x) for _ in range(5)])
    assert (draws.std(0) > 0).any()


def test_input_and_config_errors_say_what_is_wrong():
    model = SentenceVAE(**TEXT_CASES["sentence-vae"][1])
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 9\)"):
        model.check_input(torch.tensor([[4, 12, EOS]]))
    with pytest.raises(ValueError, match="expected int64 token ids of shape"):
        model.check_input(torch.rand(2, 5))
    with pytest.raises(ConfigError, match="needs model.architecture=lstm, got 'mlp'"):
        SentenceVAE(**dict(SIZES, architecture="mlp"))
    with pytest.raises(ConfigError, match="model.vocab_size must exceed the 4 special tokens, got 0"):
        LanguageModel(**dict(SIZES, vocab_size=0))
    with pytest.raises(ConfigError, match="latent_dim ≥ 1"):
        SentenceVAE(**dict(SIZES, latent_dim=0))


def test_samples_and_greedy_decodings_from_the_prior():
    model = SentenceVAE(**TEXT_CASES["sentence-vae"][1]).eval()
    likelihood = model.sample(6, generator=torch.Generator().manual_seed(0))
    assert likelihood.batch_shape == (6,)
    for tokens in (likelihood.sample(), likelihood.greedy()):
        assert tokens.shape[0] == 6 and tokens.dtype == torch.int64 and not (tokens == BOS).any()
    assert LanguageModel(**TEXT_CASES["language-model"][1]).sample(3).sample().shape[0] == 3


@pytest.mark.parametrize("kind", TEXT_CASES)
def test_a_few_epochs_of_training_lower_the_loss(kind):
    cls, fields, objectives = TEXT_CASES[kind]
    torch.manual_seed(0)
    model = cls(**dict(fields, embedding_dim=8, rnn_hidden=16))
    trainer = Trainer(TrainConfig(epochs=4, batch_size=16, lr=1e-2, progress=False), ObjectiveConfig(name=objectives[0]))
    history = trainer.fit(model, corpus(), corpus(32, seed=1))
    key = "valid_nll" if kind == "language-model" else "valid_elbo"
    first, last = history.epochs[0][key], history.epochs[-1][key]
    assert (last < first) if kind == "language-model" else (last > first)
    if kind == "sentence-vae":   # the Trainer's collapse diagnostics run on token data too
        assert "valid_active_units" in history.epochs[-1]
