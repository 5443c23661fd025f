"""A VAE with the PixelCNN decoder (model.architecture=pixelcnn) through the generic code paths:
ELBO and IWAE objectives, the importance-sampled log p(x) against numerical integration, save/load."""
import dataclasses
import math
from pathlib import Path

import pytest
import torch
from torch.distributions import Normal

from vaekit import VAE, load
from vaekit.config import ConfigError, ObjectiveConfig, load_config
from vaekit.distributions import PixelCNNBernoulli
from vaekit.evaluate import log_likelihood_estimate
from vaekit.objectives import OBJECTIVES

PRESET = Path(__file__).resolve().parents[2] / "configs" / "mnist_pixelcnn_vae.yaml"


def tiny_model(latent_dim: int = 3) -> VAE:
    return VAE(latent_dim=latent_dim, architecture="pixelcnn", image_shape=(1, 4, 4), conv_channels=(4,),
               hidden=(8,), pixelcnn_channels=4, pixelcnn_layers=2).double()


def binary_images(count: int) -> torch.Tensor:
    return torch.bernoulli(torch.full((count, 1, 4, 4), 0.5, dtype=torch.double))


def test_decode_gives_the_autoregressive_likelihood_with_the_batch_of_codes():
    model = tiny_model()
    likelihood = model.decode(torch.randn(5, 2, 3, dtype=torch.double))
    assert isinstance(likelihood, PixelCNNBernoulli)
    assert likelihood.batch_shape == (5, 2) and likelihood.event_shape == (1, 4, 4)
    assert model.sample(3).sample().shape == (3, 1, 4, 4)


@pytest.mark.parametrize("objective", ["elbo", "iwae"])
def test_objectives_run_and_backpropagate_into_encoder_decoder_and_pixelcnn(objective):
    model = tiny_model()
    loss, terms = OBJECTIVES[objective](model, binary_images(6), ObjectiveConfig(name=objective, num_samples=3))
    assert torch.isfinite(loss) and all(torch.isfinite(value) for value in terms.values())
    loss.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_importance_sampled_log_px_matches_numerical_integration_over_z():
    """log p(x) = log ∫ p(x|z) N(z; 0, 1) dz by the trapezoid rule on [−8, 8], for a 1-D code."""
    model = tiny_model(latent_dim=1)
    with torch.no_grad():
        model.decoder[0].weight.mul_(5.0)                                    # make p(x|z) depend on z
    x = binary_images(4)
    grid = torch.linspace(-8, 8, 2001, dtype=torch.double).view(-1, 1)       # (G, 1)
    log_cell = torch.full((2001,), math.log(16 / 2000), dtype=torch.double)
    log_cell[[0, -1]] -= math.log(2)
    with torch.no_grad():
        log_joint = model.decode(grid).log_prob(x.unsqueeze(1))              # (4, G)
    exact = torch.logsumexp(log_joint + Normal(0.0, 1.0).log_prob(grid).T + log_cell, 1)
    estimate = log_likelihood_estimate(model, x, num_samples=20_000, chunk=5000, batch_size=2)
    torch.testing.assert_close(estimate, exact, atol=0.02, rtol=0)


def test_save_load_round_trips_exactly(tmp_path):
    model, x = tiny_model(), binary_images(5)
    model.save(tmp_path / "model")
    loaded = load(tmp_path / "model")
    assert loaded.config == model.config
    assert model.state_dict().keys() == loaded.state_dict().keys()
    for key, value in model.state_dict().items():
        assert torch.equal(value.to(loaded.state_dict()[key].dtype), loaded.state_dict()[key]), key
    z = torch.randn(2, 5, 3)
    loaded_likelihood = loaded.decode(z)
    torch.testing.assert_close(loaded_likelihood.log_prob(x.float()), model.float().decode(z).log_prob(x.float()))
    torch.manual_seed(7)
    first = model.decode(z).sample()
    torch.manual_seed(7)
    assert torch.equal(loaded_likelihood.sample(), first)


def test_pixelcnn_needs_binary_single_channel_images():
    with pytest.raises(ConfigError, match="pixelcnn models binary single-channel images"):
        VAE(architecture="pixelcnn", likelihood="gaussian", image_shape=(1, 8, 8))
    with pytest.raises(ConfigError, match=r"image_shape \(1, H, W\), got 'bernoulli' and \(3, 8, 8\)"):
        VAE(architecture="pixelcnn", image_shape=(3, 8, 8))


def test_mnist_preset_builds_the_pixelcnn_vae():
    config = load_config(PRESET)
    model = VAE(config.model, image_shape=(1, 28, 28))
    assert config.model.architecture == "pixelcnn" and config.model.latent_dim == 32
    assert model.decode(torch.randn(2, 32)).log_prob(torch.zeros(2, 1, 28, 28)).shape == (2,)


def test_cli_sample_reconstruct_interpolate_work_without_a_mean(tmp_path):
    """The PixelCNN decoder has no closed-form mean: the CLI shows draws instead of failing."""
    from vaekit.cli import main
    from vaekit.config import load_config, save_config
    from vaekit.train.checkpoint import save_checkpoint
    torch.manual_seed(0)
    model = VAE(latent_dim=2, architecture="pixelcnn", conv_channels=(4, 4), hidden=(8,), pixelcnn_channels=4,
                pixelcnn_layers=2, image_shape=(1, 8, 8))
    config = load_config(None, ["data.name=digits", "data.binarize=dynamic", f"run_dir={tmp_path}"])
    save_config(dataclasses.replace(config, model=model.config), tmp_path / "config.yaml")
    save_checkpoint(tmp_path, model, {"epoch": 1, "step": 1})
    for command in (["sample", "-n", "4"], ["reconstruct"], ["interpolate", "--steps", "3"]):
        assert main([command[0], str(tmp_path), *command[1:]]) == 0
    assert {"samples.png", "reconstructions.png", "interpolation.png"} <= {p.name for p in (tmp_path / "report").iterdir()}
