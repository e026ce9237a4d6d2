"""Many runs in one step (gan_core.stacked_step) against the single run of each seed."""

import pytest
import torch

from gan_core.config import TrainConfig
from gan_core.data import load_mnist_images, to_model_range
from gan_core.stacked_step import StackedRuns
from gan_core.step import batch_at, build_state

BATCH, STEPS = 20, 12
SEEDS = [0, 7, 123]


def single_run(config, seed, images):
    """What fit() does for one seed: seed the global RNG, build, then shuffle and step (eager)."""
    torch.manual_seed(seed)
    state = build_state(config, torch.device("cpu"))
    order = torch.randperm(len(images))
    stats = torch.stack([state.run_step(batch_at(images, order, step, BATCH)) for step in range(STEPS)])
    return state, stats


@pytest.mark.parametrize("recipe", ["tutorial", "improved"])
def test_every_stacked_run_is_the_single_run_of_its_seed(tiny_data, recipe):
    config = TrainConfig(batch_size=BATCH, latent_size=16, hidden_size=48, recipe=recipe)
    images = to_model_range(load_mnist_images(tiny_data))
    runs = StackedRuns.fresh(config, SEEDS, torch.device("cpu"))
    orders = runs.orders(len(images))
    batches = [torch.stack([batch_at(images, order, i, BATCH) for order in orders]) for i in range(STEPS)]
    stacked = torch.stack([runs.step(batch) for batch in batches])  # (steps, runs, 4)
    for index, seed in enumerate(SEEDS):
        state, stats = single_run(config, seed, images)
        # The same shuffle and noise (each run's own generator), the same arithmetic in batched
        # products: equal to float rounding, step by step, and in the weights after 12 steps.
        assert torch.allclose(stacked[:, index], stats, rtol=1e-4, atol=1e-5), seed
        for name, weight in runs.generator_weights(index).items():
            assert torch.allclose(weight, state.generator.state_dict()[name], atol=1e-5), (seed, name)
        for name, weight in runs.discriminator_weights(index).items():
            assert torch.allclose(weight, state.discriminator.state_dict()[name], atol=1e-5), (seed, name)
    # and the runs are not one run three times
    assert not torch.allclose(stacked[:, 0], stacked[:, 1])


def test_stacked_runs_refuse_what_they_do_not_support_yet():
    with pytest.raises(ValueError, match="EMA"):
        StackedRuns.fresh(TrainConfig(recipe="improved", ema_decay=0.999), [0, 1], torch.device("cpu"))
