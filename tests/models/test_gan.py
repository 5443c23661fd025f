"""The GAN baseline: its losses against their formulas, two optimizers that each step only their own
network, exact resume, save/load, sampling, and log p(x) under an added Gaussian observation model
against the closed form of a linear generator."""
import importlib
import math

import pytest
import torch
from torch import nn
from torch.distributions import MultivariateNormal

from simulated_ranks import RankOf
from vaekit import Trainer, TrainingError, load
from vaekit.config import ConfigError, EvalConfig, ObjectiveConfig, TrainConfig
from vaekit.evaluate.ais import ais_log_weights
from vaekit.evaluate.estimators import estimate_log_likelihood
from vaekit.evaluate.gan import GaussianObservation, evaluate_gan
from vaekit.models import GAN
from vaekit.objectives import gan as gan_objective
from vaekit.objectives.gan import discriminator_loss, generator_loss
from vaekit.train import load_checkpoint

# test-size settings: a DCGAN with one 4-channel stage on 8×8 images (BatchNorm included), and an MLP GAN
TINY = {"conv": dict(latent_dim=3, architecture="conv", conv_channels=(4,), image_shape=(1, 8, 8)),
        "mlp": dict(latent_dim=3, architecture="mlp", hidden=(16,), image_shape=(1, 8, 8))}
DCGAN_ADAM = dict(lr=2e-4, betas=(0.5, 0.999), discriminator_lr=2e-4, discriminator_betas=(0.5, 0.999))


def tiny(architecture="conv", seed=0) -> GAN:
    torch.manual_seed(seed)
    return GAN(**TINY[architecture])


def images(n=16, seed=1):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def trainer(epochs=1, run_dir=None, **train):
    config = TrainConfig(epochs=epochs, batch_size=8, progress=False, **{**DCGAN_ADAM, **train})
    return Trainer(config, ObjectiveConfig(name="gan"), run_dir=run_dir)


def test_losses_equal_their_formulas_on_hand_made_logits():
    real, fake = [2.0, -1.0, 0.5], [-3.0, 0.0, 1.5]
    real_scores = [1 / (1 + math.exp(-logit)) for logit in real]                         # D(x) = σ(d(x))
    fake_scores = [1 / (1 + math.exp(-logit)) for logit in fake]
    expected_d = -sum(math.log(d) for d in real_scores) / 3 - sum(math.log(1 - d) for d in fake_scores) / 3
    expected_g = -sum(math.log(d) for d in fake_scores) / 3                              # −E log D(g(z))
    real, fake = torch.tensor(real, dtype=torch.double), torch.tensor(fake, dtype=torch.double)
    assert discriminator_loss(real, fake).item() == pytest.approx(expected_d, rel=1e-12)
    assert generator_loss(fake).item() == pytest.approx(expected_g, rel=1e-12)
    # from logits, no log 0: a confident D costs ≈ 0, a fooled one ≈ |logit|
    assert discriminator_loss(torch.tensor([100.0]), torch.tensor([-100.0])).item() == pytest.approx(0, abs=1e-30)
    assert generator_loss(torch.tensor([-100.0])).item() == pytest.approx(100.0)


def test_the_objective_applies_the_losses_to_data_and_to_one_draw_of_g():
    model = tiny().eval()
    x = images(6)
    torch.manual_seed(7)
    losses, terms = gan_objective(model, x)
    torch.manual_seed(7)
    fake = model.generate(model.sample_latents(6))
    fake_logits = model.discriminate(fake)
    torch.testing.assert_close(losses["discriminator"], discriminator_loss(model.discriminate(x), fake_logits))
    torch.testing.assert_close(losses["model"], generator_loss(fake_logits))
    torch.testing.assert_close(terms["fake_score"], torch.sigmoid(fake_logits).mean())


