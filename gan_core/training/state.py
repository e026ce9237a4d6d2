"""A run's training state: the networks, their optimizers, the BCE targets, the EMA and the engine
that steps them (TrainState, build_state), the device it trains on, and its learning rate.

The step itself is the engine's: reference.train_step (the tutorial's algorithm, autograd) or
fused_step.fused_train_step; each changes the state in place and returns the step's statistics
as one device tensor, so a caller never has to sync.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass

import torch

from gan_core.config import TrainConfig
from gan_core.models import Discriminator, Generator
from gan_core.training.ema import Ema
from gan_core.training.engines.registry import select_engine


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
    # The exponential moving average of G's weights (None when the recipe has none): averaging
    # over the late, oscillating part of training gives steadier samples than the last step's.
    averaging: Ema | None = None
    r1_gamma: float = 0.0
    # What runs one step, as engines.select_engine chose it: reference.train_step, or
    # fused_step.fused_train_step with its layer work (torch operations, or Triton kernels).
    step: Callable[[TrainState, torch.Tensor], torch.Tensor] | None = None
    ops: object | None = None
    engine_name: str = ""  # autograd, compiled, fused or triton: what --engine (auto) came to

    def run_step(self, real_images: torch.Tensor) -> torch.Tensor:
        return self.step(self, real_images)

    @property
    def ema(self) -> Generator | None:
        """The averaged generator, or None without an EMA."""
        return self.averaging.averaged if self.averaging is not None else None

    @property
    def ema_decay(self) -> float:
        return self.averaging.decay if self.averaging is not None else 0.0

    def weights_finite(self) -> bool:
        """Checked once per epoch: D's last update can turn its weights NaN after the last score."""
        modules = [self.generator, self.discriminator] + ([self.ema] if self.ema is not None else [])
        finite = [param.isfinite().all() for module in modules for param in module.parameters()]
        return bool(torch.stack(finite).all())

    def published(self) -> Generator:
        """The generator a run publishes: the EMA of its weights when there is one."""
        return self.ema if self.ema is not None else self.generator

    def state_dict(self) -> dict:
        """The networks, Adam's moments and the EMA: the training part of a checkpoint (the run adds
        its epoch and random generators; runs.writer.resume_state). The one place its keys live."""
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "g_optimizer": self.g_optimizer.state_dict(),
            "d_optimizer": self.d_optimizer.state_dict(),
            "ema": self.averaging.state_dict() if self.averaging is not None else None,
        }

    def load_state_dict(self, saved: dict) -> None:
        """What state_dict() returned, back in place (a checkpoint without an EMA leaves it as built)."""
        self.generator.load_state_dict(saved["generator"])
        self.discriminator.load_state_dict(saved["discriminator"])
        self.g_optimizer.load_state_dict(saved["g_optimizer"])
        self.d_optimizer.load_state_dict(saved["d_optimizer"])
        if self.averaging is not None and saved.get("ema") is not None:
            self.averaging.load_state_dict(saved["ema"])


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
        threads = torch.get_num_threads()
        processor = platform.processor() or platform.machine()
        name = f"{device.type} ({processor}, {threads} thread{'' if threads == 1 else 's'})"
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
        d_loss_fn=None,  # the engine's, below
        g_loss_fn=None,
        r1_gamma=recipe.r1_gamma,
    )
    if recipe.ema_decay > 0:
        # Built as a Generator, then given G's weights, rather than deep-copied: building draws
        # from the global RNG exactly as it always has, so a seed keeps meaning the same run.
        averaged = Generator(**config.model.to_dict()).to(device)
        averaged.load_state_dict(generator.state_dict())
        state.averaging = Ema(averaged, recipe.ema_decay)
    engine = select_engine(config, device)  # the one place that decides, or a ValueError saying why
    state.step, state.ops, state.engine_name = engine.step, engine.ops, engine.name
    state.d_loss_fn, state.g_loss_fn = engine.d_loss_fn, engine.g_loss_fn
    return state


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


def batch_at(images: torch.Tensor, order: torch.Tensor, step: int, batch_size: int) -> torch.Tensor:
    """The step-th shuffled batch of the normalised data set: one gather on the device."""
    return images[order[step * batch_size : (step + 1) * batch_size]]
