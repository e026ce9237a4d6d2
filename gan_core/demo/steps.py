"""Training one step at a time, in the spirit of GAN Lab: each step is one D update and one G update
(the step train.py runs, from its engine), and after it D's scores on a fixed set of real and
generated digits, so a visitor sees them move step by step.

A view is a pure function of (recipe, seed, steps): the networks start from the seed, and step k's
batch and noise come from (seed, k) alone. So a link or an API call names a moment of training,
and "one more step" is the view of steps + 1. The last few runs are kept (CACHED_RUNS), so that
a next step costs one step, not a replay from the start."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import torch
from PIL import Image

from gan_core.config import RECIPES, TrainConfig
from gan_core.data import to_model_range
from gan_core.demo.critic import score_line
from gan_core.demo.nearest import return_freed_memory
from gan_core.demo.sampler import GRID_SCALE, check_seed, whole_number
from gan_core.images import captioned_grid, digit_grid
from gan_core.latent import seeded_noise
from gan_core.messages import shown
from gan_core.runs.history import STAT_NAMES
from gan_core.training.state import build_state

# A replay from the start (a run no longer kept, or a step back) takes up to 5 s on a busy 2-core CPU:
# the bound on what one call can cost everyone (the app runs these calls one at a time).
MAX_STEPS = 500
BATCH_SIZE = 100  # the tutorial's
PROBE = 8  # real and generated digits whose scores are shown
CACHED_RUNS = 4  # about 7 MB each: the networks and their Adam moments
TRIM_AFTER = 50  # steps run in one call past which the freed memory is handed back
CAPTION_SIZE = 32


@dataclass
class StepView:
    recipe: str
    seed: int
    steps: int
    picture: Image.Image  # the probe's real digits (top row) and generated ones, D's score under each
    real_scores: list[float]
    fake_scores: list[float]
    last_step: dict[str, float] | None  # the last step's losses and mean scores on its batch


class SteppedRun:
    """One run, trained step by step on the CPU from its recipe and seed."""

    def __init__(self, recipe: str, seed: int, images: torch.Tensor):
        self.recipe, self.seed, self.steps = recipe, seed, 0
        config = TrainConfig(recipe=recipe, seed=seed, batch_size=BATCH_SIZE, device="cpu")
        with torch.random.fork_rng(devices=[]):  # the networks from the seed, as train.py builds them
            torch.manual_seed(seed)
            self.state = build_state(config, torch.device("cpu"))
        probe = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:PROBE]
        self.probe_real = to_model_range(images[probe])
        self.probe_noise = seeded_noise(seed, PROBE, config.latent_size)
        self.last_step: dict[str, float] | None = None

    def advance(self, images: torch.Tensor) -> None:
        """One step: its batch and noise drawn from (seed, step) alone."""
        step = self.steps + 1
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed * 1_000_003 + step)
            batch = to_model_range(images[torch.randint(len(images), (BATCH_SIZE,))])
            stats = self.state.run_step(batch)
        self.last_step = dict(zip(STAT_NAMES, stats.tolist(), strict=True))
        self.steps = step

    @torch.inference_mode()
    def view(self) -> StepView:
        fakes = self.state.generator(self.probe_noise)
        scores = self.state.discriminator(torch.cat([self.probe_real, fakes]))[:, 0].tolist()
        kinds = ["real"] * PROBE + ["fake"] * PROBE
        captions = [f"{kind}\n{score_line(score)}" for kind, score in zip(kinds, scores, strict=True)]
        grid = digit_grid(torch.cat([self.probe_real, fakes]), columns=PROBE, scale=GRID_SCALE)
        picture = captioned_grid(grid, captions, columns=PROBE, scale=GRID_SCALE, font_size=CAPTION_SIZE)
        return StepView(
            self.recipe, self.seed, self.steps, picture, scores[:PROBE], scores[PROBE:], self.last_step
        )


class Stepper:
    """The app's step-by-step runs. `training_images` gives the MNIST training images ((N, 784)
    uint8), or a ValueError saying why there are none yet."""

    def __init__(self, training_images: Callable[[], torch.Tensor]):
        self.training_images = training_images
        self._lock = threading.Lock()  # one run steps at a time: the seeded global RNG is shared
        self._runs: OrderedDict[tuple[str, int], SteppedRun] = OrderedDict()

    def view(self, recipe, seed, steps) -> StepView:
        if not isinstance(recipe, str) or recipe not in RECIPES:
            raise ValueError(f"recipe must be one of {', '.join(RECIPES)}, got {shown(recipe)}")
        seed, steps = check_seed(seed), whole_number(steps, "steps", 0, MAX_STEPS)
        images = self.training_images()
        with self._lock:
            run = self._runs.pop((recipe, seed), None)
            if run is None or run.steps > steps:  # a step back is a replay from the start
                run = SteppedRun(recipe, seed, images)
            replayed = steps - run.steps
            while run.steps < steps:
                run.advance(images)
            if replayed >= TRIM_AFTER:
                # Each step's activations are freed, but glibc keeps the pages; handing them back
                # held a process at 771 MB over 16 replays of 300 steps, against 793 MB and growing.
                return_freed_memory()
            self._runs[(recipe, seed)] = run
            while len(self._runs) > CACHED_RUNS:
                self._runs.popitem(last=False)
            return run.view()
