"""The exponential moving average of G's weights that a recipe with an EMA publishes: averaging
over the late, oscillating part of training gives steadier samples than the last step's weights.

One class for every engine, in the manner of timm's ModelEmaV3: it holds the averaged weights (a
module for one run, or the stacked engine's tensors with a leading run dimension) and its decay,
and updates them with one fused lerp.
"""

from __future__ import annotations

import torch


def _tensors(weights) -> list[torch.Tensor]:
    return list(weights.parameters()) if isinstance(weights, torch.nn.Module) else list(weights)


@torch.no_grad()
def update_ema(ema, model, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, for every parameter, in one fused kernel. Modules,
    or lists of tensors (the stacked engine's, with a leading run dimension)."""
    torch._foreach_lerp_(_tensors(ema), _tensors(model), 1.0 - decay)


class Ema:
    """The averaged weights and their decay. `averaged` is what is published: a Generator for one
    run, or a list of stacked tensors; it never takes gradients."""

    def __init__(self, averaged, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"an EMA's decay must lie strictly between 0 and 1, not {decay}")
        self.averaged, self.decay = averaged, float(decay)
        for tensor in _tensors(averaged):
            tensor.requires_grad_(False)

    def update(self, model) -> None:
        """One step of the average towards `model` (a module, or tensors shaped like `averaged`)."""
        update_ema(self.averaged, model, self.decay)

    def state_dict(self) -> dict:
        """The averaged weights as a module's state dict (the checkpoint's "ema" entry); the decay
        belongs to the recipe, which the checkpoint's config already records."""
        if isinstance(self.averaged, torch.nn.Module):
            return self.averaged.state_dict()
        return {str(index): tensor for index, tensor in enumerate(self.averaged)}

    def load_state_dict(self, saved: dict) -> None:
        if isinstance(self.averaged, torch.nn.Module):
            self.averaged.load_state_dict(saved)
            return
        if len(saved) != len(self.averaged):
            raise ValueError(f"an EMA of {len(self.averaged)} tensors cannot load {len(saved)}")
        with torch.no_grad():
            for index, tensor in enumerate(self.averaged):
                tensor.copy_(saved[str(index)])
