"""Generator outputs -> PIL images: crisp (nearest-neighbour) grids, strips and GIFs."""

from __future__ import annotations

import io
import math

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from gan_core.data import from_model_range

DIGIT_SIDE = 28
GRID_COLUMNS = 8  # a run's sample grid: 64 fixed-noise digits, 8 by 8, with 2 px of padding
SAMPLE_GRID_SIZE = (GRID_COLUMNS * (DIGIT_SIDE + 2) + 2,) * 2  # 242 x 242 pixels


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


def grid_index_at(x: int, y: int, columns: int, scale: int, padding: int = 2, band: int = 0) -> int | None:
    """Which digit of a digit_grid(..., columns, scale, padding) is drawn at pixel (x, y): its index
    along the rows, or None on the padding between digits. `band`: the caption band under each row
    of a captioned_grid of it (a caption is not its digit either)."""
    cell, pad, side = (DIGIT_SIDE + padding) * scale, padding * scale, DIGIT_SIDE * scale
    column, across = divmod(x - pad, cell)
    row, down = divmod(y - pad, cell + band)
    if x < pad or y < pad or across >= side or down >= side or column >= columns:
        return None
    return row * columns + column


# One colour per digit (matplotlib's tab10, told apart by most colour-blind eyes too), 0 to 9.
DIGIT_COLOURS = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
)  # fmt: skip
CAPTION_HEIGHT = 22  # pixels of caption under each row of an upscaled grid, in the default size
CAPTION_FONT_SIZE = 15


def caption_font(size: int = CAPTION_FONT_SIZE) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def caption_height(font_size: int, lines: int = 1) -> int:
    """The band under each row for captions of font_size pixels (22 for one line of the default 15)."""
    return font_size + CAPTION_HEIGHT - CAPTION_FONT_SIZE + (lines - 1) * line_spacing(font_size)


def line_spacing(font_size: int) -> int:
    return font_size + 4


def captioned_grid(
    grid: Image.Image, captions: list[str], columns: int, scale: int, padding: int = 2,
    font_size: int = CAPTION_FONT_SIZE,
) -> Image.Image:  # fmt: skip
    """A digit_grid(..., columns, scale, padding) with text under each digit (lines split at "\n",
    as many as the longest caption has): the grid is cut between its rows and a caption band
    inserted below each, so no digit pixel is covered."""
    lines = max((len(text.split("\n")) for text in captions), default=1)
    cell, pad, band = (DIGIT_SIDE + padding) * scale, padding * scale, caption_height(font_size, lines)
    first_line_middle = caption_height(font_size) // 2 - 2
    rows = math.ceil(len(captions) / columns)
    out = Image.new("L", (grid.width, rows * (cell + band) + pad))
    draw, font = ImageDraw.Draw(out), caption_font(font_size)
    for row in range(rows):
        top = row * (cell + band)
        out.paste(grid.crop((0, row * cell, grid.width, row * cell + cell)), (0, top))
        for column, text in enumerate(captions[row * columns : (row + 1) * columns]):
            centre = pad + column * cell + DIGIT_SIDE * scale // 2
            for line, words in enumerate(text.split("\n")):
                middle = top + cell + first_line_middle + line * line_spacing(font_size)
                draw.text((centre, middle), words, fill=230, font=font, anchor="mm")
    return out


def tinted_grid(
    grid: Image.Image, labels: list[int], columns: int, scale: int, padding: int = 2
) -> Image.Image:
    """Colour each cell of a digit_grid(..., columns, scale, padding) by the digit it was read as:
    the dark background takes the digit's colour, the strokes stay white, and a legend of the ten
    colours is added below."""
    cell, pad = (DIGIT_SIDE + padding) * scale, padding * scale
    grey = np.asarray(grid, dtype=np.float32)[..., None] / 255
    background = np.zeros((*grey.shape[:2], 3), dtype=np.float32)
    for index, label in enumerate(labels):
        top, left = pad + (index // columns) * cell, pad + (index % columns) * cell
        side = DIGIT_SIDE * scale
        background[top : top + side, left : left + side] = np.array(DIGIT_COLOURS[label]) * 0.6
    tinted = Image.fromarray((background * (1 - grey) + 255 * grey).round().astype(np.uint8), mode="RGB")
    return with_legend(tinted)


def with_legend(image: Image.Image) -> Image.Image:
    """The ten digit colours, each a swatch with its digit, in a band under the image."""
    band = CAPTION_HEIGHT + 6
    out = Image.new("RGB", (image.width, image.height + band))
    out.paste(image, (0, 0))
    draw, font = ImageDraw.Draw(out), caption_font()
    width = image.width / 10
    for digit, colour in enumerate(DIGIT_COLOURS):
        left = round(digit * width)
        draw.rectangle((left + 2, image.height + 3, round(left + width) - 2, out.height - 3), fill=colour)
        draw.text(
            (left + width / 2, image.height + band // 2), str(digit), fill="white", font=font, anchor="mm"
        )
    return out


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
    return looping_gif(sequence, [frame_ms] * len(sequence))


def looping_gif(frames: list[Image.Image], durations_ms: list[int]) -> bytes:
    """An endlessly looping GIF showing each frame for its duration."""
    buffer = io.BytesIO()
    frames[0].save(
        buffer, format="GIF", save_all=True, append_images=frames[1:], duration=durations_ms, loop=0
    )
    return buffer.getvalue()


def with_title(image: Image.Image, title: str) -> Image.Image:
    """A line of text in a band above the image."""
    out = Image.new(image.mode, (image.width, image.height + CAPTION_HEIGHT))
    out.paste(image, (0, CAPTION_HEIGHT))
    ImageDraw.Draw(out).text((6, CAPTION_HEIGHT // 2), title, fill=230, font=caption_font(), anchor="lm")
    return out
