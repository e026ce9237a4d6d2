"""Many independent runs in one step: the fused step's math (backprop.py beside it, written once)
with every weight stacked on a leading run dimension, so that N runs cost one batched matrix
product per layer instead of N small ones; with the recipe's EMA and decaying rate, as one run.

Why: on a GPU one run of these small MLPs is bound by launching kernels, not by arithmetic; N
runs in the same kernels cost about as many launches as one. On a CPU, which is already busy with
one run's products, it saves little, and the benchmark (benchmarks/stacked_runs.py) says so.

Each run keeps what makes it itself: its weights (built from its seed, as a single run builds
them), its own random generator for shuffling and noise, drawn in the order a single run draws,
its Adam moments and its statistics. The runs share only the step's shape: recipe, sizes and
learning rate. tests/test_stacked_step.py holds every run to the single run of its seed.
"""

from __future__ import annotations

import torch

from gan_core.config import TrainConfig
from gan_core.data import to_model_range
from gan_core.runs.history import STAT_NAMES
from gan_core.training.ema import Ema
from gan_core.training.engines.backprop import (
    discriminator_gradients,
    generator_forward,
    generator_gradients,
    rows,
    step_statistics,
)
from gan_core.training.engines.ops import TorchOps
from gan_core.training.engines.registry import runs_stack
from gan_core.training.state import TrainState, build_state

LAYERS = ("net.0", "net.2", "net.4")  # the three Linear layers of both networks


