"""RealNVP against its mathematics: invertibility, log-determinants, normalisation, the dequantized
bound; and as a vaekit model: training, save/load, exact resume, bad input."""
import math

import numpy as np
import pytest
import torch

from vaekit import Trainer, load
from vaekit.config import ConfigError, ModelConfig, ObjectiveConfig, TrainConfig
from vaekit.evaluate import evaluate_model
from vaekit.models import VAE, RealNVP
from vaekit.models.flow_model import ALPHA, logit_transform
from vaekit.nn.coupling import squeeze, unsqueeze
from vaekit.train import TrainingError

TINY_CONV = dict(architecture="conv", hidden=(8, 8), flow_length=2, flow_scales=2, image_shape=(1, 4, 4))
TINY_2D = dict(architecture="mlp", hidden=(16,), flow_length=4, flow_scales=0, image_shape=(1, 1, 2))


def randomized(model: RealNVP, std: float = 0.3, seed: int = 0) -> RealNVP:
    """Random weights everywhere (a fresh flow is the identity: its last layers start at zero)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * std)
    return model.double()


def eight_bit(shape, seed=0) -> torch.Tensor:
    return torch.randint(0, 256, shape, generator=torch.Generator().manual_seed(seed)).float() / 255


def test_squeeze_is_a_permutation_and_unsqueeze_its_inverse():
    x = torch.arange(2 * 4 * 6, dtype=torch.float32).view(1, 2, 4, 6)
    squeezed = squeeze(x)
    assert squeezed.shape == (1, 8, 2, 3)
    assert torch.equal(squeezed.flatten().sort().values, x.flatten())
    assert torch.equal(squeezed[0, :4, 0, 0], torch.tensor([0.0, 1.0, 6.0, 7.0]))   # one 2×2 block
    assert torch.equal(unsqueeze(squeezed), x)


@pytest.mark.parametrize("fields", [TINY_CONV, TINY_2D, dict(TINY_CONV, architecture="mlp", hidden=(12,)),
                                    dict(TINY_CONV, flow_scales=1, image_shape=(3, 4, 6))],
                         ids=["conv-2-scales", "mlp-2d", "mlp-2-scales", "conv-rgb-nonsquare"])
def test_forward_then_inverse_is_the_identity(fields):
    model = randomized(RealNVP(**fields))
    v = torch.randn(5, *model.image_shape, dtype=torch.float64) * 2
    z, _ = model.flow(v)
    assert z.shape == (5, model.num_pixels)
    torch.testing.assert_close(model.inverse(z), v, atol=1e-10, rtol=0)
    torch.testing.assert_close(model.flow(model.inverse(z))[0], z, atol=1e-10, rtol=0)


@pytest.mark.parametrize("fields", [TINY_CONV, dict(TINY_CONV, architecture="mlp", hidden=(12,))],
                         ids=["conv", "mlp"])
def test_log_determinant_matches_the_autograd_jacobian(fields):
    """log |det ∂z/∂y| of logit transform + couplings + squeezes = slogdet of the full D×D Jacobian."""
    model = randomized(RealNVP(**fields))
    shape = model.image_shape
    y = torch.rand(1, *shape, dtype=torch.float64)

    def to_latent(flat_y):
        v, _ = logit_transform(flat_y.view(1, *shape))
        return model.flow(v)[0][0]

    jacobian = torch.autograd.functional.jacobian(to_latent, y.flatten())         # (D, D)
    sign, log_abs_det = torch.linalg.slogdet(jacobian)
    assert sign != 0
    v, log_det_logit = logit_transform(y)
    z, log_det_flow = model.flow(v)
    torch.testing.assert_close(log_det_logit + log_det_flow, log_abs_det.view(1), atol=1e-9, rtol=0)
    expected = -0.5 * (z ** 2).sum() - 0.5 * model.num_pixels * math.log(2 * math.pi) + log_abs_det
    torch.testing.assert_close(model.log_density(y), expected.view(1), atol=1e-9, rtol=0)


def test_the_density_of_a_2d_flow_integrates_to_one_by_quadrature():
    """∫ p(y) dy = 1 over its support (−α/(1−2α), (1−α)/(1−2α))², by the trapezoid rule on a grid graded
    toward the edges (y = low + (high − low)·σ(t), t uniform), where p(y) has narrow peaks."""
    model = randomized(RealNVP(**TINY_2D), std=0.5)
    low, high = -ALPHA / (1 - 2 * ALPHA), (1 - ALPHA) / (1 - 2 * ALPHA)
    grid = low + (high - low) * torch.sigmoid(torch.linspace(-30, 30, 801, dtype=torch.float64))
    y1, y2 = torch.meshgrid(grid, grid, indexing="ij")
    with torch.no_grad():
        density = model.log_density(torch.stack([y1, y2], -1).view(-1, 1, 1, 2)).exp().view(len(grid), len(grid))
    total = torch.trapezoid(torch.trapezoid(density, grid, dim=1), grid)
    assert abs(float(total) - 1) < 1e-3, float(total)
    inside = (grid >= 0) & (grid < 1)                                # the data's box holds less than all of it
    assert float(torch.trapezoid(torch.trapezoid(density[inside][:, inside], grid[inside], dim=1), grid[inside])) < 1


def test_the_dequantized_bound_equals_its_formula_on_a_hand_made_case():
    """A fresh flow is the identity, so log p(y) = Σ_i log N(v_i) + log(1−2α) − log p_i − log(1−p_i)."""
    model = RealNVP(**dict(TINY_CONV, image_shape=(1, 2, 2), flow_scales=1)).double()
    k = [0, 7, 128, 255]
    x = torch.tensor(k, dtype=torch.float64).view(1, 1, 2, 2) / 255
    u = torch.rand((1, 1, 2, 2), generator=torch.Generator().manual_seed(3), dtype=torch.float64).flatten().tolist()
    expected = 0.0
    for k_i, u_i in zip(k, u):
        p = ALPHA + (1 - 2 * ALPHA) * (k_i + u_i) / 256
        v = math.log(p / (1 - p))
        expected += -0.5 * v * v - 0.5 * math.log(2 * math.pi) + math.log(1 - 2 * ALPHA) - math.log(p * (1 - p))
    expected -= 4 * math.log(256)
    got = model.log_prob(x, generator=torch.Generator().manual_seed(3))
    assert got.shape == (1,) and abs(float(got.detach()) - expected) < 1e-10


def test_the_dequantized_log_prob_bounds_the_bin_probability_and_is_close_to_it():
    """E_u[log p((k+u)/256)] − D log 256 ≤ log P(k), P(k) = ∫_bin p(y) dy by quadrature; for D = 2 the
    Jensen gap is small because p barely varies across a 1/256-wide bin."""
    model = randomized(RealNVP(**TINY_2D), std=0.5)
    for k in ([3, 200], [128, 17], [0, 255]):
        edges = [torch.linspace(k_i / 256, (k_i + 1) / 256, 41, dtype=torch.float64) for k_i in k]
        y1, y2 = torch.meshgrid(*edges, indexing="ij")
        with torch.no_grad():
            density = model.log_density(torch.stack([y1, y2], -1).view(-1, 1, 1, 2)).exp().view(41, 41)
        log_bin_probability = math.log(float(torch.trapezoid(torch.trapezoid(density, edges[1], dim=1), edges[0])))
        x = torch.tensor(k, dtype=torch.float64).view(1, 1, 1, 2).expand(4000, 1, 1, 2) / 255
        with torch.no_grad():
            bound = float(model.log_prob(x, generator=torch.Generator().manual_seed(0)).mean())
        assert bound <= log_bin_probability + 1e-4 and bound > log_bin_probability - 0.05, (k, bound, log_bin_probability)


def test_samples_are_8bit_images():
    model = randomized(RealNVP(**TINY_CONV)).float()
    images = model.sample(7, generator=torch.Generator().manual_seed(1))
    assert images.shape == (7, 1, 4, 4) and images.min() >= 0 and images.max() <= 1
    torch.testing.assert_close(images * 255, torch.round(images * 255))
    assert torch.equal(images, model.sample(7, generator=torch.Generator().manual_seed(1)))


def patterns(num: int = 96, side: int = 8, seed: int = 0) -> torch.Tensor:
    """8-bit images: bright bars on a dark background with noise, (num, 1, side, side)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((num, side, side))
    for image, column in zip(images, rng.integers(1, side - 1, num)):
        image[:, column] = 0.9
    noisy = np.clip(np.round((images + 0.05 * rng.random(images.shape)) * 255), 0, 255) / 255
    return torch.tensor(noisy, dtype=torch.float32).unsqueeze(1)


