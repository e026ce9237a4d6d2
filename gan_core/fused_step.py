"""The training step with its backward passes written out: step.train_step's algorithm, in fewer
and larger operations.

Why: on a CPU the step's matrix products already run near the cores' peak, so what is left to
cut is everything around them: autograd's graph, its temporary tensors, and above all the R1
penalty, which autograd runs as a second, double-backward graph over D with its own forward
pass. For the tutorial's fixed MLPs every derivative is a few lines. R1's gradient of D's logit
with respect to an image is three matrix products that reuse D's forward pass on the real batch,
and its weight gradients are three more.

train_step stays the readable reference: the tests hold both steps to a plain implementation of
the algorithm, step by step, for every recipe (tests/test_algorithm.py). This step draws the same
noise from the same RNG in the same order, so the two differ only by float rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .kernels import LEAKY_RELU, RELU, SIGMOID, TANH, TorchOps
from .step import TrainState, _nan_as_half, update_ema


def _linears(module: nn.Module) -> list[nn.Linear]:
    return [layer for layer in module.net if isinstance(layer, nn.Linear)]


def _through_leaky_relu(grad: torch.Tensor, activated: torch.Tensor, slope: float) -> torch.Tensor:
    """grad times leaky_relu's derivative, read from the activation's output (a positive slope
    keeps the sign): one pass, the kernel autograd runs."""
    return torch.ops.aten.leaky_relu_backward(grad, activated, slope, True)


def _bce_logit_gradient(scores: torch.Tensor, safe: torch.Tensor, targets: torch.Tensor, scale: float):
    """d(scale * BCE(sigmoid(logit), targets)) / d logit, mean over the rows, as autograd forms it:
    BCE's backward (p - t) / max(p (1 - p), 1e-12), then the sigmoid's p (1 - p). The clamp is why
    a saturated score (p exactly 0 or 1 in float32) passes no gradient, as in the tutorial."""
    spread = (1 - safe) * safe
    bce = (safe - targets) / spread.clamp_min(1e-12) * (scale / scores.shape[-2])  # rows of one run
    return bce * ((1 - scores) * scores)


def _discriminator_forward(ops, layers, slope, images):
    """D's two hidden layers (after leaky_relu) and its scores (after the sigmoid)."""
    hidden1 = ops.linear_act(images, layers[0].weight, layers[0].bias, LEAKY_RELU, slope)
    hidden2 = ops.linear_act(hidden1, layers[1].weight, layers[1].bias, LEAKY_RELU, slope)
    return hidden1, hidden2, ops.linear_act(hidden2, layers[2].weight, layers[2].bias, SIGMOID)


