"""One step of the tutorial's algorithm: (1) update D on a real and a fake batch, (2) update G.

The networks, their optimizers and the losses live in a TrainState; train_step() changes it in
place and returns the step's statistics as one device tensor, so a caller never has to sync.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .backprop import nan_as_half as _nan_as_half  # NaN scores as 0.5: see its docstring
from .config import TrainConfig
from .models import Discriminator, Generator


@dataclass
class TrainState:
    generator: Generator
    discriminator: Discriminator
    g_optimizer: torch.optim.Adam
    d_optimizer: torch.optim.Adam
    # BCE targets, made once: D sees [real; fake] -> [real_label; 0], G's fakes are labelled 1.
    d_targets: torch.Tensor
    g_targets: torch.Tensor
    # discriminator_loss and generator_loss, or their torch.compile'd versions (--compile).
    d_loss_fn: Callable
    g_loss_fn: Callable
    # An exponential moving average of G's weights (None when disabled): averaging over the
    # late, oscillating part of training gives steadier samples than the last step's weights.
    ema: Generator | None = None
    ema_decay: float = 0.0
    r1_gamma: float = 0.0
    # What runs one step: train_step below, or fused_step.fused_train_step (--engine), and for the
    # latter its layer work: torch operations (None) or Triton kernels (kernels.py).
    step: Callable[[TrainState, torch.Tensor], torch.Tensor] | None = None
    ops: object | None = None

    def run_step(self, real_images: torch.Tensor) -> torch.Tensor:
        return (self.step or train_step)(self, real_images)


def resolve_device(name: str) -> torch.device:
    """'auto' picks cuda, then mps, then cpu; an explicit device must exist here."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if torch.backends.mps.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "--device cuda was asked for, but PyTorch sees no CUDA GPU here (use --device auto or cpu)"
        )
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            "--device mps was asked for, but MPS is not available here (use --device auto or cpu)"
        )
    return torch.device(name)


def device_metadata(device: torch.device) -> dict:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = (
            f"{device.type} ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
        )
    return {"device": device.type, "device_name": name, "torch": str(torch.__version__)}


def configure_cuda_math() -> None:
    # TF32 matmuls: about 1.3x faster on Ampere and later for this model at no visible cost to a
    # GAN on 28x28 digits; CPU runs are unaffected.
    torch.set_float32_matmul_precision("high")


def build_state(config: TrainConfig, device: torch.device, capturable: bool = False) -> TrainState:
    """Fresh networks (initialised from the global RNG, on the CPU so a seed means the same
    weights everywhere) and one Adam each, as in the tutorial."""
    recipe = config.resolved()
    generator = Generator(**config.model.to_dict()).to(device)
    discriminator = Discriminator(config.hidden_size, config.model.image_size).to(device)
    # Fused Adam updates all of a network's parameters in one kernel (CUDA) or one loop (CPU);
    # capturable keeps its step count on the GPU so a CUDA graph can replay it.
    adam_options = (
        {"fused": True, "capturable": capturable}
        if device.type == "cuda"
        else {"fused": True}
        if device.type == "cpu"
        else {}
    )
    adam_options["betas"] = recipe.adam_betas
    # A decaying rate lives in a tensor that set_learning_rate() fills in place: a CUDA graph
    # reads it at every replay, where a float would be frozen into the captured kernels.
    tensor_lr = recipe.lr_decay != "none" and adam_options.get("fused", False)
    lr = (lambda: learning_rate_tensor(config.lr, device)) if tensor_lr else (lambda: config.lr)
    batch = config.batch_size
    state = TrainState(
        generator=generator,
        discriminator=discriminator,
        g_optimizer=torch.optim.Adam(generator.parameters(), lr=lr(), **adam_options),
        d_optimizer=torch.optim.Adam(discriminator.parameters(), lr=lr(), **adam_options),
        d_targets=torch.cat([torch.full((batch, 1), recipe.real_label), torch.zeros(batch, 1)]).to(device),
        g_targets=torch.ones(batch, 1, device=device),
        d_loss_fn=discriminator_loss,
        g_loss_fn=generator_loss,
        r1_gamma=recipe.r1_gamma,
    )
    if recipe.ema_decay > 0:
        state.ema = Generator(**config.model.to_dict()).to(device)
        state.ema.load_state_dict(generator.state_dict())
        state.ema.requires_grad_(False)
        state.ema_decay = recipe.ema_decay
    if config.engine in ("fused", "triton") and not config.compile:  # --compile: the autograd step
        from .fused_step import fused_train_step  # it builds on this module's pieces

        state.step = fused_train_step
    problem = engine_problem(config, device)
    if problem:
        raise ValueError(problem)
    if config.engine == "triton":
        from .kernels import TritonOps  # Triton, and its kernels, only for this engine

        state.ops = TritonOps()
    if config.compile:
        # Fuses the small elementwise kernels around each Linear (forward and backward); costs
        # compile time at start-up, so it is opt-in and measured in benchmarks/train_speed.py.
        state.d_loss_fn = torch.compile(discriminator_loss)
        state.g_loss_fn = torch.compile(generator_loss)
    return state


