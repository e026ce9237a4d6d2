"""The tutorial's two multilayer perceptrons, unchanged in shape."""

from __future__ import annotations

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn


class Generator(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="pytorch",
    tags=["gan", "mnist", "pytorch"],
    pipeline_tag="unconditional-image-generation",
    license="mit",
):
    """z (latent_size) -> flattened 28x28 image in [-1, 1].

    The mixin writes config.json from the init args and loads model.safetensors, so
    `Generator.from_pretrained("user/repo")` works outside this project too.
    """

    def __init__(self, latent_size: int = 64, hidden_size: int = 256, image_size: int = 784):
        super().__init__()
        self.latent_size = latent_size
        self.image_size = image_size
        self.net = nn.Sequential(
            nn.Linear(latent_size, hidden_size),
            nn.ReLU(),
            nn.Linear(hidden_size, hidden_size),
            nn.ReLU(),
            nn.Linear(hidden_size, image_size),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    """Flattened image -> probability that it is real (sigmoid output, for BCE as in the tutorial)."""

    def __init__(self, hidden_size: int = 256, image_size: int = 784):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(image_size, hidden_size),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden_size, hidden_size),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden_size, 1),
            nn.Sigmoid(),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """The score before the sigmoid, which the R1 penalty differentiates (the sigmoid's
        flat ends would hide the gradient it is meant to keep small)."""
        return self.net[:-1](images)
