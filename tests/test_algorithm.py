"""Both engines' step (training.engines.reference.train_step and training.engines.fused) against a
plain implementation of the algorithm, and history.json against the steps.

The reference below is written the way the tutorial describes one step, with nothing shared with
gan_core but the two networks' classes: D on real images with target 1 (or the recipe's real
label) and on detached fakes with target 0, then G with target 1, each with its own Adam; R1 adds
gamma/2 times the mean squared norm of the gradient of D's logit with respect to the real images.
"""

import copy
import json
import math

import pytest
import torch
import torch.nn.functional as F

from gan_core.config import TrainConfig
from gan_core.data import load_mnist_images, to_model_range
from gan_core.training.state import build_state
from tests.helpers import run_script, train_args

BATCH = 16
RECIPES = {
    "tutorial": {"recipe": "tutorial"},
    "improved": {"recipe": "improved"},
    "label smoothing and betas": {"recipe": "tutorial", "real_label": 0.9, "adam_betas": (0.5, 0.999)},
    "a small R1 weight": {"recipe": "tutorial", "r1_gamma": 0.5},
    "a large R1 weight": {"recipe": "tutorial", "r1_gamma": 100.0},
}
ENGINES = ("fused", "autograd")  # the CPU's; the Triton kernels are held to these in test_kernels.py
SATURATED = "a D whose scores are exactly 1"  # the BCE's clamp: a saturated score passes no gradient


def reference_step(generator, discriminator, g_adam, d_adam, real, noise, real_label, r1_gamma):
    """One step as the tutorial writes it; returns (d_loss, g_loss, D(x), D(G(z))) and the gradients."""
    batch = len(real)
    # (1) D: real labelled real_label, fakes (detached: D's step does not train G) labelled 0
    fakes = generator(noise[:batch]).detach()
    real = real.clone().requires_grad_(True)
    real_scores = discriminator(real)
    fake_scores = discriminator(fakes)
    d_loss_real = F.binary_cross_entropy(real_scores, torch.full_like(real_scores, real_label))
    d_loss_fake = F.binary_cross_entropy(fake_scores, torch.zeros_like(fake_scores))
    d_loss = d_loss_real + d_loss_fake
    logit = discriminator.net[:-1](real)  # D's score before the sigmoid
    (logit_gradient,) = torch.autograd.grad(logit.sum(), real, create_graph=True)
    penalty = logit_gradient.pow(2).sum(dim=1).mean()
    d_adam.zero_grad()
    (d_loss + r1_gamma / 2 * penalty).backward()
    d_gradients = [p.grad.clone() for p in discriminator.parameters()]
    d_adam.step()
    # (2) G: fresh fakes against the updated D, labelled 1 (the non-saturating loss)
    scores = discriminator(generator(noise[batch:]))
    g_loss = F.binary_cross_entropy(scores, torch.ones_like(scores))
    g_adam.zero_grad()
    g_loss.backward()
    g_gradients = [p.grad.clone() for p in generator.parameters()]
    g_adam.step()
    stats = torch.stack([d_loss, g_loss, real_scores.mean(), fake_scores.mean()]).detach()
    return stats, d_gradients, g_gradients


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", [*RECIPES, SATURATED])
def test_a_step_makes_the_updates_of_the_plain_algorithm(name, engine):
    settings = RECIPES.get(name, {"recipe": "tutorial"})
    config = TrainConfig(batch_size=BATCH, latent_size=8, hidden_size=32, engine=engine, **settings)
    recipe = config.resolved()
    torch.manual_seed(0)
    state = build_state(config, torch.device("cpu"))
    if name == SATURATED:
        with torch.no_grad():
            state.discriminator.net[4].bias.fill_(40.0)  # sigmoid(40) is 1.0 in float32
    generator, discriminator = copy.deepcopy(state.generator), copy.deepcopy(state.discriminator)
    g_adam = torch.optim.Adam(generator.parameters(), lr=config.lr, betas=recipe.adam_betas, foreach=False)
    d_adam = torch.optim.Adam(
        discriminator.parameters(), lr=config.lr, betas=recipe.adam_betas, foreach=False
    )
    batches = torch.rand(3, BATCH, 784) * 2 - 1
    for step, real in enumerate(batches):
        torch.manual_seed(100 + step)  # a step draws its 2B noise vectors from the global RNG
        stats = state.run_step(real)
        torch.manual_seed(100 + step)
        noise = torch.randn(2 * BATCH, config.latent_size)
        expected, d_gradients, g_gradients = reference_step(
            generator, discriminator, g_adam, d_adam, real, noise, recipe.real_label, recipe.r1_gamma
        )
        assert torch.allclose(stats, expected, atol=1e-5), (step, stats, expected)
        if name == SATURATED and step == 0:
            assert stats[2] == 1.0 and not any(p.grad.any() for p in state.discriminator.parameters())
        # The gradients each network stepped with, then the weights after the step.
        for ours, theirs in zip(state.discriminator.parameters(), d_gradients, strict=True):
            assert torch.allclose(ours.grad, theirs, rtol=1e-4, atol=1e-6), (step, "D gradient")
        for ours, theirs in zip(state.generator.parameters(), g_gradients, strict=True):
            assert torch.allclose(ours.grad, theirs, rtol=1e-4, atol=1e-6), (step, "G gradient")
        for ours, theirs in zip(state.discriminator.parameters(), discriminator.parameters(), strict=True):
            assert torch.allclose(ours, theirs, atol=1e-6), (step, "D weights")
        for ours, theirs in zip(state.generator.parameters(), generator.parameters(), strict=True):
            assert torch.allclose(ours, theirs, atol=1e-6), (step, "G weights")


