"""Which engine steps a run: the one place that decides autograd, fused, Triton or compiled, and
whether runs of it can be stacked (--seeds trained together), or says why it cannot run here.

    engine = select_engine(config, device)   # an Engine, or a ValueError with the reason
    engine_problem(config, device)           # the reason alone (train.py asks before any work)

Engines, by --engine and --compile (--engine auto, the default: triton on CUDA, else fused):
- autograd: reference.train_step, the tutorial's algorithm with autograd (what How it works shows);
- compiled (--compile): the same step with its two losses torch.compile'd;
- fused (the default): the step's backward passes written out (backprop.py), torch operations;
  the only one whose runs stack (stacked.py shares its math);
- triton (CUDA only): the fused step with each layer's work in one Triton kernel (ops.py).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

import torch

from gan_core.config import TrainConfig
from gan_core.training.engines.fused import fused_train_step
from gan_core.training.engines.reference import discriminator_loss, generator_loss, train_step


@dataclass(frozen=True)
class Engine:
    name: str
    step: Callable  # (TrainState, real_images) -> the step's statistics
    ops: object | None = None  # the fused step's layer work: None for torch operations
    d_loss_fn: Callable = discriminator_loss  # the reference step's losses (compiled with --compile)
    g_loss_fn: Callable = generator_loss


def engine_problem(config: TrainConfig, device: torch.device) -> str | None:
    """Why --engine cannot run as asked on `device` (None when it can): train.py asks before it
    touches the Hub or any folder, build_state again before it builds anything."""
    if config.engine == "triton" and config.compile:
        return "--compile compiles the autograd step, --engine triton is the fused one: choose one of them"
    if config.engine == "triton" and device.type != "cuda":
        return "--engine triton runs Triton kernels on a CUDA GPU; use --engine fused here"
    return None


def engine_name(config: TrainConfig, device: torch.device | None = None) -> str:
    """Which engine `config` runs on `device`: --compile compiles the autograd step, else --engine.
    auto (the default) is triton on CUDA where Triton is installed: on an H200 it ran an epoch in
    0.146 s against fused's 0.177 (0.167 against 0.198 with R1), in the same run of
    benchmarks/train_speed.py. Elsewhere, and for runs stacked by --seeds, auto is fused."""
    if config.compile:
        return "compiled"
    if config.engine == "auto":
        on_cuda = device is not None and device.type == "cuda"
        return "triton" if on_cuda and importlib.util.find_spec("triton") is not None else "fused"
    return config.engine


def runs_stack(config: TrainConfig) -> bool:
    """Whether runs of `config` can train together in one step: the fused engine's (stacked.py
    runs its math, with torch operations, for N runs), which auto picks for them; the others train
    one run at a time."""
    return engine_name(config) == "fused"


def select_engine(config: TrainConfig, device: torch.device) -> Engine:
    """The engine `config` asks for on `device`, or a ValueError saying why it cannot run."""
    problem = engine_problem(config, device)
    if problem:
        raise ValueError(problem)
    name = engine_name(config, device)
    if name == "compiled":
        # Fuses the small elementwise kernels around each Linear (forward and backward); costs
        # compile time at start-up, so it is opt-in and measured in benchmarks/train_speed.py.
        return Engine(
            name, train_step, None, torch.compile(discriminator_loss), torch.compile(generator_loss)
        )
    if name == "autograd":
        return Engine(name, train_step)
    if name == "triton":
        from gan_core.training.engines.ops import (
            TritonOps,  # deferred: Triton, and its kernels, only for this engine
        )

        return Engine(name, fused_train_step, TritonOps())
    return Engine(name, fused_train_step)
