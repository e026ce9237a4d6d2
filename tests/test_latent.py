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
    a, b = seeded_noise(1, 1, 64), seeded_noise(2, 1, 64)
    assert torch.equal(slerp(a, b, 0.0), a) and torch.equal(slerp(a, b, 1.0), b)


def test_slerp_stays_on_the_arc_between_unit_vectors():
    a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    middle = slerp(a, b, 0.5)
    assert torch.allclose(middle, torch.tensor([[2**-0.5, 2**-0.5]]))
    assert torch.allclose(middle.norm(), torch.tensor(1.0))


def test_slerp_of_parallel_vectors_is_finite_and_falls_back_to_lerp():
    a = seeded_noise(4, 1, 64)
    for b in (a.clone(), 2 * a):
        point = slerp(a, b, 0.3)
        assert torch.isfinite(point).all()
        assert torch.allclose(point, lerp(a, b, 0.3))


def test_interpolation_path_runs_from_a_to_b():
    a, b = seeded_noise(1, 1, 8), seeded_noise(2, 1, 8)
    path = interpolation_path(a, b, 5, "lerp")
    assert path.shape == (5, 8)
    assert torch.equal(path[0], a[0]) and torch.equal(path[-1], b[0])
    assert torch.allclose(path[2], (a[0] + b[0]) / 2)


def test_unknown_method_and_short_paths_are_refused():
    a = seeded_noise(1, 1, 8)
    with pytest.raises(ValueError, match="unknown interpolation method 'cubic'"):
        interpolate(a, a, 0.5, "cubic")
    with pytest.raises(ValueError, match="at least 2 frames"):
        interpolation_path(a, a, 1)
