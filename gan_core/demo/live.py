"""Watch it learn: a fresh GAN trained for a set time in the Space, its progress streamed.

The training runs in a child process (`python -m gan_core.demo.live`), with one CPU thread at the lowest
priority (nice 19): the app's other tabs come first on the machine. A Stop, a closed tab, a client
that no longer reads the updates, or the time cap ends the run by ending the process, which frees
all it held. It writes nothing to disk. Each step is the one
train.py runs (the fused engine); only the loop around it is this file's: batches drawn from the
images in memory, and every UPDATE_EVERY_S seconds one line of JSON on stdout with the fixed-noise
grid and the means of the steps since the last line.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from gan_core.config import RECIPES
from gan_core.demo.sampler import check_seed, whole_number
from gan_core.messages import first_line, shown

MIN_SECONDS, MAX_SECONDS, DEFAULT_SECONDS = 5, 120, 60
MIN_LR, MAX_LR = 1e-5, 1e-3  # Adam at 2e-4 is the tutorial's; past 1e-3 this GAN falls apart at once
MIN_BATCH, MAX_BATCH = 16, 512
UPDATE_EVERY_S = 1.0
START_TIMEOUT_S = 60  # importing torch in the child, then reading MNIST: a few seconds on 2 vCPUs
STALL_S = 15  # an update not taken for this long means nobody is watching the run any more
FIRST_READER_S = 3.0  # a run whose caller does not read its queue messages within this never starts
POLL_S = 0.25  # how often a run asks whether it was stopped or lost its audience
CHILD_NICENESS = 19  # the lowest priority: a visitor's /generate runs first, the live run gets the rest
GRID_SCALE = 2


@dataclass(frozen=True)
class LiveSettings:
    recipe: str
    seconds: int
    seed: int
    lr: float
    batch_size: int

    @classmethod
    def checked(cls, recipe, seconds, seed, lr=2e-4, batch_size=100) -> LiveSettings:
        """The visitor's choices within safe bounds, or a ValueError naming the one that is not."""
        if not isinstance(recipe, str) or recipe not in RECIPES:
            raise ValueError(f"recipe must be one of {', '.join(RECIPES)}, got {shown(recipe)}")
        seconds = whole_number(seconds, "seconds", MIN_SECONDS, MAX_SECONDS)
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not MIN_LR <= lr <= MAX_LR:
            raise ValueError(f"lr must be a number from {MIN_LR:g} to {MAX_LR:g}, got {shown(lr)}")
        batch_size = whole_number(batch_size, "batch_size", MIN_BATCH, MAX_BATCH)
        return cls(recipe, seconds, check_seed(seed), float(lr), batch_size)


@dataclass
class LiveUpdate:
    """The run after `step` steps: means since the previous update, and G's fixed-noise grid."""

    step: int
    epoch: float  # passes over the training images, fractional
    seconds: float
    steps_per_second: float
    d_loss: float
    g_loss: float
    d_x: float
    d_g_z: float
    grid_png: bytes
    done: bool = False

    def to_line(self) -> str:
        return json.dumps({**asdict(self), "grid_png": base64.b64encode(self.grid_png).decode()})

    @classmethod
    def from_line(cls, line: str) -> LiveUpdate:
        fields = json.loads(line)
        return cls(**{**fields, "grid_png": base64.b64decode(fields["grid_png"])})


class TimeUp(Exception):
    """The live run's time is over: how its step callback ends the shared epoch loop."""


