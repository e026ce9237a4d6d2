"""The exponential moving average of G's weights that a recipe with an EMA publishes: averaging
over the late, oscillating part of training gives steadier samples than the last step's weights.
Every engine updates it the same way, one run's (modules) or N stacked runs' (tensors)."""

from __future__ import annotations

import torch


@torch.no_grad()
def update_ema(ema, model, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, for every parameter, in one fused kernel. Modules,
    or lists of tensors (the stacked engine's, with a leading run dimension)."""
    averaged = list(ema.parameters()) if isinstance(ema, torch.nn.Module) else list(ema)
    current = list(model.parameters()) if isinstance(model, torch.nn.Module) else list(model)
    torch._foreach_lerp_(averaged, current, 1.0 - decay)
