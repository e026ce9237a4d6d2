"""The one epoch loop: for one run (fit), for N runs trained together (--seeds), and for live
training in the Space. What differs between them is handed in, not written again:

- the runner: what runs an epoch's steps and returns their sums (epochs.EagerEpoch or GraphEpoch
  for one run, engines.stacked.StackedEpoch for N), with `steps` and `run(on_step) -> totals`;
- set_rate: where a decaying recipe's rate of the epoch goes (one run's optimizers, or N's);
- on_step: called after each step with (step, totals) (a progress bar, or live training's
  updates, which may stop the loop by raising);
- on_epoch: called after each epoch with (epoch, means, seconds, lr): checkpoint, evaluation, log;
  it returns False to stop (a run of --seeds that diverged or lost its folder).

Ctrl-C and SIGTERM stop the loop after the step they came in (stop_requests.py says why not
sooner); they and every other exception propagate. `epoch` says which epoch was running, for the
line that says where the run stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from gan_core.config import TrainConfig
from gan_core.training.stop_requests import StopRequests


class EpochLoop:
    def __init__(self, runner, config: TrainConfig, set_rate: Callable[[float], None], first_epoch: int):
        self.runner, self.config, self.set_rate = runner, config, set_rate
        self.first_epoch = first_epoch
        self.epoch = first_epoch - 1  # the epoch running, or the last one run

    def run(
        self,
        on_epoch: Callable[[int, list, float, float | None], bool | None],
        on_step: Callable[[int], AbstractContextManager] | None = None,
        last_epoch: int | None = None,
    ) -> None:
        """Epochs first_epoch..last_epoch (default: config.epochs). `on_step(epoch)` gives a context
        (a progress bar) whose value is called after each step of that epoch."""
        decaying = self.config.resolved().lr_decay != "none"
        with StopRequests() as stops:
            for epoch in range(self.first_epoch, (last_epoch or self.config.epochs) + 1):
                self.epoch = epoch
                epoch_start = time.perf_counter()
                lr = self.config.lr_at(epoch) if decaying else None  # recorded only where it changes
                if decaying:
                    self.set_rate(lr)
                with on_step(epoch) if on_step is not None else nullcontext() as step_callback:

                    def after_step(step, totals, step_callback=step_callback):
                        stops.raise_if_any()
                        if step_callback is not None:
                            step_callback(step, totals)

                    totals = self.runner.run(on_step=after_step)
                    means = (totals / self.runner.steps).tolist()  # one host read, for one run or N
                if on_epoch(epoch, means, time.perf_counter() - epoch_start, lr) is False:
                    return
                stops.raise_if_any()  # one that came in while the epoch was written
