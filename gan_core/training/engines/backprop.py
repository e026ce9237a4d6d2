"""The training step's math with its backward passes written out, once, for one run or for N runs
stacked on a leading dimension.

Why once: the fused engine (one run) and the stacked engine (--seeds trained together) are the
same algorithm. A network is six tensors, [W1, b1, W2, b2, W3, b3]: for one run the nn.Module's
own parameters (W of shape (out, in)), for N runs the same tensors with a leading run dimension
(N, out, in). Every operation below reads the row axis as -2 and the feature axis as -1, and
matrix products broadcast over a leading dimension, so the same lines serve both; `ops` runs each
layer's product and activation (TorchOps for either shape, TritonOps for one run on a GPU).

For the tutorial's fixed MLPs every derivative is a few lines. R1's gradient of D's logit with
respect to an image is three matrix products that reuse D's forward pass on the real batch, and
its weight gradients are three more: no second, double-backward graph as autograd would run.
reference.train_step stays the readable reference; tests/test_algorithm.py holds this math to a plain
implementation of the algorithm, and tests/test_stacked_step.py every stacked run to its single run.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gan_core.training.engines.ops import LEAKY_RELU, RELU, SIGMOID, TANH


def nan_as_half(scores: torch.Tensor) -> torch.Tensor:
    """Scores with NaN (weights that overflowed) replaced by 0.5; finite scores untouched.

    binary_cross_entropy raises on NaN on the CPU and trips a device assert on CUDA, which kills
    the process mid-epoch. Replaced, the epoch finishes; the NaN still reaches the recorded
    D(x) / D(G(z)) and the weights, and fit() stops there with a clear message.
    """
    return scores.nan_to_num(nan=0.5)


def rows(tensor: torch.Tensor, start: int | None, stop: int | None) -> torch.Tensor:
    """Rows start:stop of each run's batch (the axis -2, for one run or N)."""
    return tensor[..., start:stop, :]


def generator_forward(ops, g: list[torch.Tensor], noise: torch.Tensor):
    """G's layer inputs (noise and both hidden layers, which its backward pass reads) and fakes."""
    hidden1 = ops.linear_act(noise, g[0], g[1], RELU)
    hidden2 = ops.linear_act(hidden1, g[2], g[3], RELU)
    return (noise, hidden1, hidden2), ops.linear_act(hidden2, g[4], g[5], TANH)


def discriminator_forward(ops, d: list[torch.Tensor], slope: float, images: torch.Tensor):
    """D's two hidden layers (after leaky_relu) and its scores (after the sigmoid)."""
    hidden1 = ops.linear_act(images, d[0], d[1], LEAKY_RELU, slope)
    hidden2 = ops.linear_act(hidden1, d[2], d[3], LEAKY_RELU, slope)
    return hidden1, hidden2, ops.linear_act(hidden2, d[4], d[5], SIGMOID)


def bce(scores: torch.Tensor, targets: torch.Tensor, scale: float):
    """scale * BCE(scores, targets), the mean over each run's rows (a number per run), and its
    gradient with respect to D's logit as autograd forms it: BCE's backward (p - t) / max(p (1 - p),
    1e-12), then the sigmoid's p (1 - p). The clamp is why a saturated score (p exactly 0 or 1 in
    float32) passes no gradient, as in the tutorial."""
    safe = nan_as_half(scores)
    loss = scale * F.binary_cross_entropy(safe, targets, reduction="none").mean(dim=(-2, -1))
    spread = (1 - safe) * safe
    gradient = (safe - targets) / spread.clamp_min(1e-12) * (scale / scores.shape[-2])
    return loss, gradient * ((1 - scores) * scores)


def _weight_gradients(grad: torch.Tensor, layer_input: torch.Tensor) -> list[torch.Tensor]:
    """A Linear layer's weight and bias gradients from the gradient at its output."""
    return [grad.transpose(-2, -1) @ layer_input, grad.sum(-2)]


