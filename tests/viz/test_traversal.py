import torch

from vaekit.models import VAE
from vaekit.viz import latent_traversal


def test_each_row_moves_one_dimension_only():
    torch.manual_seed(0)
    model = VAE(latent_dim=3, hidden=(), activation="identity", likelihood="gaussian", image_shape=(1, 1, 3))
    with torch.no_grad():                                   # decoder = identity map: E[x|z] = z
        linear = model.decoder[0][0]
        linear.weight.copy_(torch.eye(3))
        linear.bias.zero_()
    z0 = torch.tensor([0.5, -1.0, 2.0])
    values = torch.linspace(-2, 2, 5)
    images = latent_traversal(model, z0, [2, 0], values)
    assert images.shape == (2, 5, 1, 1, 3)
    decoded = images.reshape(2, 5, 3)
    torch.testing.assert_close(decoded[0, :, 2], values)
    torch.testing.assert_close(decoded[0, :, :2], z0[:2].expand(5, 2))
    torch.testing.assert_close(decoded[1, :, 0], values)
    torch.testing.assert_close(decoded[1, :, 1:], z0[1:].expand(5, 2))
