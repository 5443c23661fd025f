"""Each regularizer, given weight, lowers its own value in training compared with the plain ELBO."""
import pytest
import torch

from vaekit import Trainer
from vaekit.config import ObjectiveConfig, RegularizerConfig, TrainConfig
from vaekit.data import load_dataset
from vaekit.models import VAE
from vaekit.objectives import OBJECTIVES

CASES = {
    "total-correlation": (RegularizerConfig("total-correlation", weight=20.0), 1.0),
    "dip-i": (RegularizerConfig("dip-i", weight=20.0, diagonal_weight=10.0), 1.0),
    "dip-ii": (RegularizerConfig("dip-ii", weight=20.0), 1.0),
    "mmd": (RegularizerConfig("mmd", weight=200.0, kernel="rbf"), 0.0),   # InfoVAE with α = 1: no KL term
    "capacity": (RegularizerConfig("capacity", weight=50.0, capacity=2.0), 0.0),
}


def final_value(name: str, entry: RegularizerConfig, beta: float, weight: float) -> float:
    images = load_dataset("digits", "train").images[:600]
    data = torch.bernoulli(images, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    model = VAE(latent_dim=4, hidden=(64,), image_shape=(1, 8, 8))
    regularizer = RegularizerConfig(**{**entry.__dict__, "weight": weight})
    objective = ObjectiveConfig(beta=beta, regularizers=(regularizer,))
    Trainer(TrainConfig(epochs=15, batch_size=100, lr=3e-3, progress=False), objective).fit(model, data)
    model.eval()
    torch.manual_seed(1)
    with torch.no_grad():
        _, terms = OBJECTIVES["elbo"](model, data, objective, step=10**6, dataset_size=len(data))
    return float(terms[name.replace("-", "_")])


@pytest.mark.parametrize("name", CASES)
def test_weighting_a_regularizer_lowers_it(name):
    entry, beta = CASES[name]
    unregularized, regularized = final_value(name, entry, beta, 0.0), final_value(name, entry, beta, entry.weight)
    assert regularized < 0.5 * unregularized, (regularized, unregularized)
