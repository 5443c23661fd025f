"""FactorVAE's two optimizers on disjoint parameters; AE pre-training with decoder reset (Li et al. 2019)."""
import pytest
import torch

from vaekit import Trainer
from vaekit.config import ObjectiveConfig, RegularizerConfig, TrainConfig
from vaekit.models import VAE, FactorVAE
from vaekit.train.trainer import reset_decoder


def factor_vae_after_one_step(gamma: float) -> FactorVAE:
    torch.manual_seed(0)
    model = FactorVAE(latent_dim=3, hidden=(16,), discriminator_hidden=(16, 16), image_shape=(1, 4, 4))
    data = torch.bernoulli(torch.full((32, 1, 4, 4), 0.4), generator=torch.Generator().manual_seed(1))
    objective = ObjectiveConfig(name="factor-vae", regularizers=(
        RegularizerConfig("total-correlation", weight=gamma, estimator="discriminator"),))
    Trainer(TrainConfig(epochs=1, batch_size=32, progress=False), objective).fit(model, data)
    return model


def test_the_discriminator_is_stepped_by_its_own_loss_only():
    """γ enters the VAE's loss only: D's update must not depend on it, the VAE's must."""
    weak, strong = factor_vae_after_one_step(0.0), factor_vae_after_one_step(1000.0)
    for key, value in weak.discriminator.state_dict().items():
        assert torch.equal(value, strong.discriminator.state_dict()[key]), key
    assert not torch.equal(weak.encoder[1][0].weight, strong.encoder[1][0].weight)
    torch.manual_seed(0)
    fresh = FactorVAE(latent_dim=3, hidden=(16,), discriminator_hidden=(16, 16), image_shape=(1, 4, 4))
    assert not torch.equal(fresh.discriminator[0].weight, weak.discriminator[0].weight)   # D did learn


def test_factor_vae_objective_needs_its_discriminator_entry():
    model = FactorVAE(latent_dim=2, hidden=(8,), discriminator_hidden=(8,), image_shape=(1, 4, 4))
    with pytest.raises(Exception, match="needs a regularizers entry"):
        Trainer(TrainConfig(epochs=1, progress=False), ObjectiveConfig(name="factor-vae")).fit(
            model, torch.ones(4, 1, 4, 4))


def test_pretraining_epochs_drop_the_kl_and_the_regularizers():
    objective = ObjectiveConfig(beta=4.0, free_bits=0.5, regularizers=(RegularizerConfig("mmd"),))
    trainer = Trainer(TrainConfig(epochs=3, pretrain_epochs=2, progress=False), objective)
    assert trainer._objective_config(1).beta == 0.0 and trainer._objective_config(2).regularizers == ()
    assert trainer._objective_config(3) == objective


def test_reset_decoder_reinitialises_it_and_forgets_its_adam_moments():
    torch.manual_seed(0)
    model = VAE(latent_dim=2, hidden=(8,), image_shape=(1, 4, 4))
    optimizer = torch.optim.Adam(model.parameters())
    loss = model.decode(model.encode(torch.ones(2, 1, 4, 4)).rsample()).log_prob(torch.ones(2, 1, 4, 4)).sum()
    loss.backward()
    optimizer.step()
    encoder_before = [p.clone() for p in model.encoder.parameters()]
    decoder_before = [p.clone() for p in model.decoder.parameters()]
    torch.manual_seed(5)
    reset_decoder(model, optimizer)
    torch.manual_seed(5)
    expected = VAE(latent_dim=2, hidden=(8,), image_shape=(1, 4, 4)).decoder
    for after, before, fresh in zip(model.decoder.parameters(), decoder_before, expected.parameters()):
        assert not torch.equal(after, before)
        assert after.shape == fresh.shape
        assert after not in optimizer.state
    assert all(torch.equal(a, b) for a, b in zip(model.encoder.parameters(), encoder_before))
    assert all(p in optimizer.state for p in model.encoder.parameters())


def test_li_et_al_recipe_trains_end_to_end(tmp_path):
    torch.manual_seed(0)
    model = VAE(latent_dim=2, hidden=(8,), image_shape=(1, 4, 4))
    data = torch.bernoulli(torch.full((64, 1, 4, 4), 0.4))
    history = Trainer(TrainConfig(epochs=3, pretrain_epochs=1, reset_decoder=True, batch_size=16, progress=False),
                      ObjectiveConfig(free_bits=0.2), run_dir=tmp_path).fit(model, data, valid=data[:32])
    assert len(history.epochs) == 3 and all("valid_mutual_information" in row for row in history.epochs)


def test_reset_decoder_includes_an_autoregressive_likelihood_network():
    torch.manual_seed(0)
    model = VAE(latent_dim=2, architecture="pixelcnn", conv_channels=(4, 4), hidden=(8,), pixelcnn_channels=4,
                pixelcnn_layers=2, image_shape=(1, 8, 8))
    before = [p.clone() for p in model.likelihood.parameters()]
    assert before, "the PixelCNN's weights live in model.likelihood"
    reset_decoder(model, torch.optim.Adam(model.parameters()))
    assert all(not torch.equal(p, b) for p, b in zip(model.likelihood.parameters(), before))


def test_evaluating_a_pixelcnn_vae_reports_likelihoods_and_no_squared_error():
    from vaekit.config import EvalConfig
    from vaekit.evaluate import evaluate_model
    torch.manual_seed(0)
    model = VAE(latent_dim=2, architecture="pixelcnn", conv_channels=(4, 4), hidden=(8,), pixelcnn_channels=4,
                pixelcnn_layers=2, image_shape=(1, 8, 8))
    found = evaluate_model(model, torch.bernoulli(torch.full((6, 1, 8, 8), 0.5)), EvalConfig(importance_samples=5))
    assert found["nll"] > 0 and found["elbo"] < 0 and found["squared_error"] != found["squared_error"]  # NaN


def test_factor_vae_checkpoints_and_resumes_both_optimizers(tmp_path):
    from vaekit.train import load_checkpoint
    torch.manual_seed(0)
    data = torch.bernoulli(torch.full((32, 1, 4, 4), 0.4), generator=torch.Generator().manual_seed(1))
    objective = ObjectiveConfig(name="factor-vae", regularizers=(
        RegularizerConfig("total-correlation", weight=10.0, estimator="discriminator"),))

    def trainer(epochs):
        return Trainer(TrainConfig(epochs=epochs, batch_size=8, progress=False), objective, run_dir=tmp_path)

    def fresh():
        torch.manual_seed(0)
        return FactorVAE(latent_dim=3, hidden=(16,), discriminator_hidden=(16,), image_shape=(1, 4, 4))

    trainer(1).fit(fresh(), data)
    _, state = load_checkpoint(tmp_path)
    assert state["discriminator_optimizer"]["state"], "the discriminator's Adam moments are checkpointed"
    resumed = fresh()
    trainer(3).fit(resumed, data, resume=True)
    straight = fresh()
    Trainer(TrainConfig(epochs=3, batch_size=8, progress=False), objective, run_dir=tmp_path / "straight").fit(
        straight, data)
    for key, value in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, msg=key)
