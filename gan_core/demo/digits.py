"""What the bundled MNIST classifier reads in the generator's digits.

A digit on demand: the unconditional generator has no digit input, so draw many latents, let the
classifier read each digit, and keep the most confident of the one asked for. Captions: each digit
of a grid with the classifier's guess and confidence. A tinted latent map: each cell coloured by
the digit read there, so the regions of the ten digits and their borders show."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image

from gan_core.demo.critic import Critic, score_line
from gan_core.demo.sampler import GRID_SCALE, MAP_SCALE, MAX_COUNT, Sampler, check_seed, whole_number
from gan_core.images import captioned_grid, digit_grid, tinted_grid
from gan_core.latent import seeded_noise
from gan_core.messages import shown
from gan_core.training.quality import MnistClassifier, load_classifier

DRAWS = 1024  # latents read per request: about 0.1 s on 2 CPU cores, enough for a rare digit
# A grid's captions, in pixels of its 120-px cells. A 390-px phone draws an 8-column grid 324 px
# wide, a third of its size: 32 px is 10.7 px there (15 was 5), and "7 · 99%" leaves 20 px between
# neighbours.
CAPTION_SIZE = 32


@dataclass
class FoundDigits:
    grid: Image.Image
    digit: int
    draws: int
    matches: int  # how many of the draws the classifier reads as `digit`
    confidences: list[float]  # of the digits shown, most confident first
    draws_shown: list[int]  # which of the draws they are (their rows of seeded_noise(seed, draws))
    shown: torch.Tensor  # the digits shown, (count, 784) in [-1, 1]

    def summary(self) -> str:
        share = self.matches / self.draws
        text = (
            f"Of {self.draws} digits drawn from this seed, the classifier reads {self.matches} "
            f"({100 * share:.1f}%) as a {self.digit}. "
        )
        if not self.confidences:
            return text + "None to show: try another seed."
        # The range, as the captions show it (99% at most): sixteen "100.0%" in a row said nothing.
        surest, least = (percent(confidence) for confidence in (self.confidences[0], self.confidences[-1]))
        sureness = f"confidence {surest}" if surest == least else f"confidence {surest} down to {least}"
        return text + f"Shown: the {len(self.confidences)} it is surest of, surest first ({sureness})."


def check_digit(value) -> int:
    """A digit as a whole number 0 to 9, or as its one-character string: the page's choices and the
    API's schema are the strings "0" to "9", and clients written for numbers send 7."""
    if isinstance(value, str) and len(value) == 1 and value in "0123456789":
        return int(value)
    if isinstance(value, str):
        raise ValueError(f'digit must be one of "0" to "9" (or the number 0 to 9), got {shown(value)}')
    return whole_number(value, "digit", 0, 9)


def percent(confidence: float) -> str:
    # 99.6% is not certainty, and "100%" was the one caption too wide for its cell at phone size.
    return f"{min(round(100 * confidence), 99)}%"


def caption(digit: int, confidence: float) -> str:
    return f"{digit} · {percent(confidence)}"


class DigitReader:
    """A Sampler's digits, read by the classifier."""

    def __init__(self, sampler: Sampler, classifier: MnistClassifier | None = None):
        self.sampler = sampler
        self.classifier = classifier or load_classifier()

    @torch.inference_mode()
    def read(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(confidence, digit) of each generated image: the classifier's top class and its probability."""
        return self.classifier(images.float()).softmax(dim=1).max(dim=1)

    def captioned(self, seed, count, classifier: bool = True, critic: Critic | None = None):
        """Sampler.generate's grid with lines under each digit: the classifier's guess and
        confidence (classifier=True), then the discriminator's score (when a critic is given)."""
        seed, count = check_seed(seed), whole_number(count, "count", 1, MAX_COUNT)  # 4.0 is 4
        images = self.sampler.images(seeded_noise(seed, count, self.sampler.generator.latent_size))
        lines = [[] for _ in range(count)]
        if classifier:
            confidence, label = self.read(images)
            for line, digit, sure in zip(lines, label.tolist(), confidence.tolist(), strict=True):
                line.append(caption(digit, sure))
        if critic is not None:
            for line, score in zip(lines, critic.scores(images).tolist(), strict=True):
                line.append(score_line(score))
        grid = digit_grid(images, columns=min(count, 8), scale=GRID_SCALE)  # generate()'s grid, drawn once
        return captioned_grid(grid, ["\n".join(line) for line in lines], columns=min(count, 8),
                              scale=GRID_SCALE, font_size=CAPTION_SIZE)  # fmt: skip

    def tinted_map(self, seed_a, seed_b, seed_c, seed_d, size, indices=(0, 0, 0, 0)):
        """Sampler.latent_map with each cell coloured by the digit the classifier reads there."""
        grid, images = self.sampler.latent_map_with_images(seed_a, seed_b, seed_c, seed_d, size, indices)
        _, label = self.read(images)
        return tinted_grid(grid, label.tolist(), columns=round(len(images) ** 0.5), scale=MAP_SCALE)

    def find(self, digit, count, seed) -> FoundDigits:
        digit = check_digit(digit)
        count = whole_number(count, "count", 1, MAX_COUNT)
        seed = check_seed(seed)
        images = self.sampler.images(seeded_noise(seed, DRAWS, self.sampler.generator.latent_size))
        confidence, label = self.read(images)
        matching = (label == digit).nonzero().flatten()
        # Most confident first; ties (rare) keep the order of drawing, so a seed always shows the same.
        order = sorted(matching.tolist(), key=lambda index: (-round(confidence[index].item(), 6), index))
        chosen = order[:count]
        grid = digit_grid(images[chosen], columns=min(max(len(chosen), 1), 8), scale=GRID_SCALE)
        confidences = [confidence[i].item() for i in chosen]
        return FoundDigits(grid, digit, DRAWS, len(matching), confidences, chosen, images[chosen])
