"""The pieces around train_step, in-process: what build_state builds for each recipe, the device
choice, the learning-rate tensors, and the eager epoch's sums."""

from __future__ import annotations

import pytest
import torch

from gan_core.config import TrainConfig
from gan_core.models import Generator
from gan_core.training.ema import Ema
from gan_core.training.engines.reference import train_step
from gan_core.training.epochs import EagerEpoch, make_epoch_runner
from gan_core.training.state import (
    batch_at,
    build_state,
    learning_rate_tensor,
    resolve_device,
    set_learning_rate,
)

CPU = torch.device("cpu")


def config(**changes) -> TrainConfig:
    return TrainConfig(batch_size=4, hidden_size=8, latent_size=4, device="cpu", **changes)


def test_the_tutorials_recipe_has_no_ema_no_penalty_and_targets_one_and_zero():
    state = build_state(config(recipe="tutorial"), CPU)
    assert state.ema is None and state.r1_gamma == 0 and state.ema_decay == 0
    assert torch.equal(state.d_targets, torch.tensor([[1.0]] * 4 + [[0.0]] * 4))
    assert torch.equal(state.g_targets, torch.ones(4, 1))
    assert state.generator.latent_size == 4 and state.discriminator.net[0].in_features == 784
    assert all(
        group["betas"] == (0.9, 0.999) and group["lr"] == 2e-4 for group in state.d_optimizer.param_groups
    )


def test_recipe_settings_reach_the_state():
    state = build_state(config(recipe="improved", ema_decay=0.99, real_label=0.9, adam_betas=(0.5, 0.9)), CPU)
    assert state.r1_gamma == 10.0 and state.ema_decay == 0.99
    assert torch.equal(state.d_targets[:4], torch.full((4, 1), 0.9)) and not state.d_targets[4:].any()
    assert state.g_optimizer.param_groups[0]["betas"] == (0.5, 0.9)
    # The EMA starts as a copy of G and is never trained by an optimizer.
    for ema, weight in zip(state.ema.parameters(), state.generator.parameters(), strict=True):
        assert torch.equal(ema, weight) and not ema.requires_grad


def test_a_decaying_rate_is_a_float64_tensor_on_the_cpu_that_set_learning_rate_fills():
    state = build_state(config(lr_decay="linear"), CPU)
    rates = [
        group["lr"]
        for optimizer in (state.g_optimizer, state.d_optimizer)
        for group in optimizer.param_groups
    ]
    assert all(
        torch.is_tensor(rate) and rate.dtype == torch.float64 and rate.item() == 2e-4 for rate in rates
    )
    set_learning_rate(state, 1e-5)
    assert all(rate.item() == 1e-5 for rate in rates)  # in place: the same tensors
    plain = build_state(config(), CPU)
    set_learning_rate(plain, 3e-4)
    assert plain.g_optimizer.param_groups[0]["lr"] == 3e-4 and not torch.is_tensor(
        plain.g_optimizer.param_groups[0]["lr"]
    )
    assert (
        learning_rate_tensor(0.5, CPU).dtype == torch.float64 and learning_rate_tensor(0.5, CPU).item() == 0.5
    )


def test_the_device_choice():
    assert resolve_device("cpu") == CPU
    assert resolve_device("auto").type == (
        "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    )
    if not torch.cuda.is_available():
        with pytest.raises(
            ValueError, match=r"--device cuda was asked for, but PyTorch sees no CUDA GPU here \(use"
        ):
            resolve_device("cuda")
    if not torch.backends.mps.is_available():
        with pytest.raises(
            ValueError, match=r"--device mps was asked for, but MPS is not available here \(use"
        ):
            resolve_device("mps")


def test_an_eager_epoch_sums_every_steps_statistics_and_reports_each_step():
    images = torch.randint(0, 256, (12, 784), dtype=torch.uint8, generator=torch.Generator().manual_seed(5))
    twin_images = images.clone()
    torch.manual_seed(0)
    runner = make_epoch_runner(build_state(config(), CPU), images, 4, use_graphs=True)  # no CUDA here: eager
    assert isinstance(runner, EagerEpoch) and runner.steps == 3
    seen = []
    torch.manual_seed(1)
    totals = runner.run(on_step=lambda step, sums: seen.append((step, sums.clone())))
    # The same steps by hand, from the same seed: the sum of the three steps' statistics.
    torch.manual_seed(0)
    twin = build_state(config(), CPU)
    torch.manual_seed(1)
    order = torch.randperm(12)
    normalised = twin_images.float().div(127.5).sub(1)
    by_hand = [train_step(twin, batch_at(normalised, order, step, 4)) for step in range(3)]
    assert torch.allclose(totals, sum(by_hand), atol=1e-6)
    assert [step for step, _ in seen] == [1, 2, 3]
    assert torch.allclose(seen[0][1], by_hand[0], atol=1e-6) and torch.allclose(seen[-1][1], totals)


@pytest.mark.parametrize(
    "device, flags, engine",
    [
        ("cpu", {}, "fused"),
        ("cuda", {}, "triton"),  # measured faster than fused on an H200 (README, Performance)
        ("cuda", {"compile": True}, "compiled"),
        ("cuda", {"engine": "fused"}, "fused"),
        ("cpu", {"engine": "autograd"}, "autograd"),
    ],
)
def test_engine_auto_is_triton_on_cuda_and_fused_elsewhere(device, flags, engine):
    from gan_core.training.engines.registry import runs_stack, select_engine

    pytest.importorskip("triton")  # auto falls back to fused where Triton is missing
    assert select_engine(config(**flags), torch.device(device)).name == engine  # builds nothing on the GPU
    assert runs_stack(config(**flags)) == (engine in ("fused", "triton"))  # --seeds stacks the fused math


def test_an_ema_of_stacked_runs_averages_each_run_as_its_own_ema_would():
    runs = [(Generator(8, 16), Generator(8, 16)) for _ in range(3)]  # (model, average) per run
    stacked = Ema([torch.stack([list(a.parameters())[i].detach() for _, a in runs]) for i in range(6)], 0.9)
    singles = [Ema(average, 0.9) for _, average in runs]
    for step in range(2):
        for model, _ in runs:
            with torch.no_grad():
                for param in model.parameters():
                    param.add_(step + 1.0)
        stacked.update([torch.stack([list(m.parameters())[i] for m, _ in runs]) for i in range(6)])
        for single, (model, _) in zip(singles, runs, strict=True):
            single.update(model)
    for index, single in enumerate(singles):
        for stacked_param, param in zip(stacked.averaged, single.averaged.parameters(), strict=True):
            assert torch.allclose(stacked_param[index], param)
    saved = {name: value.clone() for name, value in stacked.state_dict().items()}
    fresh = Ema([torch.zeros_like(t) for t in stacked.averaged], 0.9)
    fresh.load_state_dict(saved)
    assert all(torch.equal(a, b) for a, b in zip(fresh.averaged, stacked.averaged, strict=True))
    with pytest.raises(ValueError, match="cannot load 2"):
        fresh.load_state_dict({"0": saved["0"], "1": saved["1"]})


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, 1.5])
def test_an_ema_decay_outside_zero_to_one_is_refused(decay):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        Ema(Generator(8, 16), decay)
