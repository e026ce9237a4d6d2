"""The discriminator's view: what a run's D says of a digit, its estimate that the digit is a real
MNIST image. Half of a GAN, and the one half a generator's pictures never show.

A run folder holds its discriminator beside the generator (discriminator.safetensors); a model
pulled from the Hub does not (`train.py --push` publishes the generator alone), and a Critic then
holds the reason instead, which every view of D's scores says in place of them."""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from gan_core.models import Discriminator
from gan_core.runs.layout import DISCRIMINATOR_FILE
from gan_core.runs.reading import read_discriminator

FROM_THE_HUB = (
    "this model came from the Hub, and a model repo holds the generator alone: `train.py --push` "
    "leaves the discriminator in the training folder, as only training needs it. D's scores are "
    "shown for the tutorial's bundled run, and for a run served from its folder (MODEL_DIR)"
)


class Critic:
    """A run's discriminator in float64 (as the Sampler's generator, so that a score reads the same
    on every machine), or why the run has none."""

    def __init__(self, discriminator: Discriminator | None, missing: str = ""):
        self.discriminator = None if discriminator is None else copy.deepcopy(discriminator).double().eval()
        self.missing = missing

    @property
    def available(self) -> bool:
        return self.discriminator is not None

    @torch.inference_mode()
    def scores(self, images: torch.Tensor) -> torch.Tensor:
        """D's probability that each image ((N, 784) in [-1, 1]) is a real MNIST digit, (N,)."""
        if self.discriminator is None:
            raise ValueError(f"D's scores are not available: {self.missing}")
        return self.discriminator(images.double().reshape(len(images), -1))[:, 0]

    def score(self, digit: torch.Tensor) -> float:
        """D's score of one digit ((784,) in [-1, 1])."""
        return float(self.scores(digit[None])[0])


def d_verdict(score: float) -> str:
    """D's verdict on a digit from its score: "real" from 0.5 (its sigmoid's midpoint), else "generated"."""
    return "real" if score >= 0.5 else "generated"


def load_critic(run_dir: Path, from_hub: bool = False) -> Critic:
    """The run's discriminator, or a Critic that says why there is none: a run without one serves
    its generator all the same."""
    if from_hub:
        return Critic(None, FROM_THE_HUB)
    if not (Path(run_dir) / DISCRIMINATOR_FILE).exists():
        return Critic(None, f"this run's folder has no {DISCRIMINATOR_FILE} (train.py writes it beside the "
                            "generator; a folder copied without it holds the generator alone)")  # fmt: skip
    try:
        return Critic(read_discriminator(run_dir))
    except ValueError as error:
        return Critic(None, f"its discriminator cannot be read ({error})")


def score_line(score: float) -> str:
    """A score as a grid's caption shows it: three decimals, as everywhere D's score is shown (the
    panel, the game, the steps), and still short enough for a 112-px cell."""
    return f"D {score:.3f}"
