"""The two ways to run an epoch of steps (the state's engine), side by side.

- EagerEpoch: a Python loop over batches (CPU, MPS, and CUDA with --no-cuda-graphs);
- GraphEpoch: a whole epoch of steps captured once as a CUDA graph and replayed, which removes
  the per-kernel launch cost that dominates this tiny model on a GPU.
Both keep MNIST on the device, shuffle with a device randperm, accumulate the epoch's sums on the
device, and hand them back once per epoch.
"""

from __future__ import annotations

import torch

from gan_core.data import to_model_range
from gan_core.runs.history import STAT_NAMES
from gan_core.training.state import TrainState, batch_at


class EagerEpoch:
    """A Python loop over the epoch's batches; the reference path and the CPU path."""

    name = "eager"

    def __init__(self, state: TrainState, images: torch.Tensor, batch_size: int):
        # Normalised once for the whole run, on the device: no per-batch conversion kernels.
        self.state, self.images, self.batch_size = state, to_model_range(images), batch_size
        self.steps = len(images) // batch_size  # a last partial batch is dropped (60,000 / 100 leaves none)

    def run(self, on_step=None) -> torch.Tensor:
        order = torch.randperm(len(self.images), device=self.images.device)
        totals = torch.zeros(len(STAT_NAMES), device=self.images.device)
        for step in range(self.steps):
            totals += self.state.run_step(batch_at(self.images, order, step, self.batch_size))
            if on_step is not None:
                on_step(step + 1, totals)
        return totals


class GraphEpoch:
    """A whole epoch captured as one CUDA graph: 600 steps cost one launch instead of ~50,000.

    Capture records the kernels with fixed tensor addresses, so the permutation, the sums and
    every parameter, gradient and optimizer state live in tensors the graph reuses; noise is
    drawn inside the graph from CUDA's graph-safe generator, fresh on every replay.
    """

    name = "cuda-graphs"
    WARMUP_STEPS = 3

    def __init__(self, state: TrainState, images: torch.Tensor, batch_size: int):
        self.state, self.images, self.batch_size = state, to_model_range(images), batch_size
        self.steps = len(images) // batch_size
        # arange, not randperm: building the runner must not draw from the RNG the epochs use
        self.order = torch.arange(len(images), device=images.device)
        self.totals = torch.zeros(len(STAT_NAMES), device=images.device)
        self._warm_up()
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.totals.zero_()
            for step in range(self.steps):
                self.totals += state.run_step(batch_at(self.images, self.order, step, batch_size))

    def _warm_up(self) -> None:
        """Run a few steps on a side stream so cuBLAS, autograd and Adam's state exist before
        capture (as torch.cuda.graphs asks), then put every weight, moment and RNG state back:
        warm-up steps must not count as training."""
        snapshot = _snapshot(self.state)
        side_stream = torch.cuda.Stream()
        side_stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side_stream):
            for step in range(self.WARMUP_STEPS):
                self.state.run_step(batch_at(self.images, self.order, step, self.batch_size))
        torch.cuda.current_stream().wait_stream(side_stream)
        _restore(self.state, snapshot)

    def run(self, on_step=None) -> torch.Tensor:
        torch.randperm(len(self.images), device=self.images.device, out=self.order)
        self.graph.replay()
        if on_step is not None:
            on_step(self.steps, self.totals)
        return self.totals


def make_epoch_runner(state: TrainState, images: torch.Tensor, batch_size: int, use_graphs: bool, log=print):
    """The CUDA-graph runner where asked and possible, else eager; a failed capture falls back."""
    if use_graphs and images.device.type == "cuda":
        try:
            return GraphEpoch(state, images, batch_size)
        except Exception as error:  # capture fails on odd drivers or unsupported ops
            log(f"CUDA graph capture failed ({type(error).__name__}: {error}); training eagerly instead")
            torch.cuda.synchronize()
    return EagerEpoch(state, images, batch_size)


def _snapshot(state: TrainState) -> dict:
    modules = (state.generator, state.discriminator, *([state.ema] if state.ema is not None else []))
    params = [p for module in modules for p in module.parameters()]
    moments = {}
    for optimizer in (state.g_optimizer, state.d_optimizer):
        for param, param_state in optimizer.state.items():
            moments[param] = {k: v.clone() if torch.is_tensor(v) else v for k, v in param_state.items()}
    return {
        "params": [(p, p.detach().clone()) for p in params],
        "moments": moments,
        "cpu_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state(),
    }


def _restore(state: TrainState, snapshot: dict) -> None:
    with torch.no_grad():
        for param, saved in snapshot["params"]:
            param.copy_(saved)
            param.grad = None
        for optimizer in (state.g_optimizer, state.d_optimizer):
            for param, param_state in optimizer.state.items():
                saved = snapshot["moments"].get(param)
                for key, value in param_state.items():
                    if torch.is_tensor(value):
                        # A fresh Adam has no state yet; zero moments and step 0 behave the same.
                        value.copy_(saved[key]) if saved else value.zero_()
    torch.set_rng_state(snapshot["cpu_rng"])
    torch.cuda.set_rng_state(snapshot["cuda_rng"])
