"""Many runs in one step (gan_core.training.engines.stacked) against the single run of each seed."""

import pytest
import torch

from gan_core.config import TrainConfig
from gan_core.data import load_mnist_images, to_model_range
from gan_core.training.engines.stacked import StackedRuns
from gan_core.training.state import batch_at, build_state, set_learning_rate

BATCH, STEPS = 20, 12
SEEDS = [0, 7, 123]


LOWER_RATE_FROM = 6  # with a decaying rate, the second half of the steps runs at the rate of epoch 4


def lower_rate(config) -> float | None:
    return config.lr_at(4) if config.resolved().lr_decay != "none" else None


def single_run(config, seed, images):
    """What fit() does for one seed: seed the global RNG, build, then shuffle and step (eager)."""
    torch.manual_seed(seed)
    state = build_state(config, torch.device("cpu"))
    order = torch.randperm(len(images))
    stats = []
    for step in range(STEPS):
        if step == LOWER_RATE_FROM and lower_rate(config) is not None:
            set_learning_rate(state, lower_rate(config))
        stats.append(state.run_step(batch_at(images, order, step, BATCH)))
    return state, torch.stack(stats)


RECIPES = {  # every recipe trains stacked: the math is the fused step's, EMA and a decaying rate too
    "tutorial": {"recipe": "tutorial"},
    "improved": {"recipe": "improved"},
    "improved with EMA": {"recipe": "improved", "ema_decay": 0.9},
    "tutorial with a decaying rate": {"recipe": "tutorial", "lr_decay": "linear", "epochs": 4},
}


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_every_stacked_run_is_the_single_run_of_its_seed(tiny_data, recipe):
    config = TrainConfig(batch_size=BATCH, latent_size=16, hidden_size=48, **RECIPES[recipe])
    images = to_model_range(load_mnist_images(tiny_data))
    runs = StackedRuns.fresh(config, SEEDS, torch.device("cpu"))
    orders = runs.orders(len(images))
    batches = [torch.stack([batch_at(images, order, i, BATCH) for order in orders]) for i in range(STEPS)]
    stacked = []
    for step, batch in enumerate(batches):
        if step == LOWER_RATE_FROM and lower_rate(config) is not None:
            runs.set_learning_rate(lower_rate(config))
        stacked.append(runs.step(batch))
    stacked = torch.stack(stacked)  # (steps, runs, 4)
    written = [build_state(config, torch.device("cpu")) for _ in SEEDS]
    runs.write_back(written)  # what each run's checkpoint holds
    for index, seed in enumerate(SEEDS):
        state, stats = single_run(config, seed, images)
        # The same shuffle and noise (each run's own generator), the same arithmetic in batched
        # products: equal to float rounding, step by step, and in the weights after 12 steps.
        assert torch.allclose(stacked[:, index], stats, rtol=1e-4, atol=1e-5), seed
        for name, weight in runs.generator_weights(index).items():
            assert torch.allclose(weight, state.generator.state_dict()[name], atol=1e-5), (seed, name)
        for name, weight in runs.discriminator_weights(index).items():
            assert torch.allclose(weight, state.discriminator.state_dict()[name], atol=1e-5), (seed, name)
        # The published generator (the EMA where there is one) and Adam's state, as written back.
        published = [(written[index].generator, state.generator)]
        if state.ema is not None:
            published.append((written[index].ema, state.ema))
            assert not torch.allclose(state.ema.net[0].weight, state.generator.net[0].weight)
        for ours, theirs in published:
            for mine, single in zip(ours.parameters(), theirs.parameters(), strict=True):
                assert torch.allclose(mine, single, atol=1e-5), (seed, recipe)
        for ours, theirs in ((written[index].g_optimizer, state.g_optimizer),
                             (written[index].d_optimizer, state.d_optimizer)):  # fmt: skip
            for mine, single in zip(ours.state.values(), theirs.state.values(), strict=True):
                assert int(mine["step"]) == int(single["step"]) == STEPS
                assert torch.allclose(mine["exp_avg"], single["exp_avg"], atol=1e-6)
    # and the runs are not one run three times
    assert not torch.allclose(stacked[:, 0], stacked[:, 1])


@pytest.mark.parametrize("settings", [{"engine": "autograd"}, {"compile": True}])
def test_stacked_runs_refuse_the_engines_that_run_one_at_a_time(settings):
    with pytest.raises(ValueError, match="stacked runs need the fused engine"):
        StackedRuns.fresh(TrainConfig(recipe="improved", **settings), [0, 1], torch.device("cpu"))