def engine_problem(config: TrainConfig, device: torch.device) -> str | None:
    """Why --engine cannot run as asked on `device` (None when it can): train.py asks before it
    touches the Hub or any folder, build_state again before it builds anything."""
    if config.engine == "triton" and config.compile:
        return "--compile compiles the autograd step, --engine triton is the fused one: choose one of them"
    if config.engine == "triton" and device.type != "cuda":
        return "--engine triton runs Triton kernels on a CUDA GPU; use --engine fused here"
    return None


def published_generator(state: TrainState) -> Generator:
    """The generator a run publishes: the EMA of its weights when there is one."""
    return state.ema if state.ema is not None else state.generator


def learning_rate_tensor(lr: float, device: torch.device) -> torch.Tensor:
    # float64 on the CPU, whose fused Adam reads the rate as a double: a tensor rate then trains
    # bit for bit like a float one. CUDA's fused kernel reads a float32 from device memory.
    return torch.tensor(lr, dtype=torch.float64 if device.type == "cpu" else torch.float32, device=device)


def _param_groups(state: TrainState) -> list[dict]:
    return [group for optimizer in (state.g_optimizer, state.d_optimizer) for group in optimizer.param_groups]


def set_learning_rate(state: TrainState, lr: float) -> None:
    """Both optimizers' rate, in place where it is a tensor (see build_state)."""
    for group in _param_groups(state):
        if torch.is_tensor(group["lr"]):
            group["lr"].fill_(lr)
        else:
            group["lr"] = lr


def place_learning_rates(state: TrainState, device: torch.device) -> None:
    """After loading optimizer state: a saved tensor rate comes back on the CPU; put it beside
    the weights again, as learning_rate_tensor() made it."""
    for group in _param_groups(state):
        if torch.is_tensor(group["lr"]):
            group["lr"] = learning_rate_tensor(float(group["lr"]), device)


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
    if state.ema is not None:
        update_ema(state.ema, generator, state.ema_decay)

    return torch.cat([torch.stack([d_loss, g_loss]).detach(), scores])  # in the order of STAT_NAMES


@torch.no_grad()
def update_ema(ema, model, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, for every parameter, in one fused kernel. Modules,
    or lists of tensors (the stacked engine's, with a leading run dimension)."""
    averaged = list(ema.parameters()) if isinstance(ema, torch.nn.Module) else list(ema)
    current = list(model.parameters()) if isinstance(model, torch.nn.Module) else list(model)
    torch._foreach_lerp_(averaged, current, 1.0 - decay)


def batch_at(images: torch.Tensor, order: torch.Tensor, step: int, batch_size: int) -> torch.Tensor:
    """The step-th shuffled batch of the normalised data set: one gather on the device."""
    return images[order[step * batch_size : (step + 1) * batch_size]]