def train_for(settings: LiveSettings, data_folder: Path, emit) -> None:
    """The child's work: train from scratch until the time is up, calling emit(LiveUpdate)."""
    import torch

    from gan_core.config import TrainConfig
    from gan_core.data import read_mnist_idx
    from gan_core.images import digit_grid, png_bytes
    from gan_core.latent import seeded_noise
    from gan_core.runs.history import STAT_NAMES
    from gan_core.training.epochs import EagerEpoch
    from gan_core.training.loop import EpochLoop
    from gan_core.training.state import build_state

    torch.set_num_threads(1)
    with contextlib.suppress(RuntimeError):  # only possible before any parallel work has run
        torch.set_num_interop_threads(1)
    images = read_mnist_idx(data_folder, train=True)[0]
    if settings.batch_size > len(images):
        raise ValueError(f"batch_size {settings.batch_size} is more than the {len(images)} training images")
    torch.manual_seed(settings.seed)
    config = TrainConfig(recipe=settings.recipe, lr=settings.lr, batch_size=settings.batch_size,
                         seed=settings.seed, device="cpu")  # fmt: skip
    state = build_state(config, torch.device("cpu"))
    fixed_noise = seeded_noise(settings.seed, 64, config.latent_size)
    steps_per_epoch = max(len(images) // settings.batch_size, 1)

    def grid() -> bytes:
        with torch.no_grad():
            samples = state.published()(fixed_noise)
        return png_bytes(digit_grid(samples, columns=8, scale=GRID_SCALE))

    # The shared epoch loop, run until the time is up (no last epoch); after each step an update is
    # due every UPDATE_EVERY_S seconds, with the means of the steps since the one before.
    runner = EagerEpoch(state, images, settings.batch_size)  # it normalises the images once
    loop = EpochLoop(runner, config, set_rate=lambda lr: None, first_epoch=1)  # a constant rate here
    clock = {"began": time.monotonic(), "last": time.monotonic()}
    since = {"steps": 0, "sums": torch.zeros(len(STAT_NAMES)), "epoch_sums": torch.zeros(len(STAT_NAMES))}

    def after_steps_of(epoch: int):
        def after_step(step_in_epoch: int, epoch_totals: torch.Tensor) -> None:
            if step_in_epoch == 1:
                since["epoch_sums"] = torch.zeros(len(STAT_NAMES))
            since["sums"] += epoch_totals - since["epoch_sums"]  # this step's statistics
            since["epoch_sums"], since["steps"] = epoch_totals.clone(), since["steps"] + 1
            now, step = time.monotonic(), (epoch - 1) * steps_per_epoch + step_in_epoch
            done = now - clock["began"] >= settings.seconds
            if done or now - clock["last"] >= UPDATE_EVERY_S:
                means = dict(zip(STAT_NAMES, (since["sums"] / since["steps"]).tolist(), strict=True))
                emit(LiveUpdate(step=step, epoch=step / steps_per_epoch, seconds=now - clock["began"],
                                steps_per_second=since["steps"] / (now - clock["last"]), grid_png=grid(),
                                done=done, **means))  # fmt: skip
                clock["last"], since["steps"], since["sums"] = now, 0, torch.zeros(len(STAT_NAMES))
            if done:
                raise TimeUp

        return contextlib.nullcontext(after_step)

    try:
        loop.run(lambda *epoch_means: None, on_step=after_steps_of, last_epoch=sys.maxsize)
    except TimeUp:
        return


class LiveRunEnded(Exception):
    """A run ended before its time on purpose (a Stop, or nobody watching it): not an error."""


class LiveTrainer:
    """The app's side: one child at a time. A run that is asked to start while an earlier child is
    still alive (a client that vanished mid-stream) ends that child first.

    A run asks its caller two things every POLL_S: ended() names why it must end now (a Stop, a
    cancelled call, a client gone), else None; watched() says whether its updates are being read.
    A run nobody reads is not started (FIRST_READER_S), and ended once nobody has read it for
    stall_s."""

    def __init__(self, data_folder: Callable[[], Path], stall_s: float = STALL_S,
                 first_reader_s: float = FIRST_READER_S,
                 start_timeout_s: float = START_TIMEOUT_S):  # fmt: skip
        self.data_folder = data_folder  # the MNIST folder, or a ValueError saying why there is none yet
        self.stall_s, self.first_reader_s, self.start_timeout_s = stall_s, first_reader_s, start_timeout_s
        self._lock = threading.Lock()
        self._child: subprocess.Popen | None = None

    def stop(self) -> None:
        with self._lock:
            child, self._child = self._child, None
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()

    def run(self, settings: LiveSettings, ended: Callable[[], str | None] = lambda: None,
            watched: Callable[[], bool] = lambda: True) -> Iterator[LiveUpdate]:  # fmt: skip
        folder = self.data_folder()
        self._wait_for_a_reader(ended, watched)
        self.stop()
        environment = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        child = subprocess.Popen(
            [sys.executable, "-m", "gan_core.demo.live", json.dumps(asdict(settings)), str(folder)],
            cwd=Path(__file__).resolve().parents[2],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        with self._lock:
            self._child = child
        # The hard cap: whatever happens to the reader, the child dies after its time and a margin.
        # At nice 19 a child on a machine kept busy by the app's visitors may never get that far:
        # the visitor is then told so, not that "it was stopped".
        cap_s = settings.seconds + self.start_timeout_s
        ended_by = {"reason": None}

        def past_the_cap() -> None:
            ended_by["reason"] = (
                f"it was not done {cap_s:g} s after it started (the app's other requests come first, "
                "and the machine was busy with them); try again later, or a shorter run"
            )
            child.kill()

        watchdog = threading.Timer(cap_s, past_the_cap)
        watchdog.daemon = True
        watchdog.start()
        # A reader thread hands the lines over one at a time. If nobody takes one for stall_s (this
        # generator is no longer iterated, and nobody closed it), the child is killed then.
        lines: queue.Queue = queue.Queue(maxsize=1)

        def pump() -> None:
            try:
                for line in child.stdout:
                    lines.put(line, timeout=self.stall_s)
            except queue.Full:
                child.kill()
            finally:
                with contextlib.suppress(queue.Full):
                    lines.put(None, timeout=self.stall_s)

        threading.Thread(target=pump, name="live-training-reader", daemon=True).start()
        try:
            last_read = time.monotonic()
            while True:
                try:
                    line = lines.get(timeout=POLL_S)
                except queue.Empty:
                    line = ""
                last_read = self._check(ended, watched, last_read)
                if line is None:
                    break
                if line:
                    update = LiveUpdate.from_line(line)
                    yield update
                    if update.done:
                        return
            child.wait()
            error = child.stderr.read().strip().splitlines()
            reason = ended_by["reason"] or (
                first_line(error[-1]).removeprefix("ValueError: ") if error else "it was stopped"
            )
            raise ValueError(f"live training stopped: {reason}")
        finally:
            watchdog.cancel()
            if child.poll() is None:
                child.kill()
            child.wait()
            with self._lock:
                if self._child is child:
                    self._child = None

    def _check(self, ended, watched, last_read: float) -> float:
        """Raise LiveRunEnded when the run must end; else the last time it was seen read."""
        reason = ended()
        if reason:
            raise LiveRunEnded(reason)
        now = time.monotonic()
        if watched():
            return now
        if now - last_read > self.stall_s:
            raise LiveRunEnded(f"nobody read its updates for {self.stall_s:g} s")
        return last_read

    def _wait_for_a_reader(self, ended, watched) -> None:
        """Return once the caller reads its messages; raise LiveRunEnded if it does not (a call
        whose result nobody asks for) or the run ended while waiting, before any child starts."""
        deadline = time.monotonic() + self.first_reader_s
        while True:
            reason = ended()
            if reason:
                raise LiveRunEnded(reason)
            if watched():
                return
            if time.monotonic() > deadline:
                raise LiveRunEnded(f"nobody read its messages within {self.first_reader_s:g} s of its start")
            time.sleep(0.05)


def main(argv: list[str]) -> int:
    with contextlib.suppress(OSError):  # the app's requests come first on the machine
        os.nice(CHILD_NICENESS)
    settings = LiveSettings(**json.loads(argv[0]))

    def emit(update: LiveUpdate) -> None:
        print(update.to_line(), flush=True)

    with contextlib.suppress(BrokenPipeError):  # the app stopped reading: the visitor has gone
        train_for(settings, Path(argv[1]), emit)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
