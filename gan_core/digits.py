"""A digit on demand: the unconditional generator has no digit input, so draw many latents, let the
bundled MNIST classifier read each digit, and keep the most confident of the one asked for."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image

from .images import digit_grid
from .latent import seeded_noise
from .quality import MnistClassifier, load_classifier
from .sampling import GRID_SCALE, MAX_COUNT, Sampler, check_seed, whole_number

DRAWS = 1024  # latents read per request: about 0.1 s on 2 CPU cores, enough for a rare digit


@dataclass
class FoundDigits:
    grid: Image.Image
    digit: int
    draws: int
    matches: int  # how many of the draws the classifier reads as `digit`
    confidences: list[float]  # of the digits shown, most confident first

    def summary(self) -> str:
        share = self.matches / self.draws
        shown = ", ".join(f"{100 * confidence:.1f}%" for confidence in self.confidences)
        text = (
            f"Of {self.draws} digits drawn from this seed, the classifier reads {self.matches} "
            f"({100 * share:.1f}%) as a {self.digit}. "
        )
        if not self.confidences:
            return text + "None to show: try another seed."
        return text + f"Shown: the {len(self.confidences)} it is surest of (confidence {shown})."


class DigitFinder:
    def __init__(self, sampler: Sampler, classifier: MnistClassifier | None = None):
        self.sampler = sampler
        self.classifier = classifier or load_classifier()

    @torch.inference_mode()
    def find(self, digit, count, seed) -> FoundDigits:
        digit = whole_number(digit, "digit", 0, 9)
        count = whole_number(count, "count", 1, MAX_COUNT)
        seed = check_seed(seed)
        images = self.sampler.images(seeded_noise(seed, DRAWS, self.sampler.generator.latent_size))
        probabilities = self.classifier(images.float()).softmax(dim=1)
        confidence, label = probabilities.max(dim=1)
        matching = (label == digit).nonzero().flatten()
        # Most confident first; ties (rare) keep the order of drawing, so a seed always shows the same.
        order = sorted(matching.tolist(), key=lambda index: (-round(confidence[index].item(), 6), index))
        chosen = order[:count]
        grid = digit_grid(images[chosen], columns=min(max(len(chosen), 1), 8), scale=GRID_SCALE)
        return FoundDigits(grid, digit, DRAWS, len(matching), [confidence[i].item() for i in chosen])
