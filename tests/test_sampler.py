"""The demo's digits, checked for what they mean: the app's endpoints are this class behind HTTP
(tests/test_app_api.py checks the wiring; these check the drawing itself, in process)."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from gan_core.demo.sampler import GRID_SCALE, MAP_SCALE, MAX_COUNT, MAX_FRAMES, STRIP_SCALE, Sampler
from gan_core.images import to_uint8_digits
from gan_core.latent import lerp, seeded_noise, slerp
from gan_core.runs.reading import load_run
from tests.helpers import ROOT


@pytest.fixture(scope="module")
def sampler() -> Sampler:
    generator, _ = load_run(ROOT / "weights")
    return Sampler(generator)


def cells(image: Image.Image, scale: int, padding: int = 2) -> list[np.ndarray]:
    """The 28x28 digits of a grid, read back from its pixels (row by row)."""
    pixels = np.asarray(image)[::scale, ::scale]  # undo the nearest-neighbour upscaling
    step = 28 + padding
    rows, columns = (pixels.shape[0] - padding) // step, (pixels.shape[1] - padding) // step
    return [
        pixels[padding + r * step : padding + r * step + 28, padding + c * step : padding + c * step + 28]
        for r in range(rows)
        for c in range(columns)
    ]


def drawn(sampler: Sampler, noise: torch.Tensor) -> np.ndarray:
    return to_uint8_digits(sampler.images(noise))


@pytest.mark.parametrize("count", [1, 5, 8, 9, 16, MAX_COUNT])
def test_generate_draws_count_digits_of_that_seed_in_rows_of_eight(sampler, count):
    grid = sampler.generate(42, count)
    columns, rows = min(count, 8), -(-count // 8)
    assert grid.size == ((columns * 30 + 2) * GRID_SCALE, (rows * 30 + 2) * GRID_SCALE)
    expected = drawn(sampler, seeded_noise(42, count, 64))
    shown = cells(grid, GRID_SCALE)
    assert all(np.array_equal(shown[i], expected[i]) for i in range(count))
    assert all(not cell.any() for cell in shown[count:])  # the rest of the last row stays empty


def test_a_different_seed_draws_different_digits(sampler):
    assert not np.array_equal(np.asarray(sampler.generate(1, 4)), np.asarray(sampler.generate(2, 4)))


@pytest.mark.parametrize("method, formula", [("slerp", slerp), ("lerp", lerp)])
def test_interpolate_draws_the_digit_at_t_by_the_chosen_formula(sampler, method, formula):
    a, b = seeded_noise(3, 1, 64), seeded_noise(7, 1, 64)
    for t in (0.0, 0.3, 0.5, 1.0):
        image = sampler.interpolate(3, 7, t, method)
        assert image.size == (28 * 12, 28 * 12)
        digit = np.asarray(image)[::12, ::12]
        assert np.array_equal(digit, drawn(sampler, formula(a.double(), b.double(), t))[0])
    middle = {m: np.asarray(sampler.interpolate(3, 7, 0.5, m)) for m in ("slerp", "lerp")}
    assert not np.array_equal(middle["slerp"], middle["lerp"])


def test_the_ends_of_an_interpolation_are_the_two_seeds_first_digits(sampler):
    first_digit = lambda seed: cells(sampler.generate(seed, 1), GRID_SCALE)[0]
    assert np.array_equal(np.asarray(sampler.interpolate(3, 7, 0.0))[::12, ::12], first_digit(3))
    assert np.array_equal(np.asarray(sampler.interpolate(3, 7, 1.0))[::12, ::12], first_digit(7))


@pytest.mark.parametrize("frames, method", [(2, "slerp"), (5, "lerp"), (9, "slerp"), (MAX_FRAMES, "lerp")])
def test_the_strip_and_the_gif_are_the_interpolation_at_even_steps(sampler, frames, method):
    strip, gif = sampler.strip(3, 7, frames, method)
    shown = cells(strip, STRIP_SCALE)
    assert len(shown) == frames
    animation = Image.open(io.BytesIO(gif))
    # The GIF plays forward then back: frames, then the inner ones reversed.
    assert animation.n_frames == frames + max(frames - 2, 0)
    for i in range(frames):
        t = i / (frames - 1)
        single = np.asarray(sampler.interpolate(3, 7, t, method))[::12, ::12]
        assert np.array_equal(shown[i], single), f"frame {i} (t={t})"
        animation.seek(i)
        assert np.array_equal(np.asarray(animation.convert("L"))[::8, ::8], single), f"GIF frame {i}"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda s: s.generate(-1, 4), "seed must be between 0 and 2147483647, got -1"),
        (lambda s: s.generate(2**31, 4), "seed must be between 0 and 2147483647"),
        (lambda s: s.generate(1.5, 4), "seed must be a whole number between 0 and 2147483647, got 1.5"),
        (lambda s: s.generate(True, 4), "seed must be a whole number"),
        (lambda s: s.generate(1, 0), "count must be between 1 and 64, got 0"),
        (lambda s: s.generate(1, MAX_COUNT + 1), "count must be between 1 and 64"),
        (lambda s: s.generate(1, float("nan")), "count must be a whole number between 1 and 64, got nan"),
        (lambda s: s.generate("1", 4), "seed must be a whole number"),
        (lambda s: s.interpolate(1, 2, 1.01), "t must be between 0 and 1, got 1.01"),
        (lambda s: s.interpolate(1, 2, -0.01), "t must be between 0 and 1"),
        (lambda s: s.interpolate(1, 2, float("inf")), "t must be a number between 0 and 1"),
        (lambda s: s.interpolate(1, 2, True), "t must be a number between 0 and 1"),
        (lambda s: s.interpolate(1, 2, "0.5"), "t must be a number between 0 and 1, got '0.5'"),
        (lambda s: s.interpolate(1, 2, 0.5, "cubic"), "method must be one of slerp, lerp, got 'cubic'"),
        (lambda s: s.interpolate(-1, 2, 0.5), "seed_a must be between"),
        (lambda s: s.interpolate(1, -2, 0.5), "seed_b must be between"),
        (lambda s: s.strip(1, 2, 1), "frames must be between 2 and 32, got 1"),
        (lambda s: s.strip(1, 2, MAX_FRAMES + 1), "frames must be between 2 and 32"),
        (lambda s: s.strip(1, 2, 4, "SLERP"), "method must be one of slerp, lerp"),
        (lambda s: s.latent_map(1, 2, 3, -4, 5), "seed_d must be between 0 and 2147483647, got -4"),
        (lambda s: s.latent_map(-1, 2, 3, 4, 5), "seed_a must be between"),
        (lambda s: s.latent_map(1, 2, 3, 4, 2), "size must be between 3 and 12, got 2"),
        (lambda s: s.latent_map(1, 2, 3, 4, 13), "size must be between 3 and 12, got 13"),
    ],
)
def test_bad_values_are_refused_with_the_parameter_and_its_bounds(sampler, call, message):
    with pytest.raises(ValueError) as refused:
        call(sampler)
    assert message in str(refused.value)


def test_whole_floats_and_the_bounds_themselves_are_accepted(sampler):
    assert np.array_equal(np.asarray(sampler.generate(5.0, 3.0)), np.asarray(sampler.generate(5, 3)))
    sampler.generate(0, 1), sampler.generate(2**31 - 1, MAX_COUNT)
    sampler.interpolate(0, 2**31 - 1, 0), sampler.interpolate(0, 1, 1)
    sampler.strip(0, 1, 2), sampler.strip(0, 1, MAX_FRAMES)


def test_the_sampler_leaves_the_generator_it_was_given_as_it_was(sampler):
    generator, _ = load_run(ROOT / "weights")
    before = {name: tensor.clone() for name, tensor in generator.state_dict().items()}
    Sampler(generator)
    assert all(t.dtype == torch.float32 for t in generator.state_dict().values())  # its own float64 copy
    assert all(torch.equal(before[name], t) for name, t in generator.state_dict().items())


@pytest.mark.parametrize("size", [3, 4, 12])
def test_the_latent_map_slerps_down_the_edges_then_across_each_row(sampler, size):
    grid = sampler.latent_map(11, 12, 13, 14, size)
    assert grid.size == ((size * 30 + 2) * MAP_SCALE,) * 2
    shown = cells(grid, MAP_SCALE)
    a, b, c, d = (seeded_noise(seed, 1, 64) for seed in (11, 12, 13, 14))
    for row in range(size):
        v = row / (size - 1)
        left, right = slerp(a, c, v), slerp(b, d, v)
        for column in range(size):
            expected = drawn(sampler, slerp(left, right, column / (size - 1)))[0]
            assert np.array_equal(shown[row * size + column], expected), (row, column)
    corner = lambda seed: cells(sampler.generate(seed, 1), GRID_SCALE)[0]
    assert [
        np.array_equal(shown[i], corner(s))
        for i, s in zip((0, size - 1, size * (size - 1), -1), (11, 12, 13, 14), strict=True)
    ] == [True] * 4


@pytest.mark.parametrize("index", [0, 5, 8, MAX_COUNT - 1])
def test_the_digit_at_an_index_is_that_cell_of_the_generated_grid(sampler, index):
    digit = sampler.digit(42, index)
    assert digit.shape == (784,)
    grid = cells(sampler.generate(42, MAX_COUNT), GRID_SCALE)
    assert np.array_equal(to_uint8_digits(digit[None])[0], grid[index])
    assert np.array_equal(
        to_uint8_digits(sampler.digit(42.0, float(index))[None])[0], grid[index]
    )  # 5.0 is 5


@pytest.mark.parametrize(
    "seed, index, message",
    [
        (1, MAX_COUNT, "index must be between 0 and 63, got 64"),
        (1, -1, "index must be between 0 and 63, got -1"),
        (1, 2.5, "index must be a whole number between 0 and 63, got 2.5"),
        (-1, 0, "seed must be between 0 and 2147483647, got -1"),
    ],
)
def test_a_bad_index_or_seed_is_refused(sampler, seed, index, message):
    with pytest.raises(ValueError, match=message):
        sampler.digit(seed, index)


def test_a_frame_is_the_digit_interpolate_shows(sampler):
    frame = sampler.frame(3, 7, 0.3, "lerp")
    shown = np.asarray(sampler.interpolate(3, 7, 0.3, "lerp"))[::12, ::12]
    assert frame.shape == (784,) and np.array_equal(to_uint8_digits(frame[None])[0], shown)
    assert not torch.equal(frame, sampler.frame(3, 7, 0.3, "slerp"))


def test_switches_take_true_and_false_only():
    from gan_core.demo.sampler import check_switch

    assert check_switch(True, "captions") is True and check_switch(False, "tint") is False
    for value in (1, 0, "true", None):
        with pytest.raises(ValueError, match=r"captions must be true or false, got"):
            check_switch(value, "captions")


@pytest.mark.parametrize("corner", ["seed_a", "seed_b", "seed_c", "seed_d"])
def test_each_corner_of_the_map_is_checked_by_name(sampler, corner):
    seeds = {"seed_a": 1, "seed_b": 2, "seed_c": 3, "seed_d": 4, corner: -5}
    with pytest.raises(ValueError, match=f"^{corner} must be between 0 and 2147483647, got -5$"):
        sampler.latent_map(*seeds.values(), 4)
