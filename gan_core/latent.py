"""Latent noise from seeds, and paths between two latent points.

Noise comes from a CPU torch.Generator seeded with the seed, so a seed gives the same
vector on every machine and device (CUDA's generator would not).
"""

from __future__ import annotations

import torch

METHODS = ("slerp", "lerp")
MAX_SEED = 2**31 - 1


def seeded_noise(seed: int, count: int, latent_size: int) -> torch.Tensor:
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    return torch.randn(count, latent_size, generator=generator)


def lerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    # torch.lerp computes from the nearer end (b - (b - a) * (1 - t) for t >= 0.5), so t=1 gives
    # b exactly, where a + (b - a) * t can miss it by a rounding error.
    return torch.lerp(a, b, t)


def slerp(a: torch.Tensor, b: torch.Tensor, t: float, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation along the great circle from a to b (Shoemake).

    Gaussian latents concentrate on a shell, and slerp stays near it where lerp cuts inside.
    The endpoints are returned exactly, and (anti)parallel vectors, where the great circle is
    undefined or numerically unstable, fall back to lerp.
    """
    if t == 0:
        return a.clone()
    if t == 1:
        return b.clone()
    a_unit = a / a.norm(dim=-1, keepdim=True).clamp_min(eps)
    b_unit = b / b.norm(dim=-1, keepdim=True).clamp_min(eps)
    cos_omega = (a_unit * b_unit).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.arccos(cos_omega)
    sin_omega = torch.sin(omega)
    # arccos cannot resolve an angle closer to 0 or pi than about sqrt(2 * eps) (3.5e-4 in float32),
    # and near pi the formula divides by that rounding error; such pairs take the lerp instead.
    nearly_parallel = sin_omega.abs() < max(1e-4, 10 * torch.finfo(omega.dtype).eps ** 0.5)
    safe_sin = torch.where(nearly_parallel, torch.ones_like(sin_omega), sin_omega)
    spherical = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / safe_sin
    return torch.where(nearly_parallel, lerp(a, b, t), spherical)


def interpolate(a: torch.Tensor, b: torch.Tensor, t: float, method: str = "slerp") -> torch.Tensor:
    if method not in METHODS:
        raise ValueError(f"unknown interpolation method {method!r}; choose one of {', '.join(METHODS)}")
    return slerp(a, b, t) if method == "slerp" else lerp(a, b, t)


def interpolation_path(a: torch.Tensor, b: torch.Tensor, frames: int, method: str = "slerp") -> torch.Tensor:
    """`frames` latents from a to b inclusive, evenly spaced in t."""
    if frames < 2:
        raise ValueError(f"an interpolation path needs at least 2 frames (got {frames})")
    steps = [i / (frames - 1) for i in range(frames)]
    return torch.cat([interpolate(a, b, t, method) for t in steps])
