"""Tiny VAEs on 2×2 binary images, whose 16 possible images can all be listed: the exact
marginal log p(x) is then a sum over images of a low-dimensional integral (see the tests)."""
import torch

from vaekit import VAE, Trainer

SHAPE = (1, 2, 2)                                 # 4 binary pixels: all 16 images can be listed
ALL_IMAGES = torch.tensor([[(i >> b) & 1 for b in range(4)] for i in range(16)], dtype=torch.double).view(16, *SHAPE)


def self_fitted_vae(latent_dim: int = 2, train: bool = True, **fields) -> VAE:
    """A VAE (double precision, ``fields`` passed on) whose decoder depends strongly on z; with
    ``train``, all but the decoder is fitted to data drawn from the model itself, so q(z|x) (and a
    learned prior) approximate p(z|x) as after training."""
    torch.manual_seed(3)
    model = VAE(latent_dim=latent_dim, hidden=(8,), activation="tanh", image_shape=SHAPE, **fields).double()
    with torch.no_grad():
        for parameter in model.decoder.parameters():
            parameter.mul_(2.0)
    if train:
        with torch.no_grad():
            data = model.sample(1024).sample()
        model.decoder.requires_grad_(False)
        Trainer(epochs=30, batch_size=64, lr=0.01, progress=False).fit(model, data)
    return model
