"""Generator outputs -> PIL images: crisp (nearest-neighbour) grids, strips and GIFs."""

from __future__ import annotations

import io
import math

import numpy as np
import torch
from PIL import Image

from .data import from_model_range

DIGIT_SIDE = 28


def to_uint8_digits(images: torch.Tensor) -> np.ndarray:
    """(N, 784) floats in [-1, 1] -> (N, 28, 28) uint8, rounding the way torchvision's save_image does."""
    pixels = from_model_range(images.detach().float().cpu().reshape(-1, DIGIT_SIDE, DIGIT_SIDE))
    pixels = pixels.mul(255).add(0.5).clamp(0, 255)
    return pixels.to(torch.uint8).numpy()


def digit_grid(
    images: torch.Tensor, columns: int | None = None, scale: int = 1, padding: int = 2
) -> Image.Image:
    """Tile digits in rows of `columns` (default: a square-ish grid), upscaled by an integer factor."""
    digits = to_uint8_digits(images)
    count = len(digits)
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    cell = DIGIT_SIDE + padding
    canvas = np.zeros((rows * cell + padding, columns * cell + padding), dtype=np.uint8)
    for index, digit in enumerate(digits):
        top = padding + (index // columns) * cell
        left = padding + (index % columns) * cell
        canvas[top : top + DIGIT_SIDE, left : left + DIGIT_SIDE] = digit
    return upscale(Image.fromarray(canvas, mode="L"), scale)


def upscale(image: Image.Image, scale: int) -> Image.Image:
    """Integer nearest-neighbour upscaling keeps each pixel a sharp square (no blur)."""
    if scale == 1:
        return image
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def gif_bytes(frames: list[Image.Image], frame_ms: int = 120) -> bytes:
    """An endlessly looping GIF that plays forward then back, so the loop has no jump."""
    sequence = frames + frames[-2:0:-1]
    buffer = io.BytesIO()
    sequence[0].save(
        buffer, format="GIF", save_all=True, append_images=sequence[1:], duration=frame_ms, loop=0
    )
    return buffer.getvalue()
