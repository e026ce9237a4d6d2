"""The fused engine: one run's step with its backward passes written out (backprop.py beside it,
the math the stacked engine shares): reference.train_step's algorithm, in fewer and larger operations.

Why: on a CPU the step's matrix products already run near the cores' peak, so what is left to
cut is everything around them: autograd's graph, its temporary tensors, and above all the R1
penalty, which autograd runs as a second, double-backward graph over D with its own forward
pass. For the tutorial's fixed MLPs every derivative is a few lines. R1's gradient of D's logit
with respect to an image is three matrix products that reuse D's forward pass on the real batch,
and its weight gradients are three more.

reference.train_step stays the readable reference: the tests hold both steps to a plain implementation of
the algorithm, step by step, for every recipe (tests/test_algorithm.py). This step draws the same
noise from the same RNG in the same order, so the two differ only by float rounding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from gan_core.training.engines.backprop import (
    discriminator_gradients,
    generator_forward,
    generator_gradients,
    rows,
    step_statistics,
)
from gan_core.training.engines.ops import TorchOps

if TYPE_CHECKING:  # the state is built in state.py, which imports the engines: no import at run time
    from gan_core.training.state import TrainState


@torch.no_grad()
def fused_train_step(state: TrainState, real_images: torch.Tensor) -> torch.Tensor:
    """One step of the tutorial's algorithm, as train_step, with the same return value."""
    ops = state.ops or TorchOps
    g, d = list(state.generator.parameters()), list(state.discriminator.parameters())
    slope = state.discriminator.net[1].negative_slope
    batch_size = real_images.shape[0]

    # G forward over 2B noise vectors, as train_step: B fakes for D's update, B for G's.
    noise = torch.randn(2 * batch_size, state.generator.latent_size, device=real_images.device)
    g_inputs, fakes = generator_forward(ops, g, noise)

    # (1) update D on [real; fake] against state.d_targets (real_label; 0)
    d_loss, scores, d_grads = discriminator_gradients(
        ops, d, slope, real_images, rows(fakes, None, batch_size), state.d_targets, state.r1_gamma
    )
    for param, grad in zip(d, d_grads, strict=True):
        param.grad = grad
    state.d_optimizer.step()

    # (2) update G: the other B fakes against the updated D, target 1
    g_loss, g_grads = generator_gradients(
        ops, g, d, slope, [rows(x, batch_size, None) for x in g_inputs], rows(fakes, batch_size, None),
        state.g_targets,
    )  # fmt: skip
    for param, grad in zip(g, g_grads, strict=True):
        param.grad = grad
    state.g_optimizer.step()
    if state.averaging is not None:
        state.averaging.update(state.generator)
    return step_statistics(d_loss, g_loss, scores)