def quick_model() -> RealNVP:
    return RealNVP(**dict(TINY_CONV, image_shape=(1, 8, 8)))


def test_a_few_training_steps_lower_the_loss():
    torch.manual_seed(0)
    model, data = quick_model(), patterns(32)
    trainer = Trainer(TrainConfig(epochs=3, batch_size=8, lr=3e-3, progress=False), ObjectiveConfig(name="flow-nll"))
    history = trainer.fit(model, data)
    first, last = history.epochs[0]["train_nll"], history.epochs[-1]["train_nll"]
    assert last < first - 10, (first, last)
    assert history.epochs[-1]["train_bits_per_dim"] == pytest.approx(last / (64 * math.log(2)))


def test_save_load_round_trips_exactly(tmp_path):
    model = randomized(RealNVP(**TINY_CONV)).float()
    model.save(tmp_path / "model")
    loaded = load(tmp_path / "model")
    assert type(loaded) is RealNVP and loaded.config == model.config
    assert loaded.state_dict().keys() == model.state_dict().keys()
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    x = eight_bit((3, 1, 4, 4))
    assert torch.equal(loaded.log_prob(x, torch.Generator().manual_seed(2)),
                       model.eval().log_prob(x, torch.Generator().manual_seed(2)))


def test_resume_continues_exactly(tmp_path):
    data, config = patterns(48), TrainConfig(epochs=2, batch_size=16, progress=False, seed=3)
    objective = ObjectiveConfig(name="flow-nll")
    torch.manual_seed(0)
    reference = quick_model()
    Trainer(config, objective, run_dir=tmp_path / "reference").fit(reference, data, data[:16])
    torch.manual_seed(0)
    Trainer(TrainConfig(epochs=1, batch_size=16, progress=False, seed=3), objective,
            run_dir=tmp_path / "resumed").fit(quick_model(), data, data[:16])
    resumed = quick_model()
    Trainer(config, objective, run_dir=tmp_path / "resumed").fit(resumed, data, data[:16], resume=True)
    for key, value in reference.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def test_evaluate_reports_the_exact_likelihood_in_bits_per_dim():
    model, data = quick_model(), patterns(30)
    torch.manual_seed(5)
    metrics = evaluate_model(model, data)
    torch.manual_seed(5)
    with torch.no_grad():
        expected = -model.log_prob(data).mean()
    assert metrics["estimator"] == "exact" and "not an importance-sampled bound" in metrics["note"]
    assert metrics["num_examples"] == 30 and metrics["nll"] == pytest.approx(float(expected), rel=1e-6)
    assert metrics["bits_per_dim"] == pytest.approx(metrics["nll"] / (64 * math.log(2)))