def discriminator_gradients(ops, d, slope, real_images, fakes, targets, r1_gamma: float):
    """(1) D on [real; fake] against `targets` (real_label; 0): its loss (2 x the mean BCE, the
    tutorial's d_loss_real + d_loss_fake), its scores, and the gradients of its six tensors, R1's
    included when r1_gamma > 0 (R1 joins the gradient, never the recorded loss)."""
    images = torch.cat([real_images, fakes], dim=-2)
    hidden1, hidden2, scores = discriminator_forward(ops, d, slope, images)
    d_loss, grad_logits = bce(scores, targets, scale=2.0)
    grad2 = ops.grad_through(grad_logits, d[4], hidden2, LEAKY_RELU, slope)
    grad1 = ops.grad_through(grad2, d[2], hidden1, LEAKY_RELU, slope)
    grads = [
        *_weight_gradients(grad1, images),
        *_weight_gradients(grad2, hidden1),
        *_weight_gradients(grad_logits, hidden2),
    ]
    if r1_gamma > 0:
        batch = real_images.shape[-2]
        _add_r1_gradients(
            ops, grads, d, slope, rows(hidden1, None, batch), rows(hidden2, None, batch), r1_gamma
        )
    return d_loss, scores, grads


def generator_gradients(ops, g, d, slope, g_inputs, fakes, targets):
    """(2) G: its fakes through the (updated) D against target 1: G's loss and the gradients of
    its six tensors. `g_inputs` and `fakes` are the rows of G's forward pass that made these fakes."""
    hidden1, hidden2, scores = discriminator_forward(ops, d, slope, fakes)
    g_loss, grad = bce(scores, targets, scale=1.0)
    grad = ops.grad_through(grad, d[4], hidden2, LEAKY_RELU, slope)
    grad = ops.grad_through(grad, d[2], hidden1, LEAKY_RELU, slope)
    grad = ops.grad_through(grad, d[0], fakes, TANH)  # through D's first layer, then G's tanh
    grads = []
    for index in (2, 1, 0):  # back through G's layers
        grads[:0] = _weight_gradients(grad, g_inputs[index])
        if index > 0:
            grad = ops.grad_through(grad, g[2 * index], g_inputs[index], RELU)
    return g_loss, grads


def step_statistics(d_loss, g_loss, scores: torch.Tensor) -> torch.Tensor:
    """d_loss, g_loss, D(x), D(G(z)) in the order of STAT_NAMES: (4,) for one run, (N, 4) for N.
    `scores` are D's scores on [real; fake] in the D update, half real, half fake."""
    halves = scores.unflatten(-2, (2, -1)).mean(dim=(-2, -1))  # (D(x), D(G(z)))
    return torch.cat([torch.stack([d_loss, g_loss], dim=-1), halves], dim=-1)


def _through_leaky_relu(grad: torch.Tensor, activated: torch.Tensor, slope: float) -> torch.Tensor:
    """grad times leaky_relu's derivative, read from the activation's output (a positive slope
    keeps the sign): one pass, the kernel autograd runs."""
    return torch.ops.aten.leaky_relu_backward(grad, activated, slope, True)


def _add_product(accumulator: torch.Tensor, left: torch.Tensor, right: torch.Tensor) -> None:
    """accumulator += left @ right, in one kernel for one run (addmm) or N (baddbmm)."""
    (accumulator.addmm_ if accumulator.dim() == 2 else accumulator.baddbmm_)(left, right)


def _add_r1_gradients(ops, d_grads, d, slope, hidden1, hidden2, gamma: float) -> None:
    """Add the gradients of gamma/2 * mean_b |d logit_b / d x_b|^2 to D's weight gradients.

    The gradient of the logit with respect to a real image x is
        gx = ((w3 * slopes2) @ W2 * slopes1) @ W1,
    where the slopes, leaky_relu's derivatives at x, are constant between kinks. Back through
    those three products gives the weights' gradients; the biases move only the kinks, so theirs
    are zero, as autograd's double backward also finds. `hidden1`, `hidden2`: D's hidden layers
    on the real images, from its forward pass.
    """
    weight1, weight2, weight3 = d[0], d[2], d[4]
    logit_grad2 = _through_leaky_relu(weight3.expand_as(hidden2), hidden2, slope)  # d logit / d pre-act 2
    logit_grad1 = ops.grad_through(logit_grad2, weight2, hidden1, LEAKY_RELU, slope)
    image_grad = logit_grad1 @ weight1
    grad_image_grad = image_grad.mul_(gamma / image_grad.shape[-2])  # d(gamma/2 mean |gx|^2) / d gx
    _add_product(d_grads[0], logit_grad1.mT, grad_image_grad)  # .mT: the last two axes swapped
    grad_logit_grad1 = ops.grad_through(grad_image_grad, weight1.mT, hidden1, LEAKY_RELU, slope)
    _add_product(d_grads[2], logit_grad2.mT, grad_logit_grad1)
    grad_logit_grad2 = ops.grad_through(grad_logit_grad1, weight2.mT, hidden2, LEAKY_RELU, slope)
    d_grads[4] += grad_logit_grad2.sum(-2, keepdim=True)
