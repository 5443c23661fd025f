"""One table of model configurations driving the generic checks every model must pass."""
import json
import pytest
import torch

from vaekit import MODELS, VAE, Autoencoder, Trainer, load
from vaekit.config import ObjectiveConfig, RegularizerConfig, TrainConfig
from vaekit.models import FactorVAE
from vaekit.models.hierarchical_vae import HierarchicalVAE
from vaekit.objectives import OBJECTIVES

CASES = {
    "vae-mlp-bernoulli": (VAE, dict(latent_dim=3, hidden=(16,), image_shape=(1, 8, 8)), "elbo"),
    "vae-mlp-iwae": (VAE, dict(latent_dim=3, hidden=(16, 8), activation="tanh", image_shape=(1, 8, 8)), "iwae"),
    "vae-gaussian": (VAE, dict(latent_dim=2, hidden=(16,), likelihood="gaussian", image_shape=(1, 8, 8)), "elbo"),
    "vae-gaussian-learned": (VAE, dict(latent_dim=2, hidden=(16,), likelihood="gaussian-learned",
                                       image_shape=(1, 8, 8)), "elbo"),
    "vae-continuous-bernoulli": (VAE, dict(latent_dim=2, likelihood="continuous-bernoulli",
                                           image_shape=(1, 8, 8)), "elbo"),
    "vae-discretized-logistic": (VAE, dict(latent_dim=2, hidden=(16,), likelihood="discretized-logistic",
                                           image_shape=(1, 8, 8)), "elbo"),
    "vae-conv-discretized-logistic": (VAE, dict(latent_dim=4, architecture="conv", hidden=(32,), conv_channels=(4, 8),
                                                likelihood="discretized-logistic", image_shape=(1, 28, 28)), "iwae"),
    "vae-conv-28": (VAE, dict(latent_dim=4, architecture="conv", hidden=(32,), conv_channels=(4, 8),
                              image_shape=(1, 28, 28)), "elbo"),
    "vae-conv-64": (VAE, dict(latent_dim=4, architecture="conv", hidden=(32,), conv_channels=(4, 4, 8, 8),
                              image_shape=(1, 64, 64)), "elbo"),
    "vae-conv-rgb": (VAE, dict(latent_dim=4, architecture="conv", hidden=(16,), conv_channels=(4, 8),
                               likelihood="continuous-bernoulli", image_shape=(3, 32, 32)), "elbo"),
    "vae-planar-flow": (VAE, dict(latent_dim=3, hidden=(16,), posterior="planar", flow_length=2,
                                  image_shape=(1, 8, 8)), "iwae"),
    "vae-iaf": (VAE, dict(latent_dim=3, hidden=(16,), posterior="iaf", flow_length=2, flow_hidden=(8,),
                          flow_context=4, image_shape=(1, 8, 8)), "elbo"),
    "vae-vampprior": (VAE, dict(latent_dim=3, hidden=(16,), prior="vamp", prior_components=4,
                                image_shape=(1, 8, 8)), "elbo"),
    "vae-mog-prior": (VAE, dict(latent_dim=3, hidden=(16,), prior="mog", prior_components=4,
                                image_shape=(1, 8, 8)), "iwae"),
    "hierarchical-vae": (HierarchicalVAE, dict(latent_dims=(3, 2), hidden=(16,), hidden_upper=(8,),
                                               activation="tanh", image_shape=(1, 8, 8)), "iwae"),
    "hierarchical-vae-ladder": (HierarchicalVAE, dict(latent_dims=(3, 2), hidden=(16,), hidden_upper=(8,),
                                                      inference="ladder", image_shape=(1, 8, 8)), "elbo"),
    "factor-vae": (FactorVAE, dict(latent_dim=3, hidden=(16,), discriminator_hidden=(8, 8), image_shape=(1, 8, 8)),
                   "factor-vae"),
    "autoencoder-linear": (Autoencoder, dict(latent_dim=3, hidden=(), activation="identity",
                                             likelihood="gaussian", image_shape=(1, 8, 8)), "reconstruction"),
    "autoencoder-denoising": (Autoencoder, dict(latent_dim=3, hidden=(16,), image_shape=(1, 8, 8)),
                              "reconstruction"),
}


def make(case):
    cls, fields, objective = CASES[case]
    return cls(**fields), objective


def batch_for(model, size=6):
    x = torch.rand(size, *model.image_shape)
    if model.config.likelihood == "discretized-logistic":
        return torch.round(x * 255) / 255                     # 8-bit pixels k/255
    return torch.bernoulli(x) if model.config.likelihood == "bernoulli" else x