@torch.no_grad()
def fused_train_step(state: TrainState, real_images: torch.Tensor) -> torch.Tensor:
    """One step of the tutorial's algorithm, as train_step, with the same return value."""
    ops = state.ops or TorchOps
    g_layers, d_layers = _linears(state.generator), _linears(state.discriminator)
    slope = state.discriminator.net[1].negative_slope
    batch_size = real_images.shape[0]

    # G forward over 2B noise vectors, as train_step: B fakes for D's update, B for G's.
    noise = torch.randn(2 * batch_size, state.generator.latent_size, device=real_images.device)
    g_hidden1 = ops.linear_act(noise, g_layers[0].weight, g_layers[0].bias, RELU)
    g_hidden2 = ops.linear_act(g_hidden1, g_layers[1].weight, g_layers[1].bias, RELU)
    fakes = ops.linear_act(g_hidden2, g_layers[2].weight, g_layers[2].bias, TANH)

    # (1) update D on [real; fake] against state.d_targets (real_label; 0)
    images = torch.cat([real_images, fakes[:batch_size]])
    hidden1, hidden2, scores = _discriminator_forward(ops, d_layers, slope, images)
    safe = _nan_as_half(scores)
    d_loss = 2 * F.binary_cross_entropy(safe, state.d_targets)
    grad_logits = _bce_logit_gradient(scores, safe, state.d_targets, scale=2.0)
    grad2 = ops.grad_through(grad_logits, d_layers[2].weight, hidden2, LEAKY_RELU, slope)
    grad1 = ops.grad_through(grad2, d_layers[1].weight, hidden1, LEAKY_RELU, slope)
    d_grads = [
        grad1.t() @ images,
        grad1.sum(0),
        grad2.t() @ hidden1,
        grad2.sum(0),
        grad_logits.t() @ hidden2,
        grad_logits.sum(0),
    ]
    if state.r1_gamma > 0:
        real_hidden = (hidden1[:batch_size], hidden2[:batch_size])
        _add_r1_gradients(ops, d_grads, d_layers, slope, real_hidden, state.r1_gamma)
    for param, grad in zip(state.discriminator.parameters(), d_grads, strict=True):
        param.grad = grad
    state.d_optimizer.step()

    # (2) update G: the other B fakes against the updated D, target 1
    fakes_for_g, g_inputs = fakes[batch_size:], (noise, g_hidden1, g_hidden2)
    hidden1, hidden2, g_scores = _discriminator_forward(ops, d_layers, slope, fakes_for_g)
    safe = _nan_as_half(g_scores)
    g_loss = F.binary_cross_entropy(safe, state.g_targets)
    grad = _bce_logit_gradient(g_scores, safe, state.g_targets, scale=1.0)
    grad = ops.grad_through(grad, d_layers[2].weight, hidden2, LEAKY_RELU, slope)
    grad = ops.grad_through(grad, d_layers[1].weight, hidden1, LEAKY_RELU, slope)
    grad = ops.grad_through(grad, d_layers[0].weight, fakes_for_g, TANH)  # through D, then G's tanh
    g_grads = []
    for index in (2, 1, 0):  # back through G's layers, on the rows that made fakes_for_g
        layer_input = g_inputs[index][batch_size:]
        g_grads[:0] = [grad.t() @ layer_input, grad.sum(0)]
        if index > 0:
            grad = ops.grad_through(grad, g_layers[index].weight, layer_input, RELU)
    for param, grad in zip(state.generator.parameters(), g_grads, strict=True):
        param.grad = grad
    state.g_optimizer.step()
    if state.ema is not None:
        update_ema(state.ema, state.generator, state.ema_decay)

    d_scores = scores.view(2, -1).mean(dim=1)  # (D(x), D(G(z)))
    return torch.cat([torch.stack([d_loss, g_loss]), d_scores])  # in the order of STAT_NAMES


def _add_r1_gradients(ops, d_grads, layers, slope, real_hidden, gamma: float) -> None:
    """Add the gradients of gamma/2 * mean_b |d logit_b / d x_b|^2 to D's weight gradients.

    The gradient of the logit with respect to a real image x is
        gx = ((w3 * slopes2) @ W2 * slopes1) @ W1,
    where the slopes, leaky_relu's derivatives at x, are constant between kinks. Back through
    those three products gives the weights' gradients; the biases move only the kinks, so theirs
    are zero, as autograd's double backward also finds.
    """
    weight1, weight2, weight3 = (layer.weight for layer in layers)
    hidden1, hidden2 = real_hidden
    logit_grad2 = _through_leaky_relu(weight3.expand_as(hidden2), hidden2, slope)  # d logit / d pre-act 2
    logit_grad1 = ops.grad_through(logit_grad2, weight2, hidden1, LEAKY_RELU, slope)
    image_grad = logit_grad1 @ weight1
    grad_image_grad = image_grad.mul_(gamma / len(image_grad))  # d(gamma/2 mean |gx|^2) / d gx
    d_grads[0].addmm_(logit_grad1.t(), grad_image_grad)
    grad_logit_grad1 = ops.grad_through(grad_image_grad, weight1.t(), hidden1, LEAKY_RELU, slope)
    d_grads[2].addmm_(logit_grad2.t(), grad_logit_grad1)
    grad_logit_grad2 = ops.grad_through(grad_logit_grad1, weight2.t(), hidden2, LEAKY_RELU, slope)
    d_grads[4] += grad_logit_grad2.sum(0, keepdim=True)
