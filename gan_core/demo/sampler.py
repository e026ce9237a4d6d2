"""What the demo computes, independent of any UI: validated inputs -> digit images.

The generator runs on the CPU in eval mode under inference_mode; noise comes from seeds
(see latent.py), so every answer is a pure function of its inputs.
"""

from __future__ import annotations

import copy
import math
import numbers

import torch
from PIL import Image

from gan_core.images import digit_grid, gif_bytes
from gan_core.latent import MAX_SEED, METHODS, interpolate, interpolation_path, seeded_noise, slerp
from gan_core.messages import shown
from gan_core.models import Generator

MAX_COUNT = 64
MIN_FRAMES, MAX_FRAMES = 2, 32
MIN_MAP, MAX_MAP = 3, 12  # cells per side of a latent map
MAP_SCALE = 3
GRID_SCALE = 4  # 28 px digits -> 112 px cells: crisp on any screen
SINGLE_SCALE = 12
STRIP_SCALE = 3


def whole_number(value, name: str, low: int, high: int) -> int:
    """Accept ints and integral floats (web forms send 3.0); reject the rest with a clear message."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a whole number between {low} and {high}, got {shown(value)}")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise ValueError(f"{name} must be a whole number between {low} and {high}, got {shown(value)}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {shown(int(value))}")
    return int(value)


def check_seed(value, name: str = "seed") -> int:
    return whole_number(value, name, 0, MAX_SEED)


def check_fraction(value, name: str = "t") -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number between 0 and 1, got {shown(value)}")
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")
    return float(value)


def check_switch(value, name: str) -> bool:
    """An on/off option: true or false only, so a stray "false" string cannot turn it on."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {shown(value)}")
    return value


def check_method(value) -> str:
    if value not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {shown(value)}")
    return value


class Sampler:
    """The demo's digits. The generator runs in float64: float32 matrix products sum in an order
    that depends on the CPU's vector instructions, which moved some pixels by one grey level from
    one machine to another; in float64 those differences stay below 1e-12 and vanish when the
    pixels are rounded to 8 bits, so a seed draws the same bytes everywhere."""

    def __init__(self, generator: Generator):
        self.generator = copy.deepcopy(generator).cpu().double().eval()

    @torch.inference_mode()
    def images(self, noise: torch.Tensor) -> torch.Tensor:
        return self.generator(noise.double())

    def generate(self, seed, count) -> Image.Image:
        """`count` digits from `seed`, in a grid of up to 8 columns."""
        seed, count = check_seed(seed), whole_number(count, "count", 1, MAX_COUNT)
        noise = seeded_noise(seed, count, self.generator.latent_size)
        return digit_grid(self.images(noise), columns=min(count, 8), scale=GRID_SCALE)

    def noise_of(self, seed, index=0, corner: str = "") -> torch.Tensor:
        """The (1, latent) noise of digit `index` of generate(seed)'s grid. Interpolate and a latent
        map start from a seed's first digit (index 0) unless told another; `corner` ("a" to "d")
        names the seed_X and index_X an error message quotes."""
        seed = check_seed(seed, f"seed_{corner}" if corner else "seed")
        index = whole_number(index, f"index_{corner}" if corner else "index", 0, MAX_COUNT - 1)
        return seeded_noise(seed, index + 1, self.generator.latent_size)[index:]

    def endpoints(self, seed_a, seed_b, index_a=0, index_b=0) -> tuple[torch.Tensor, torch.Tensor]:
        return self.noise_of(seed_a, index_a, "a"), self.noise_of(seed_b, index_b, "b")

    def interpolate(self, seed_a, seed_b, t, method="slerp", index_a=0, index_b=0) -> Image.Image:
        """The digit at fraction t of the way from seed A's latent to seed B's (their digits
        index_a and index_b, the first by default)."""
        digit = self.frame(seed_a, seed_b, t, method, index_a, index_b)
        return digit_grid(digit[None], columns=1, scale=SINGLE_SCALE, padding=0)

    def frame(self, seed_a, seed_b, t, method="slerp", index_a=0, index_b=0) -> torch.Tensor:
        """The (784,) digit interpolate() shows, in [-1, 1]."""
        start, end = self.endpoints(seed_a, seed_b, index_a, index_b)
        return self.images(interpolate(start, end, check_fraction(t), check_method(method)))[0]

    def digit(self, seed, index) -> torch.Tensor:
        """The (784,) digit at `index` (0 = top left) of generate(seed, count) for any count above
        index: a seed's noise vectors are the same first rows whatever the count."""
        return self.images(self.noise_of(seed, index))[0]

    def strip(
        self, seed_a, seed_b, frames, method="slerp", index_a=0, index_b=0
    ) -> tuple[Image.Image, bytes]:
        """`frames` digits from A to B in one row, and the same frames as a looping GIF."""
        start, end = self.endpoints(seed_a, seed_b, index_a, index_b)
        frames = whole_number(frames, "frames", MIN_FRAMES, MAX_FRAMES)
        digits = self.images(interpolation_path(start, end, frames, check_method(method)))
        gif_frames = [digit_grid(digit[None], columns=1, scale=8, padding=0) for digit in digits]
        return digit_grid(digits, columns=frames, scale=STRIP_SCALE), gif_bytes(gif_frames)

    def latent_map(self, seed_a, seed_b, seed_c, seed_d, size, indices=(0, 0, 0, 0)) -> Image.Image:
        """A size x size grid of digits between four seeds' latents at its corners (A top left, B
        top right, C bottom left, D bottom right), slerp down the left and right edges, then
        slerp across each row. `indices`: which digit of each corner's seed (its first by default)."""
        return self.latent_map_with_images(seed_a, seed_b, seed_c, seed_d, size, indices)[0]

    def latent_map_with_images(
        self, seed_a, seed_b, seed_c, seed_d, size, indices=(0, 0, 0, 0)
    ) -> tuple[Image.Image, torch.Tensor]:
        """latent_map's grid, and its digits as the generator drew them (row by row)."""
        seeds = (seed_a, seed_b, seed_c, seed_d)
        a, b, c, d = (self.noise_of(seed, index, corner) for seed, index, corner in zip(
            seeds, indices, "abcd", strict=True))  # fmt: skip
        size = whole_number(size, "size", MIN_MAP, MAX_MAP)
        steps = [i / (size - 1) for i in range(size)]
        rows = [interpolation_path(slerp(a, c, v), slerp(b, d, v), size, "slerp") for v in steps]
        images = self.images(torch.cat(rows))
        return digit_grid(images, columns=size, scale=MAP_SCALE), images
