"""Be the discriminator: the visitor does D's job. A round is ROUND_SIZE digits, real MNIST test
digits and the generator's mixed together; the visitor says which are real, then sees for each
the truth, their call and D's own score, and the tally of both against it.

A round is a pure function of its number and the model: how many digits are real (so that "half of
them" is never a safe guess), which test digits, which noise, and the order. So the reveal needs no
state on the server, and a round can be shared by its number."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw

from gan_core.data import to_model_range
from gan_core.demo.critic import Critic, d_verdict, score_line
from gan_core.demo.sampler import GRID_SCALE, Sampler, check_seed
from gan_core.images import DIGIT_COLOURS, DIGIT_SIDE, caption_height, captioned_grid, digit_grid
from gan_core.latent import MAX_SEED, seeded_noise
from gan_core.messages import shown

ROUND_SIZE = 8
COLUMNS = 4  # two rows of four: large enough to judge on a phone
MIN_REAL, MAX_REAL = 2, 6
FONT_SIZE = 32  # the captions of Generate's grids, whose cells these are
# Frames of the reveal: right and wrong in the blue and orange told apart by most colour-blind eyes.
RIGHT, WRONG = DIGIT_COLOURS[0], DIGIT_COLOURS[1]
FRAME = 6  # pixels, inside the padding between cells (8 px at GRID_SCALE)
LABELS = [str(number) for number in range(1, ROUND_SIZE + 1)]  # as the page's checkboxes name them
TABLE_HEADERS = ["#", "truth", "you said", "D", "D said"]  # short: all five fit a phone
WORDS = {True: "real", False: "fake"}  # a digit's truth or a call, in the picture and the table alike


@dataclass
class Round:
    number: int
    images: torch.Tensor  # (ROUND_SIZE, 784) in [-1, 1], in the order shown
    real: list[bool]  # which of them are real MNIST test digits


def make_round(number, sampler: Sampler, test_images: torch.Tensor) -> Round:
    """Round `number`: between MIN_REAL and MAX_REAL real test digits, the rest drawn by the
    generator from the round's noise, shuffled."""
    number = check_seed(number, "round")
    choices = torch.Generator().manual_seed(number)
    real_count = int(torch.randint(MIN_REAL, MAX_REAL + 1, (1,), generator=choices))
    picked = torch.randperm(len(test_images), generator=choices)[:real_count]
    order = torch.randperm(ROUND_SIZE, generator=choices).tolist()
    # The noise of the generated digits comes from the round, not from its number as a seed: round
    # 12's fakes are not /generate(seed=12)'s first digits, which would give the answers away. (The
    # code is public, so a round is a puzzle to enjoy, not a contest: the reveal is anyone's too.)
    noise_seed = int(torch.randint(0, MAX_SEED + 1, (1,), generator=choices))
    real = to_model_range(test_images[picked]).double()
    generated = sampler.images(
        seeded_noise(noise_seed, ROUND_SIZE - real_count, sampler.generator.latent_size)
    )
    mixed = torch.cat([real, generated])
    return Round(number, mixed[order], [position < real_count for position in order])


def round_picture(game_round: Round) -> Image.Image:
    """The round's digits in two rows, each numbered as the page's checkboxes are."""
    grid = digit_grid(game_round.images, columns=COLUMNS, scale=GRID_SCALE)
    return captioned_grid(grid, LABELS, columns=COLUMNS, scale=GRID_SCALE, font_size=FONT_SIZE)


def check_calls(value) -> list[bool]:
    """The digits the visitor calls real, by their numbers ("1" to "8", or 1 to 8): a list, each at
    most once; every other digit is called generated."""
    if not isinstance(value, list | tuple):
        raise ValueError(
            f"real_ones must be a list of the digits called real, 1 to {ROUND_SIZE}, got {shown(value)}"
        )
    numbers = []
    for item in value:
        text = str(item) if isinstance(item, int) and not isinstance(item, bool) else item
        if text not in LABELS:
            raise ValueError(
                f"real_ones holds {shown(item)}: each must be a digit's number, 1 to {ROUND_SIZE}"
            )
        if text in numbers:
            raise ValueError(f"real_ones names digit {text} twice")
        numbers.append(text)
    return [label in numbers for label in LABELS]


@dataclass
class Reveal:
    picture: Image.Image
    table: list[list]
    summary: str
    you_right: int  # how many the visitor got right
    d_right: int  # how many D got right


def reveal(game_round: Round, calls: list[bool], critic: Critic) -> Reveal:
    """Each digit with its truth and D's score under it, framed blue where the visitor was right and
    orange where wrong; the same per digit as a table; and the tally of both."""
    scores = critic.scores(game_round.images).tolist()
    d_calls = [d_verdict(score) == "real" for score in scores]
    you_right = sum(call == truth for call, truth in zip(calls, game_round.real, strict=True))
    d_right = sum(call == truth for call, truth in zip(d_calls, game_round.real, strict=True))
    # Three decimals: a call turns at 0.5, and R1's D scores between 0.49 and 0.51.
    captions = [
        f"{WORDS[truth]}\n{score_line(score)}" for truth, score in zip(game_round.real, scores, strict=True)
    ]
    grid = digit_grid(game_round.images, columns=COLUMNS, scale=GRID_SCALE)
    picture = captioned_grid(grid, captions, columns=COLUMNS, scale=GRID_SCALE, font_size=FONT_SIZE).convert(
        "RGB"
    )
    draw = ImageDraw.Draw(picture)
    cell, side = (DIGIT_SIDE + 2) * GRID_SCALE, DIGIT_SIDE * GRID_SCALE
    band = caption_height(FONT_SIZE, 2)
    for index, (call, truth) in enumerate(zip(calls, game_round.real, strict=True)):
        left = 2 * GRID_SCALE + (index % COLUMNS) * cell
        top = 2 * GRID_SCALE + (index // COLUMNS) * (cell + band)
        box = (left - FRAME // 2 - 1, top - FRAME // 2 - 1, left + side + FRAME // 2, top + side + FRAME // 2)
        draw.rectangle(box, outline=RIGHT if call == truth else WRONG, width=FRAME // 2)
    rows = zip(LABELS, game_round.real, calls, scores, d_calls, strict=True)
    table = [[label, WORDS[truth], WORDS[call], round(score, 3), WORDS[d_call]]
             for label, truth, call, score, d_call in rows]  # fmt: skip
    return Reveal(picture, table, tally(game_round, you_right, d_right, scores), you_right, d_right)


def tally(game_round: Round, you_right: int, d_right: int, scores: list[float]) -> str:
    real = [score for score, truth in zip(scores, game_round.real, strict=True) if truth]
    fake = [score for score, truth in zip(scores, game_round.real, strict=True) if not truth]
    verdict = "You beat D." if you_right > d_right else "D beat you." if d_right > you_right else "A draw."
    return (
        "Under each digit: the truth (fake: drawn by the generator) and D's score; a blue frame where "
        "your call was right, orange where it was wrong. "
        f"**You: {you_right} of {ROUND_SIZE} right. D: {d_right} of {ROUND_SIZE}** (it calls a digit "
        f"real when its score is 0.5 or more). {verdict} {len(real)} of the {ROUND_SIZE} were real "
        f"MNIST test digits, so calling every digit fake would have scored {ROUND_SIZE - len(real)}, "
        f"and every digit real {len(real)}: the score to beat is the higher. D's mean score: "
        f"{np.mean(real):.3f} for the real ones, {np.mean(fake):.3f} for the generated ones; where a "
        "GAN's training ends as the tutorial claims, both are 0.5 and D can only guess."
    )