class StackedRuns:
    """N runs of one config that differ only by seed, trained together on one device.

    Built from the runs' own TrainStates (fresh, or restored by --resume) and each run's random
    generator where it stands; write_back() puts the weights and Adam's moments back into those
    states, so that each run's checkpoint is the one a single run writes.
    """

    def __init__(self, config: TrainConfig, states: list[TrainState], rngs: list[torch.Generator], device):
        if not runs_stack(config):  # the one rule, registry.py's
            raise ValueError("stacked runs need the fused engine (with torch operations, without --compile)")
        recipe = config.resolved()
        self.config, self.device, self.rngs = config, device, list(rngs)
        self.real_label, self.r1_gamma = recipe.real_label, recipe.r1_gamma
        self.slope = states[0].discriminator.net[1].negative_slope  # D's leaky_relu
        self._target_cache: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}
        self.g = _stacked_parameters([state.generator for state in states], device)
        self.d = _stacked_parameters([state.discriminator for state in states], device)
        # Each run's EMA of its generator, stacked like its weights (None without an EMA).
        self.averaging = (
            Ema([p.detach() for p in _stacked_parameters([s.ema for s in states], device)], recipe.ema_decay)
            if recipe.ema_decay > 0
            else None
        )
        betas = recipe.adam_betas
        self.g_optimizer = torch.optim.Adam(self.g, lr=config.lr, betas=betas, fused=True)
        self.d_optimizer = torch.optim.Adam(self.d, lr=config.lr, betas=betas, fused=True)
        _stack_adam_moments(self.g_optimizer, [state.g_optimizer for state in states])
        _stack_adam_moments(self.d_optimizer, [state.d_optimizer for state in states])

    @classmethod
    def fresh(cls, config: TrainConfig, seeds: list[int], device) -> StackedRuns:
        """New runs, each built from its seed as fit() builds a single run."""
        states, rngs = [], []
        for seed in seeds:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)  # what fit() does before build_state
                states.append(build_state(config, torch.device("cpu")))
                rngs.append(run_generator(device, seed))
        return cls(config, states, rngs, device)

    def set_learning_rate(self, lr: float) -> None:
        """Every run's rate (a decaying recipe's rate of the epoch), as set_learning_rate does for one."""
        for optimizer in (self.g_optimizer, self.d_optimizer):
            for group in optimizer.param_groups:
                group["lr"] = lr

    def write_back(self, states: list[TrainState]) -> None:
        """Each run's weights, EMA and Adam moments into its own TrainState (for its checkpoint)."""
        for index, state in enumerate(states):
            pairs = [(state.generator, self.g), (state.discriminator, self.d)]
            if self.averaging is not None:
                pairs.append((state.ema, self.averaging.averaged))
            for network, stacked in pairs:
                for param, stacked_param in zip(network.parameters(), stacked, strict=True):
                    param.data.copy_(stacked_param.data[index])
            _unstack_adam_moments(self.g_optimizer, state.g_optimizer, index)
            _unstack_adam_moments(self.d_optimizer, state.d_optimizer, index)

    def __len__(self) -> int:
        return len(self.rngs)

    def noise(self, rows: int) -> torch.Tensor:
        """(N, rows, latent) noise, each run's from its own generator, as a single run draws it."""
        latent, device = self.g[0].shape[-1], self.device
        return torch.stack([torch.randn(rows, latent, generator=rng, device=device) for rng in self.rngs])

    def orders(self, images: int) -> torch.Tensor:
        """(N, images): each run's shuffle of the data set for an epoch."""
        device = self.device
        return torch.stack([torch.randperm(images, generator=rng, device=device) for rng in self.rngs])

    def generator_weights(self, run: int) -> dict[str, torch.Tensor]:
        """Run `run`'s generator as a state dict of gan_core.models.Generator."""
        return _state_dict(self.g, run)

    def discriminator_weights(self, run: int) -> dict[str, torch.Tensor]:
        return _state_dict(self.d, run)

    def _targets(self, runs: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """D's targets [real_label; 0] and G's 1 for each run's batch, made once per batch shape (as
        build_state makes one run's), not at every step."""
        if (runs, batch_size) not in self._target_cache:
            real_and_fake = torch.cat(
                [torch.full((batch_size, 1), self.real_label), torch.zeros(batch_size, 1)]
            )
            self._target_cache[runs, batch_size] = (
                real_and_fake.to(self.device).expand(runs, -1, -1),
                torch.ones(runs, batch_size, 1, device=self.device),
            )
        return self._target_cache[runs, batch_size]

    @torch.no_grad()
    def step(self, real_images: torch.Tensor) -> torch.Tensor:
        """One step of every run on its batch, real_images (N, B, 784) in [-1, 1].

        Returns (N, 4): each run's d_loss, g_loss, D(x), D(G(z)), as train_step returns them.
        """
        runs, batch_size = real_images.shape[:2]
        noise = self.noise(2 * batch_size)
        g_inputs, fakes = generator_forward(TorchOps, self.g, noise)

        # (1) D on [real; fake] of each run
        d_targets, g_targets = self._targets(runs, batch_size)
        d_loss, scores, d_grads = discriminator_gradients(
            TorchOps, self.d, self.slope, real_images, rows(fakes, None, batch_size), d_targets, self.r1_gamma
        )
        for param, grad in zip(self.d, d_grads, strict=True):
            param.grad = grad
        self.d_optimizer.step()

        # (2) G: each run's other B fakes against its updated D, target 1
        fakes_for_g = rows(fakes, batch_size, None)
        g_loss, g_grads = generator_gradients(
            TorchOps, self.g, self.d, self.slope, [rows(x, batch_size, None) for x in g_inputs], fakes_for_g,
            g_targets,
        )  # fmt: skip
        for param, grad in zip(self.g, g_grads, strict=True):
            param.grad = grad
        self.g_optimizer.step()
        if self.averaging is not None:
            self.averaging.update(self.g)
        return step_statistics(d_loss, g_loss, scores)


class StackedEpoch:
    """An epoch of steps of N stacked runs, as epochs.EagerEpoch runs one run's: each run shuffles
    the data with its own generator; returns the (N, 4) sums of the runs' statistics."""

    name = "stacked"

    def __init__(self, runs: StackedRuns, images: torch.Tensor, batch_size: int):
        self.runs, self.images, self.batch_size = runs, to_model_range(images), batch_size
        self.steps = len(images) // batch_size

    def run(self, on_step=None) -> torch.Tensor:
        orders = self.runs.orders(len(self.images))  # (runs, images): each run's own shuffle
        totals = torch.zeros(len(self.runs), len(STAT_NAMES), device=self.images.device)
        size = self.batch_size
        for step in range(self.steps):
            totals += self.runs.step(self.images[orders[:, step * size : (step + 1) * size]])
            if on_step is not None:
                on_step(step + 1, totals)
        return totals


def run_generator(device: torch.device, seed: int | None = None) -> torch.Generator:
    """A run's own generator on `device`, standing where a single run's global one would."""
    rng = torch.Generator(device=device)
    if device.type == "cpu":  # the CPU RNG also drew the weights: go on from where that left it
        rng.set_state(torch.get_rng_state())
    elif seed is not None:  # a fresh run's device RNG, as torch.manual_seed(seed) leaves it
        rng.manual_seed(seed)
    else:  # as the run's prepare() (a seed, or a resumed state) left the device's RNG
        rng.set_state(torch.cuda.get_rng_state(device))
    return rng


def use_as_global(rng: torch.Generator, device: torch.device) -> None:
    """Make `rng`'s state the global one of its device (what a run's checkpoint records)."""
    if device.type == "cpu":
        torch.set_rng_state(rng.get_state())
    else:
        torch.cuda.set_rng_state(rng.get_state(), device)


def _stack_adam_moments(stacked: torch.optim.Adam, singles: list[torch.optim.Adam]) -> None:
    """Resumed runs carry Adam's step and moments; all at the same step, they stack."""
    firsts = singles[0].param_groups[0]["params"]
    if firsts[0] not in singles[0].state:
        return  # fresh runs: nothing to carry over
    for index, param in enumerate(stacked.param_groups[0]["params"]):
        per_run = [single.state[single.param_groups[0]["params"][index]] for single in singles]
        stacked.state[param] = {
            "step": per_run[0]["step"].clone().to(param.device),
            "exp_avg": torch.stack([state["exp_avg"] for state in per_run]).to(param.device),
            "exp_avg_sq": torch.stack([state["exp_avg_sq"] for state in per_run]).to(param.device),
        }


def _unstack_adam_moments(stacked: torch.optim.Adam, single: torch.optim.Adam, run: int) -> None:
    for param, own in zip(stacked.param_groups[0]["params"], single.param_groups[0]["params"], strict=True):
        state = stacked.state[param]
        single.state[own] = {
            "step": state["step"].clone().to(own.device),
            "exp_avg": state["exp_avg"][run].clone().to(own.device),
            "exp_avg_sq": state["exp_avg_sq"][run].clone().to(own.device),
        }


def _stacked_parameters(networks, device) -> list[torch.nn.Parameter]:
    """[weight0, bias0, weight1, bias1, weight2, bias2], each (N, ...) over the runs."""
    states = [network.state_dict() for network in networks]
    names = [f"{layer}.{kind}" for layer in LAYERS for kind in ("weight", "bias")]
    return [torch.nn.Parameter(torch.stack([state[name] for state in states]).to(device)) for name in names]


def _state_dict(parameters, run: int) -> dict[str, torch.Tensor]:
    names = [f"{layer}.{kind}" for layer in LAYERS for kind in ("weight", "bias")]
    return {name: param[run].detach().clone() for name, param in zip(names, parameters, strict=True)}