@pytest.mark.parametrize("engine", ENGINES)
def test_the_r1_penalty_moves_d_by_gamma_over_two(engine):
    """The penalty's weight in D's gradient, checked on its own: gamma/2, not gamma."""
    sizes = {"batch_size": BATCH, "latent_size": 8, "hidden_size": 32, "recipe": "tutorial", "engine": engine}
    config, plain = TrainConfig(**sizes, r1_gamma=4.0), TrainConfig(**sizes, r1_gamma=0.0)
    real = torch.rand(BATCH, 784) * 2 - 1
    gradients = {}
    for name, settings in (("penalised", config), ("plain", plain)):
        torch.manual_seed(0)
        state = build_state(settings, torch.device("cpu"))
        discriminator = copy.deepcopy(state.discriminator)  # D before the step, the same for both
        torch.manual_seed(1)
        state.run_step(real)
        gradients[name] = [p.grad.clone() for p in state.discriminator.parameters()]
    real = real.clone().requires_grad_(True)
    (logit_gradient,) = torch.autograd.grad(discriminator.net[:-1](real).sum(), real, create_graph=True)
    penalty = logit_gradient.pow(2).sum(dim=1).mean()
    parameters = list(discriminator.parameters())
    # The last bias shifts the logit by a constant, so the penalty does not depend on it.
    penalty_gradients = [
        torch.zeros_like(p) if g is None else g
        for p, g in zip(parameters, torch.autograd.grad(penalty, parameters, allow_unused=True), strict=True)
    ]
    for penalised, plain_gradient, penalty_gradient in zip(
        gradients["penalised"], gradients["plain"], penalty_gradients, strict=True
    ):
        assert torch.allclose(penalised - plain_gradient, 2.0 * penalty_gradient, rtol=1e-3, atol=1e-6)


def test_history_holds_the_mean_of_every_step_of_the_epoch(tiny_data, tmp_path):
    """Replayed with the engine train.py ran (fused), the means agree to float32's last digits;
    with the autograd reference, to its rounding differences."""
    out = tmp_path / "run"
    result = run_script(
        *train_args(tiny_data, out, "--epochs", "2", "--batch-size", "40", "--recipe", "tutorial")
    )
    assert result.returncode == 0, result.stderr
    recorded = json.loads((out / "history.json").read_text())["epochs"]

    # The same run, replayed one step at a time: fit() seeds, builds the state, then each epoch
    # shuffles with randperm and takes the batches in order.
    images = to_model_range(load_mnist_images(tiny_data))
    for engine, tolerance in (("fused", 1e-6), ("autograd", 1e-4)):
        config = TrainConfig(batch_size=40, recipe="tutorial", engine=engine)
        torch.manual_seed(config.seed)
        state = build_state(config, torch.device("cpu"))
        for row in recorded:
            order = torch.randperm(len(images))
            steps = torch.stack(
                [state.run_step(images[order[i : i + 40]]) for i in range(0, len(images) - 39, 40)]
            )
            means, last = steps.mean(dim=0).tolist(), steps[-1].tolist()
            names = ("d_loss", "g_loss", "d_x", "d_g_z")
            assert [row[name] for name in names] == pytest.approx(means, rel=tolerance, abs=1e-7), engine
            assert [row[name] for name in names] != pytest.approx(last, rel=1e-3)  # the mean, not the last

    # The same run through `--engine autograd`: recorded as such, and the same means to rounding.
    reference = tmp_path / "autograd"
    flags = ("--epochs", "2", "--batch-size", "40", "--recipe", "tutorial", "--engine", "autograd")
    assert run_script(*train_args(tiny_data, reference, *flags)).returncode == 0
    history = json.loads((reference / "history.json").read_text())
    assert history["config"]["engine"] == "autograd"
    for row, fused_row in zip(history["epochs"], recorded, strict=True):
        assert [row[name] for name in names] == pytest.approx([fused_row[name] for name in names], rel=1e-4)