# models of token data and their objectives, checked in tests/models/test_sentence_vae.py
TEXT_MODELS = {"sentence-vae": "elbo", "language-model": "language-model"}
# flows: no code or p(x|z); invertibility, densities, training, save/load and resume in tests/models/test_flow_model.py
FLOW_MODELS = {"realnvp": "flow-nll"}
# no encoder and no density: objective, optimizers, resume, save/load and sampling in tests/models/test_gan.py
GAN_MODELS = {"gan": "gan"}


def test_every_registered_model_and_objective_is_in_the_table():
    others = {**TEXT_MODELS, **FLOW_MODELS, **GAN_MODELS}
    assert {cls.kind for cls, _, _ in CASES.values()} | set(others) == set(MODELS.names())
    assert {objective for _, _, objective in CASES.values()} | set(others.values()) == set(OBJECTIVES.names())


@pytest.mark.parametrize("case", CASES)
def test_shapes(case):
    model, _ = make(case)
    x = batch_for(model)
    code = model.code(x)
    assert code.shape == (6, model.config.latent_dim)
    reconstruction = model.reconstruct(x)
    assert reconstruction.batch_shape == (6,) and reconstruction.event_shape == model.image_shape
    assert reconstruction.mean.shape == x.shape
    if isinstance(model, VAE):
        assert model.encode(x).event_shape == (model.config.latent_dim,)
        samples = model.sample(5)
        assert samples.mean.shape == samples.sample().shape == (5, *model.image_shape)
        assert model.decode(torch.randn(7, 5, model.config.latent_dim)).batch_shape == (7, 5)


@pytest.mark.parametrize("case", CASES)
def test_a_train_step_changes_weights_and_an_evaluation_does_not(case):
    model, objective = make(case)
    corruption = "masking" if case == "autoencoder-denoising" else "none"
    regularizers = (RegularizerConfig("total-correlation", weight=10.0, estimator="discriminator"),) \
        if objective == "factor-vae" else ()
    objective_config = ObjectiveConfig(name=objective, num_samples=3, corruption=corruption, corruption_level=0.3,
                                       regularizers=regularizers)
    trainer = Trainer(TrainConfig(epochs=1, batch_size=4, progress=False), objective_config)
    x = batch_for(model, 8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer.fit(model, x)
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert changed, "training changed no weight"
    after = {k: v.clone() for k, v in model.state_dict().items()}
    trainer.evaluate(model, x)
    assert all(torch.equal(v, after[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("case", CASES)
def test_save_load_round_trips_exactly(case, tmp_path):
    model, _ = make(case)
    model.save(tmp_path / "model")
    loaded = load(tmp_path / "model")
    assert type(loaded) is type(model) and loaded.config == model.config
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    x = batch_for(model)
    torch.testing.assert_close(loaded.code(x), model.eval().code(x))


def test_input_validation_says_what_was_expected_and_given():
    model, _ = make("vae-mlp-bernoulli")
    with pytest.raises(ValueError, match=r"expected shape \(B, 1, 8, 8\) or \(B, 64\), got \(2, 1, 9, 9\)"):
        model.check_input(torch.zeros(2, 1, 9, 9))
    with pytest.raises(ValueError, match="1 NaN/Inf values, first in example 1"):
        bad = torch.zeros(3, 64)
        bad[1, 5] = float("nan")
        model.check_input(bad)
    with pytest.raises(ValueError, match="binary pixels"):
        model.check_input(torch.full((2, 64), 0.5))
    with pytest.raises(ValueError, match=r"pixels in \[0, 1\], got range \[0, 255\]"):
        model.check_input(torch.tensor([[0.0] * 63 + [255.0]]))
    assert model.check_input(torch.ones(2, 64)).shape == (2, 1, 8, 8)


def test_objective_must_suit_the_model():
    model, _ = make("autoencoder-linear")
    with pytest.raises(ValueError, match="autoencoder trains with objective.name"):
        Trainer(TrainConfig(epochs=1, progress=False), ObjectiveConfig(name="elbo")).fit(model, torch.rand(4, 64))


def test_loading_a_damaged_model_names_the_file(tmp_path):
    model, _ = make("vae-mlp-bernoulli")
    model.save(tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ValueError, match="model.safetensors does not match the SHA-256 recorded in model.json"):
        load(tmp_path)
    spec = json.loads((tmp_path / "model.json").read_text())
    del spec["weights_sha256"]                                   # a model saved before checksums were recorded
    (tmp_path / "model.json").write_text(json.dumps(spec))
    with pytest.raises(ValueError, match="model.safetensors is damaged or half-written"):
        load(tmp_path)
    with pytest.raises(FileNotFoundError, match="no saved model"):
        load(tmp_path / "nowhere")
