import math

import pytest
import torch

from gan_core.latent import interpolate, interpolation_path, lerp, seeded_noise, slerp


def test_a_seed_gives_the_same_noise_every_time_and_seeds_differ():
    assert torch.equal(seeded_noise(7, 4, 64), seeded_noise(7, 4, 64))
    assert not torch.equal(seeded_noise(7, 4, 64), seeded_noise(8, 4, 64))


def test_the_first_vector_of_a_batch_is_the_single_vector_of_that_seed():
    # The Interpolate tab's seed A digit is the Generate tab's first digit for that seed.
    assert torch.equal(seeded_noise(3, 16, 64)[:1], seeded_noise(3, 1, 64))


def test_slerp_keeps_endpoints_exact():
    # Eight rows: the formula at t=1 would miss b by a rounding error in some of them.
    a, b = seeded_noise(1, 8, 64), seeded_noise(2, 8, 64)
    assert torch.equal(slerp(a, b, 0.0), a) and torch.equal(slerp(a, b, 1.0), b)


def great_circle_point(a: list[float], b: list[float], t: float) -> list[float]:
    """Shoemake's formula for one pair of vectors, in plain float64 arithmetic."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    omega = math.acos(dot / (math.hypot(*a) * math.hypot(*b)))
    weight_a, weight_b = math.sin((1 - t) * omega) / math.sin(omega), math.sin(t * omega) / math.sin(omega)
    return [weight_a * x + weight_b * y for x, y in zip(a, b, strict=True)]


@pytest.mark.parametrize("t", [0.25, 0.5, 0.8])
def test_slerp_of_a_batch_is_the_great_circle_point_of_each_row(t):
    # Rows of different lengths: each row is interpolated on its own, not normalised by the batch.
    a = seeded_noise(1, 4, 16) * torch.tensor([[0.5], [1.0], [2.0], [7.0]])
    b = seeded_noise(2, 4, 16) * torch.tensor([[3.0], [0.2], [1.0], [1.5]])
    expected = [great_circle_point(x, y, t) for x, y in zip(a.tolist(), b.tolist(), strict=True)]
    assert torch.allclose(slerp(a, b, t), torch.tensor(expected), rtol=1e-4, atol=1e-5)


def test_slerp_stays_on_the_arc_between_unit_vectors():
    a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    middle = slerp(a, b, 0.5)
    assert torch.allclose(middle, torch.tensor([[2**-0.5, 2**-0.5]]))
    assert torch.allclose(middle.norm(), torch.tensor(1.0))


def test_slerp_of_parallel_vectors_is_finite_and_falls_back_to_lerp():
    # 64 rows: in float32 the cosine of some parallel pairs rounds past 1 (and past -1 for
    # opposite ones), where an unclamped arccos gives NaN.
    a = seeded_noise(4, 64, 100)
    for b in (a.clone(), 3 * a, -3 * a):
        point = slerp(a, b, 0.3)
        assert torch.isfinite(point).all()
        assert torch.allclose(point, lerp(a, b, 0.3), atol=1e-6)


def test_interpolate_uses_the_method_it_is_given():
    a, b = seeded_noise(1, 1, 64), seeded_noise(2, 1, 64)
    assert torch.equal(interpolate(a, b, 0.5, "slerp"), slerp(a, b, 0.5))
    assert torch.equal(interpolate(a, b, 0.5, "lerp"), lerp(a, b, 0.5))
    assert torch.equal(interpolate(a, b, 0.5), slerp(a, b, 0.5))  # slerp unless asked otherwise
    assert not torch.allclose(slerp(a, b, 0.5), lerp(a, b, 0.5))


def test_interpolation_path_runs_from_a_to_b():
    a, b = seeded_noise(1, 1, 8), seeded_noise(2, 1, 8)
    path = interpolation_path(a, b, 5, "lerp")
    assert path.shape == (5, 8)
    assert torch.equal(path[0], a[0]) and torch.equal(path[-1], b[0])
    assert torch.allclose(path[2], (a[0] + b[0]) / 2)
    assert torch.equal(interpolation_path(a, b, 5, "slerp")[1], slerp(a, b, 0.25)[0])
    assert torch.equal(interpolation_path(a, b, 2), torch.cat([a, b]))  # the shortest path: its ends


def test_unknown_method_and_short_paths_are_refused():
    a = seeded_noise(1, 1, 8)
    with pytest.raises(ValueError, match="unknown interpolation method 'cubic'; choose one of slerp, lerp$"):
        interpolate(a, a, 0.5, "cubic")
    with pytest.raises(ValueError, match="at least 2 frames"):
        interpolation_path(a, a, 1)