def test_the_state_has_the_configured_networks_and_optimisers():
    config = TrainConfig(latent_size=8, hidden_size=24, batch_size=5, lr=3e-4, ema_decay=0.99,
                         recipe="tutorial", real_label=0.9, adam_betas=(0.5, 0.9))  # fmt: skip
    state = build_state(config, torch.device("cpu"))
    shapes = lambda net: [tuple(m.weight.shape) for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert shapes(state.generator) == [(24, 8), (24, 24), (784, 24)]
    assert shapes(state.discriminator) == [(24, 784), (24, 24), (1, 24)]
    pairs = ((state.g_optimizer, state.generator), (state.d_optimizer, state.discriminator))
    for optimiser, network in pairs:
        (group,) = optimiser.param_groups
        assert [id(p) for p in group["params"]] == [id(p) for p in network.parameters()]
        assert (group["lr"], group["betas"]) == (3e-4, (0.5, 0.9))
    assert torch.equal(state.d_targets, torch.tensor([[0.9]] * 5 + [[0.0]] * 5))
    assert torch.equal(state.g_targets, torch.ones(5, 1))
    # The moving average starts as the generator, and is never trained by backprop.
    ema, generator = state.ema.state_dict(), state.generator.state_dict()
    assert all(torch.equal(ema[name], generator[name]) for name in generator)
    assert state.ema_decay == 0.99 and not any(p.requires_grad for p in state.ema.parameters())


@pytest.mark.parametrize("engine", ENGINES)
def test_a_step_whose_scores_are_nan_records_the_bce_of_one_half_instead_of_crashing(engine):
    # Weights that overflowed give NaN scores; BCE raises on NaN, so they count as 0.5 (log 2 each)
    # and the epoch ends, for fit() to stop it with a message.
    state = build_state(TrainConfig(batch_size=4, recipe="improved", engine=engine), torch.device("cpu"))
    with torch.no_grad():
        state.discriminator.net[0].weight.fill_(float("nan"))
    d_loss, g_loss, _, _ = state.run_step(torch.zeros(4, 784)).tolist()
    assert d_loss == pytest.approx(2 * math.log(2)) and g_loss == pytest.approx(math.log(2))


def test_devices_resolve_as_asked_and_a_missing_one_is_named():
    from gan_core.training.state import device_metadata, resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto") == torch.device("cpu")
        with pytest.raises(ValueError, match="--device cuda was asked for, but PyTorch sees no CUDA GPU"):
            resolve_device("cuda")
    if not torch.backends.mps.is_available():
        with pytest.raises(ValueError, match="--device mps was asked for, but MPS is not available"):
            resolve_device("mps")
    meta = device_metadata(torch.device("cpu"))
    assert meta["device"] == "cpu" and meta["torch"] == str(torch.__version__)
    threads = torch.get_num_threads()  # 1 in the suite (tests/conftest.py): "1 thread", not "1 threads"
    assert meta["device_name"].startswith("cpu (")
    assert meta["device_name"].endswith(f", {threads} thread{'' if threads == 1 else 's'})")
    # A run recorded before that was fixed reads right all the same.
    from gan_core.runs.report import training_summary

    recorded = {"epochs": [{"epoch": 1, "d_x": 0.5, "d_g_z": 0.5, "d_loss": 1.4, "g_loss": 0.7}],
                "meta": {"device_name": "cpu (x86_64, 1 threads)"}}  # fmt: skip
    assert "on cpu (x86_64, 1 thread)." in training_summary(recorded)