def test_bad_input_says_what_was_expected_and_given():
    model = quick_model()
    with pytest.raises(ValueError, match=r"8-bit pixels k/255 in \[0, 1\], got range \[0, 255\]"):
        model.check_input(torch.cat([torch.zeros(1, 1, 8, 8), torch.full((1, 1, 8, 8), 255.0)]))
    with pytest.raises(ValueError, match=r"expected shape \(B, 1, 8, 8\) or \(B, 64\), got \(2, 1, 28, 28\)"):
        model.check_input(torch.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match="k = 0, …, 255\\), got 0.3"):
        model.check_input(torch.full((2, 64), 0.3))
    assert model.check_input(torch.full((2, 64), 77 / 255)).shape == (2, 1, 8, 8)
    with pytest.raises(ValueError, match="training data: a realnvp models 8-bit pixels"):
        Trainer(TrainConfig(epochs=1, progress=False), ObjectiveConfig(name="flow-nll")).fit(model, torch.rand(4, 64))


@pytest.mark.parametrize("fields, message", [
    (dict(architecture="pixelcnn"), "model.architecture of a realnvp must be one of conv, mlp, got 'pixelcnn'"),
    (dict(flow_scales=3), r"model.flow_scales=3 .* divisible by 8"),
    (dict(flow_length=0), "model.flow_length >= 1"),
    (dict(hidden=()), "model.hidden of positive widths"),
])
def test_config_errors_name_the_key(fields, message):
    with pytest.raises(ConfigError, match=message):
        RealNVP(**dict(TINY_CONV, image_shape=(1, 28, 28), **fields))


def test_objectives_must_suit_the_model():
    with pytest.raises(ConfigError, match=r"a realnvp trains with objective.name in \('flow-nll',\), got 'elbo'"):
        Trainer(TrainConfig(epochs=1, progress=False), ObjectiveConfig(name="elbo")).fit(quick_model(), patterns(4))
    with pytest.raises(ConfigError, match="a vae trains with objective.name in .*, got 'flow-nll'"):
        Trainer(TrainConfig(epochs=1, progress=False), ObjectiveConfig(name="flow-nll")).fit(
            VAE(ModelConfig(latent_dim=2, hidden=(8,), image_shape=(1, 8, 8))), torch.ones(4, 1, 8, 8))
    with pytest.raises(ConfigError, match="objective.beta acts on q\\(z\\|x\\) and p\\(z\\); a realnvp has neither"):
        Trainer(TrainConfig(epochs=1, progress=False), ObjectiveConfig(name="flow-nll", beta=4.0)).fit(
            quick_model(), patterns(4))


def test_a_non_finite_loss_stops_with_epoch_and_batch():
    model = quick_model()
    with torch.no_grad():
        model.final[0].scale.fill_(float("nan"))
    with pytest.raises(TrainingError, match="non-finite loss \\(nan\\) at epoch 1, batch 0"):
        Trainer(TrainConfig(epochs=1, batch_size=8, progress=False), ObjectiveConfig(name="flow-nll")).fit(
            model, patterns(16))