@pytest.mark.parametrize("architecture", TINY)
def test_a_train_step_changes_both_networks_and_an_evaluation_neither(architecture):
    model = tiny(architecture)
    before = {k: v.clone() for k, v in model.named_parameters()}
    trainer().fit(model, images(8))
    for network in ("generator", "discriminator"):
        assert any(not torch.equal(v, before[k]) for k, v in model.named_parameters() if k.startswith(network)), \
            f"training changed no {network} weight"
    after = {k: v.clone() for k, v in model.state_dict().items()}
    trainer().evaluate(model, images(8))
    assert all(torch.equal(v, after[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("frozen, moving", [("generator", "discriminator"), ("discriminator", "generator")])
def test_each_optimizer_steps_only_its_own_network(frozen, moving):
    """With one network's learning rate 0, only the other network's weights move: each loss's
    gradient reaches only its optimizer's parameters."""
    model = tiny()
    groups = model.parameter_groups()
    assert {id(p) for p in groups["model"]}.isdisjoint(id(p) for p in groups["discriminator"])
    assert len(groups["model"]) + len(groups["discriminator"]) == len(list(model.parameters()))
    before = {k: v.clone() for k, v in model.named_parameters()}
    trainer(**{"lr" if frozen == "generator" else "discriminator_lr": 0.0}).fit(model, images(16))
    assert all(torch.equal(v, before[k]) for k, v in model.named_parameters() if k.startswith(frozen))
    assert all(not torch.equal(v, before[k]) for k, v in model.named_parameters() if k.startswith(moving))


def test_checkpoint_holds_both_optimizers_and_resume_is_bit_identical(tmp_path):
    data, valid = images(32), images(8, seed=2)
    trainer(1, tmp_path / "resumed").fit(tiny(), data, valid)
    _, state = load_checkpoint(tmp_path / "resumed")
    for name in ("optimizer", "discriminator_optimizer"):
        assert state[name]["state"], f"the {name}'s Adam moments are checkpointed"
        assert tuple(state[name]["param_groups"][0]["betas"]) == (0.5, 0.999)
    resumed = tiny()
    trainer(3, tmp_path / "resumed").fit(resumed, data, valid, resume=True)
    straight = tiny()
    trainer(3, tmp_path / "straight").fit(straight, data, valid)
    for key, value in straight.state_dict().items():                   # weights and BatchNorm statistics
        assert torch.equal(resumed.state_dict()[key], value), key


@pytest.mark.parametrize("architecture", TINY)
def test_save_load_round_trips_exactly(architecture, tmp_path):
    model = tiny(architecture)
    trainer().fit(model, images(8))                                    # BatchNorm statistics away from init
    model.save(tmp_path / "model")
    loaded = load(tmp_path / "model")
    assert type(loaded) is GAN and loaded.config == model.config and loaded.likelihood is None
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    z = torch.randn(5, 3)
    torch.testing.assert_close(loaded.generate(z), model.eval().generate(z))
    torch.testing.assert_close(loaded.discriminate(images(5)), model.discriminate(images(5)))


@pytest.mark.parametrize("architecture", TINY)
def test_samples_are_images_in_the_unit_interval_reproducible_by_seed(architecture):
    model = tiny(architecture).eval()
    drawn = model.sample(5, generator=torch.Generator().manual_seed(3))
    assert drawn.shape == (5, 1, 8, 8) and drawn.min() >= 0 and drawn.max() <= 1
    assert torch.equal(drawn, model.sample(5, generator=torch.Generator().manual_seed(3)))
    point_mass = model.decode(torch.randn(7, 5, 3))                    # δ_g(z) with (M, B) leading dims
    assert point_mass.batch_shape == (7, 5) and point_mass.event_shape == (1, 8, 8)
    assert torch.equal(point_mass.sample(), point_mass.mean) and point_mass.sample((2,)).shape == (2, 7, 5, 1, 8, 8)
    with pytest.raises(ValueError, match="a gan defines no density"):
        point_mass.log_prob(drawn)


LATENT, PIXELS, STD = 2, 5, 0.3


def linear_gan():
    """A GAN whose generator is g(z) = W z + b, so that with p(x|z) = N(g(z), σ² I) and p(z) = N(0, I)
    the marginal is p(x) = N(x; b, W Wᵀ + σ² I) exactly."""
    model = GAN(latent_dim=LATENT, architecture="mlp", hidden=(4,), image_shape=(1, 1, PIXELS)).double()
    generator = torch.Generator().manual_seed(0)
    linear = nn.Linear(LATENT, PIXELS).double()
    with torch.no_grad():
        linear.weight.copy_(torch.randn(PIXELS, LATENT, generator=generator, dtype=torch.double))
        linear.bias.copy_(0.5 * torch.randn(PIXELS, generator=generator, dtype=torch.double))
    model.generator = nn.Sequential(linear, nn.Unflatten(-1, (1, 1, PIXELS)))
    marginal = MultivariateNormal(linear.bias.detach(), linear.weight.detach() @ linear.weight.detach().T
                                  + STD ** 2 * torch.eye(PIXELS, dtype=torch.double))
    torch.manual_seed(5)
    x = marginal.sample((6,)).view(6, 1, 1, PIXELS)
    return model.eval(), x, marginal.log_prob(x.flatten(1))


def test_ais_under_the_gaussian_observation_model_recovers_the_linear_gaussian_marginal():
    """AIS from p(z) on ``evaluate.gan``'s observation model N(g(z), σ² I) gives log N(x; b, W Wᵀ + σ² I)
    per example within its standard error (delta method on the weights), as in tests/evaluate/test_ais.py."""
    model, x, exact = linear_gan()
    torch.manual_seed(0)
    chains = 64
    log_weights = ais_log_weights(GaussianObservation(model, STD), x, chains, num_steps=300, leapfrog_steps=5)
    estimate = torch.logsumexp(log_weights, 0) - math.log(chains)
    weights = torch.exp(log_weights - log_weights.max(0).values)
    standard_error = weights.std(0) / weights.mean(0) / math.sqrt(chains)
    assert torch.all(standard_error < 0.3)
    assert torch.all((estimate - exact).abs() < 4 * standard_error + 0.02), (estimate, exact)


def test_prior_sampling_under_the_gaussian_observation_model_recovers_it_too():
    """Naive Monte Carlo from p(z) works with the same observation model: in 2 latent dimensions
    200,000 draws suffice (on MNIST its error is far larger than AIS's)."""
    model, x, exact = linear_gan()
    torch.manual_seed(0)
    config = EvalConfig(estimator="prior", importance_samples=200_000, sample_chunk=50_000, gan_noise_std=STD)
    estimate = estimate_log_likelihood(GaussianObservation(model, STD), x, config)["log_px"]
    assert torch.all((estimate - exact).abs() < 0.1), (estimate, exact)


def test_evaluate_reports_the_ais_log_likelihood_with_its_sigma():
    model, x, exact = linear_gan()
    torch.manual_seed(0)
    config = EvalConfig(importance_samples=64, ais_steps=300, ais_leapfrog_steps=5, gan_noise_std=STD)
    report = evaluate_gan(model, x, config, estimator="ais")
    assert report["observation_log_likelihood"] == pytest.approx(float(exact.mean()), abs=0.3)
    assert report["observation_std"] == STD and "σ = 0.3 (σ² = 0.09" in report["likelihood"]
    assert report["estimator"] == "ais" and report["importance_samples"] == 64 and "nll" not in report


def test_without_an_estimator_a_gan_reports_no_likelihood():
    report = evaluate_gan(tiny().eval(), images(6), EvalConfig())
    assert report["likelihood"].startswith("none: a GAN defines no density")
    assert not any("nll" in key or "log_likelihood" in key for key in report)
    assert 0 < report["real_score"] < 1 and 0 < report["fake_score"] < 1 and report["num_examples"] == 6


def test_bad_input_is_refused_in_one_line_naming_the_key_or_command():
    model = tiny().eval()
    with pytest.raises(ConfigError, match="--estimator is: a gan has no encoder"):
        evaluate_gan(model, images(4), EvalConfig(), estimator="is")
    with pytest.raises(ConfigError, match="evaluate.ais_start=posterior needs an encoder"):
        evaluate_gan(model, images(4), EvalConfig(ais_start="posterior"), estimator="ais")
    with pytest.raises(ConfigError, match="evaluate.gan_noise_std .* must be > 0, got 0.0"):
        evaluate_gan(model, images(4), EvalConfig(gan_noise_std=0.0), estimator="ais")
    with pytest.raises(ValueError, match="a gan defines no density"):               # no observation model added
        estimate_log_likelihood(model, images(4), EvalConfig(estimator="prior", importance_samples=2))
    with pytest.raises(ConfigError, match="model.architecture must be conv \\(DCGAN\\) or mlp for a gan, got 'lstm'"):
        GAN(latent_dim=3, architecture="lstm", image_shape=(1, 8, 8))
    with pytest.raises(ConfigError, match="model.likelihood must be none for a gan"):
        GAN(latent_dim=3, likelihood="bernoulli", image_shape=(1, 8, 8))
    with pytest.raises(ValueError, match=r"pixels in \[0, 1\] \(sigmoid\), got range \[0, 255\]"):
        model.check_input(torch.cat([torch.zeros(1, 1, 8, 8), torch.full((1, 1, 8, 8), 255.0)]))
    with pytest.raises(ConfigError, match=r"train.discriminator_betas must be two numbers in \[0, 1\)"):
        trainer(discriminator_betas=(0.5, 1.0))
    with pytest.raises(ValueError, match="a gan has no encoder"):
        model.reconstruct(images(2))


def test_a_non_finite_discriminator_loss_stops_training_at_its_epoch_and_batch(monkeypatch):
    """The 4th discriminator loss (epoch 2, batch 1 with two batches per epoch) is forced to NaN."""
    calls = []

    def failing_on_the_fourth(real_logits, fake_logits):
        calls.append(None)
        loss = discriminator_loss(real_logits, fake_logits)
        return loss * float("nan") if len(calls) == 4 else loss

    monkeypatch.setattr(importlib.import_module("vaekit.objectives.gan"), "discriminator_loss", failing_on_the_fourth)
    with pytest.raises(TrainingError, match=r"^non-finite discriminator loss \(nan\) at epoch 2, batch 1: "):
        trainer(epochs=3).fit(tiny(), images(16))


@pytest.mark.parametrize("estimator", ["ais", "prior"])
def test_ranks_share_the_generators_log_likelihood_and_together_give_one_process_numbers(estimator):
    """Two ranks each estimate every other batch of log p(x) under N(g(z), σ² I); their rows sum to
    one process's, and each reports the same discriminator statistics."""
    model, x = tiny().eval(), images(10)
    config = EvalConfig(importance_samples=12, ais_steps=4, ais_leapfrog_steps=2, batch_size=3)
    alone_rank = RankOf(0, 1)
    torch.manual_seed(5)
    alone = evaluate_gan(model, x, config, estimator=estimator, distributed=alone_rank)
    ranks = [RankOf(rank, 2) for rank in range(2)]
    reports = []
    for rank in ranks:
        torch.manual_seed(5)
        reports.append(evaluate_gan(model, x, config, estimator=estimator, distributed=rank))
    shares = [rank.summed[0] for rank in ranks]                 # log p̂(x) per image: the first all-reduce
    assert torch.equal(shares[0] + shares[1], alone_rank.summed[0])
    assert ((shares[0] != 0).int() + (shares[1] != 0).int()).eq(1).all()       # each row from one rank
    for report in reports:
        for key in ("discriminator_loss", "generator_loss", "real_score", "fake_score"):
            assert report[key] == alone[key], key
