"""Many independent runs in one step: the fused step with every weight stacked on a leading run
dimension, so that N runs cost one batched matrix product per layer instead of N small ones.

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
import torch.nn.functional as F

from .config import TrainConfig
from .fused_step import _bce_logit_gradient
from .step import TrainState, _nan_as_half, build_state

LAYERS = ("net.0", "net.2", "net.4")  # the three Linear layers of both networks


class StackedRuns:
    """N runs of one config that differ only by seed, trained together on one device.

    Built from the runs' own TrainStates (fresh, or restored by --resume) and each run's random
    generator where it stands; write_back() puts the weights and Adam's moments back into those
    states, so that each run's checkpoint is the one a single run writes.
    """

    def __init__(self, config: TrainConfig, states: list[TrainState], rngs: list[torch.Generator], device):
        if not supports(config):
            raise ValueError(
                "stacked runs need the fused engine, and support neither an EMA nor a decaying rate yet"
            )
        recipe = config.resolved()
        self.config, self.device, self.rngs = config, device, list(rngs)
        self.real_label, self.r1_gamma = recipe.real_label, recipe.r1_gamma
        self.slope = states[0].discriminator.net[1].negative_slope  # D's leaky_relu
        self.g = _stacked_parameters([state.generator for state in states], device)
        self.d = _stacked_parameters([state.discriminator for state in states], device)
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

    def write_back(self, states: list[TrainState]) -> None:
        """Each run's weights and Adam moments into its own TrainState (for its checkpoint)."""
        for index, state in enumerate(states):
            for networks, stacked in ((state.generator, self.g), (state.discriminator, self.d)):
                for param, rows in zip(networks.parameters(), stacked, strict=True):
                    param.data.copy_(rows.data[index])
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

    @torch.no_grad()
    def step(self, real_images: torch.Tensor) -> torch.Tensor:
        """One step of every run on its batch, real_images (N, B, 784) in [-1, 1].

        Returns (N, 4): each run's d_loss, g_loss, D(x), D(G(z)), as train_step returns them.
        """
        runs, batch_size = real_images.shape[:2]
        noise = self.noise(2 * batch_size)
        g_hidden1 = _linear(self.g[0:2], noise).relu_()
        g_hidden2 = _linear(self.g[2:4], g_hidden1).relu_()
        fakes = _linear(self.g[4:6], g_hidden2).tanh_()

        # (1) D on [real; fake] of each run
        images = torch.cat([real_images, fakes[:, :batch_size]], dim=1)
        targets = torch.cat([torch.full((batch_size, 1), self.real_label), torch.zeros(batch_size, 1)])
        targets = targets.to(self.device).expand(runs, -1, -1)
        hidden1, hidden2, scores = self._discriminator(images)
        d_loss, grad = _bce(scores, targets, scale=2.0)
        grad2 = self._through_leaky_relu(grad @ self.d[4], hidden2)
        grad1 = self._through_leaky_relu(grad2 @ self.d[2], hidden1)
        d_grads = [
            grad1.transpose(1, 2) @ images,
            grad1.sum(1),
            grad2.transpose(1, 2) @ hidden1,
            grad2.sum(1),
            grad.transpose(1, 2) @ hidden2,
            grad.sum(1),
        ]
        if self.r1_gamma > 0:
            self._add_r1_gradients(d_grads, hidden1[:, :batch_size], hidden2[:, :batch_size])
        for param, grad in zip(self.d, d_grads, strict=True):
            param.grad = grad
        self.d_optimizer.step()

        # (2) G: each run's other B fakes against its updated D, target 1
        fakes_for_g = fakes[:, batch_size:]
        hidden1, hidden2, g_scores = self._discriminator(fakes_for_g)
        g_loss, grad = _bce(g_scores, torch.ones_like(g_scores), scale=1.0)
        grad = self._through_leaky_relu(grad @ self.d[4], hidden2)
        grad = self._through_leaky_relu(grad @ self.d[2], hidden1)
        grad = (grad @ self.d[0]) * (1 - fakes_for_g * fakes_for_g)
        g_inputs, g_grads = (noise, g_hidden1, g_hidden2), []
        for index in (2, 1, 0):
            layer_input = g_inputs[index][:, batch_size:]
            g_grads[:0] = [grad.transpose(1, 2) @ layer_input, grad.sum(1)]
            if index > 0:
                grad = torch.ops.aten.threshold_backward(grad @ self.g[2 * index], layer_input, 0)
        for param, grad in zip(self.g, g_grads, strict=True):
            param.grad = grad
        self.g_optimizer.step()

        d_scores = scores.view(runs, 2, batch_size).mean(dim=2)
        return torch.cat([torch.stack([d_loss, g_loss], dim=1), d_scores], dim=1)

    def _discriminator(self, images):
        hidden1 = F.leaky_relu(_linear(self.d[0:2], images), self.slope)
        hidden2 = F.leaky_relu(_linear(self.d[2:4], hidden1), self.slope)
        return hidden1, hidden2, torch.sigmoid(_linear(self.d[4:6], hidden2))

    def _through_leaky_relu(self, grad, activated):
        return torch.ops.aten.leaky_relu_backward(grad, activated, self.slope, True)

    def _add_r1_gradients(self, d_grads, hidden1, hidden2) -> None:
        """fused_step._add_r1_gradients, for every run at once."""
        weight1, weight2, weight3 = self.d[0], self.d[2], self.d[4]
        logit_grad2 = self._through_leaky_relu(weight3.expand(-1, hidden2.shape[1], -1), hidden2)
        logit_grad1 = self._through_leaky_relu(logit_grad2 @ weight2, hidden1)
        grad_image_grad = (logit_grad1 @ weight1).mul_(self.r1_gamma / hidden1.shape[1])
        d_grads[0].baddbmm_(logit_grad1.transpose(1, 2), grad_image_grad)
        grad_logit_grad1 = self._through_leaky_relu(grad_image_grad @ weight1.transpose(1, 2), hidden1)
        d_grads[2].baddbmm_(logit_grad2.transpose(1, 2), grad_logit_grad1)
        grad_logit_grad2 = self._through_leaky_relu(grad_logit_grad1 @ weight2.transpose(1, 2), hidden2)
        d_grads[4] += grad_logit_grad2.sum(1, keepdim=True)


def supports(config: TrainConfig) -> bool:
    """Whether runs of this config can be stacked: the fused engine's recipe without an EMA or a
    decaying rate, which the stacked step does not do (yet)."""
    recipe = config.resolved()
    return (
        config.engine == "fused"
        and not config.compile
        and recipe.ema_decay == 0
        and recipe.lr_decay == "none"
    )


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


def _linear(layer, inputs: torch.Tensor) -> torch.Tensor:
    weight, bias = layer
    return torch.baddbmm(bias.unsqueeze(1), inputs, weight.transpose(1, 2))


def _bce(scores: torch.Tensor, targets: torch.Tensor, scale: float):
    """Each run's scale * BCE (mean over its rows) and its d/d logit, as fused_step forms them."""
    safe = _nan_as_half(scores)
    losses = scale * F.binary_cross_entropy(safe, targets, reduction="none").mean(dim=(1, 2))
    return losses, _bce_logit_gradient(scores, safe, targets, scale)
