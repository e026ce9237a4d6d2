"""The reference step: one step of the tutorial's algorithm with autograd, (1) update D on a real
and a fake batch, (2) update G, as the tutorial writes it (--engine autograd).

The "How it works" tab quotes train_step and generator_loss from this file, and the tests hold
every engine to it and to a plain implementation of the algorithm (tests/test_algorithm.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from gan_core.models import Discriminator
from gan_core.training.engines.backprop import (
    nan_as_half as _nan_as_half,  # NaN scores as 0.5: see its docstring
)

if TYPE_CHECKING:  # the state is built in state.py, which imports the engines: no import at run time
    from gan_core.training.state import TrainState


def write_gradients(module: torch.nn.Module, loss: torch.Tensor) -> None:
    """Set .grad to d(loss)/d(params) for this module only.

    Writing gradients (instead of zeroing and accumulating with backward) is what the tutorial's
    undefined `reset_grad` was for, costs no zeroing kernels, and skips the gradients of the
    other network's weights, which the tutorial computed and threw away.
    """
    params = list(module.parameters())
    for param, grad in zip(params, torch.autograd.grad(loss, params), strict=True):
        param.grad = grad


def discriminator_loss(discriminator, real_images, fake_images, targets):
    """BCE of D on [real; fake] against [1; 0], and the two mean scores D(x), D(G(z)).

    One pass over real and fake together equals two passes (D has no batch statistics), and
    2 * mean over the 2B rows is exactly d_loss_real + d_loss_fake of the tutorial (each a mean
    over B rows), in one loss kernel instead of two plus their slicing.
    """
    scores = discriminator(torch.cat([real_images, fake_images]))
    d_loss = 2 * F.binary_cross_entropy(_nan_as_half(scores), targets)
    return d_loss, scores.detach().view(2, -1).mean(dim=1)  # (D(x), D(G(z)))


def generator_loss(discriminator, fake_images, targets):
    """BCE of D(G(z)) against 1: the non-saturating generator loss of the tutorial."""
    return F.binary_cross_entropy(_nan_as_half(discriminator(fake_images)), targets)


def r1_penalty(discriminator: Discriminator, real_images: torch.Tensor) -> torch.Tensor:
    """Mean squared norm of the gradient of D's logit with respect to real images (Mescheder et
    al., 2018): it keeps D flat on the data, so that D cannot push G back and forth between a few
    easy digits, the oscillation that leaves the tutorial's samples with 30% ones."""
    real_images = real_images.detach().requires_grad_(True)
    (gradient,) = torch.autograd.grad(discriminator.logits(real_images).sum(), real_images, create_graph=True)
    return gradient.square().sum(dim=1).mean()


def train_step(state: TrainState, real_images: torch.Tensor) -> torch.Tensor:
    """One step of the tutorial's algorithm on a batch of real images in [-1, 1].

    Returns a device tensor of STAT_NAMES (d_loss, g_loss, D(x), D(G(z))) without syncing the host.
    """
    generator, discriminator = state.generator, state.discriminator
    batch_size = real_images.shape[0]
    # G's weights do not change during the D update, so one forward pass over 2B noise vectors
    # serves both phases: the first B fakes for D's update, the other B (fresh noise) for G's.
    noise = torch.randn(2 * batch_size, generator.latent_size, device=real_images.device)
    fakes = generator(noise)

    # ================================================================== #
    # (1) update D: real images labelled 1, fakes labelled 0             #
    # ================================================================== #
    # detach: D's update needs no gradient through G.
    d_loss, scores = state.d_loss_fn(discriminator, real_images, fakes[:batch_size].detach(), state.d_targets)
    # The penalty joins D's gradient but not the recorded d_loss, which stays the tutorial's BCE.
    # It is outside d_loss_fn because torch.compile does not take double backward. Without it the
    # step is the tutorial's, kernel for kernel (not even an add of 0 in a captured CUDA graph).
    d_objective = d_loss
    if state.r1_gamma > 0:
        d_objective = d_loss + 0.5 * state.r1_gamma * r1_penalty(discriminator, real_images)
    write_gradients(discriminator, d_objective)
    state.d_optimizer.step()

    # ================================================================== #
    # (2) update G: new fakes against the updated D, target 1            #
    # ================================================================== #
    g_loss = state.g_loss_fn(discriminator, fakes[batch_size:], state.g_targets)
    write_gradients(generator, g_loss)
    state.g_optimizer.step()
    if state.averaging is not None:
        state.averaging.update(generator)

    return torch.cat([torch.stack([d_loss, g_loss]).detach(), scores])  # in the order of STAT_NAMES
