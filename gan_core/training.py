"""The seed's training algorithm: per step, (1) update D on a real and a fake batch, (2) update G.

Two ways to run an epoch, one step function:
- eager (here): a Python loop over batches (CPU, MPS, and CUDA with --no-cuda-graphs);
- CUDA graphs (graphs.py): a whole epoch of steps captured once and replayed, which removes the
  per-kernel launch cost that dominates this tiny model on a GPU.
Both keep MNIST on the device, shuffle with a device randperm, accumulate the epoch's sums on the
device, and read them back once per epoch.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import checkpoint as files
from .config import TrainConfig
from .data import load_mnist_images, to_model_range
from .latent import seeded_noise
from .models import Discriminator, Generator

STAT_NAMES = ("d_loss", "g_loss", "d_x", "d_g_z")  # order of the tensor train_step returns


@dataclass
class TrainState:
    generator: Generator
    discriminator: Discriminator
    g_optimizer: torch.optim.Adam
    d_optimizer: torch.optim.Adam
    # BCE targets, made once: D sees [real; fake] -> [1; 0], G's fakes are labelled 1.
    d_targets: torch.Tensor
    g_targets: torch.Tensor
    # The two forward-and-loss computations: discriminator_loss and generator_loss, or their
    # torch.compile'd versions (--compile).
    d_loss_fn: Callable
    g_loss_fn: Callable
    # An exponential moving average of G's weights (None when disabled): averaging over the
    # late, oscillating part of training gives steadier samples than the last step's weights.
    ema: Generator | None = None
    ema_decay: float = 0.0
    r1_gamma: float = 0.0  # weight of D's R1 gradient penalty (0: the seed's plain BCE)


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


class RunDirectoryUnwritable(RuntimeError):
    """The run directory refused a write (read-only, full disk); the last good checkpoint is kept."""


def resolve_device(name: str) -> torch.device:
    """'auto' picks cuda, then mps, then cpu; an explicit device must exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but PyTorch sees no CUDA GPU here (use --device auto or cpu)")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("--device mps was asked for, but MPS is not available here (use --device auto or cpu)")
    if name not in ("cuda", "mps", "cpu"):
        raise ValueError(f"unknown --device {name!r}: choose auto, cuda, mps or cpu")
    return torch.device(name)


def build_state(config: TrainConfig, device: torch.device, capturable: bool = False) -> TrainState:
    """Fresh networks (initialised from the global RNG, on the CPU so a seed means the same
    weights everywhere) and one Adam each, as in the seed."""
    generator = Generator(**config.model.to_dict()).to(device)
    discriminator = Discriminator(config.hidden_size, config.model.image_size).to(device)
    # Fused Adam updates all of a network's parameters in one kernel (CUDA) or one loop (CPU);
    # capturable keeps its step count on the GPU so a CUDA graph can replay it.
    adam_options = {"fused": True, "capturable": capturable} if device.type == "cuda" else \
        {"fused": True} if device.type == "cpu" else {}
    adam_options["betas"] = config.adam_betas
    # A decaying rate lives in a tensor that set_learning_rate() fills in place: a CUDA graph
    # reads it at every replay, where a float would be frozen into the captured kernels.
    tensor_lr = config.resolved_lr_decay != "none" and adam_options.get("fused", False)
    lr = (lambda: learning_rate_tensor(config.lr, device)) if tensor_lr else (lambda: config.lr)
    batch = config.batch_size
    state = TrainState(
        generator=generator,
        discriminator=discriminator,
        g_optimizer=torch.optim.Adam(generator.parameters(), lr=lr(), **adam_options),
        d_optimizer=torch.optim.Adam(discriminator.parameters(), lr=lr(), **adam_options),
        d_targets=torch.cat([torch.full((batch, 1), config.real_label), torch.zeros(batch, 1)]).to(device),
        g_targets=torch.ones(batch, 1, device=device),
        d_loss_fn=discriminator_loss,
        g_loss_fn=generator_loss,
        r1_gamma=config.resolved_r1_gamma,
    )
    if config.resolved_ema_decay > 0:
        state.ema = Generator(**config.model.to_dict()).to(device)
        state.ema.load_state_dict(generator.state_dict())
        state.ema.requires_grad_(False)
        state.ema_decay = config.resolved_ema_decay
    if config.compile:
        # Fuses the small elementwise kernels around each Linear (forward and backward); costs
        # compile time at start-up, so it is opt-in and measured in benchmarks/train_speed.py.
        state.d_loss_fn = torch.compile(discriminator_loss)
        state.g_loss_fn = torch.compile(generator_loss)
    return state


def learning_rate_tensor(lr: float, device: torch.device) -> torch.Tensor:
    # float64 on the CPU, whose fused Adam reads the rate as a double: a tensor rate then trains
    # bit for bit like a float one. CUDA's fused kernel reads a float32 from device memory.
    return torch.tensor(lr, dtype=torch.float64 if device.type == "cpu" else torch.float32, device=device)


def _param_groups(state: TrainState):
    return [group for optimizer in (state.g_optimizer, state.d_optimizer) for group in optimizer.param_groups]


def set_learning_rate(state: TrainState, lr: float) -> None:
    """Both optimizers' rate, in place where it is a tensor (see build_state)."""
    for group in _param_groups(state):
        if torch.is_tensor(group["lr"]):
            group["lr"].fill_(lr)
        else:
            group["lr"] = lr


def place_learning_rates(state: TrainState, device: torch.device) -> None:
    """After loading optimizer state: a saved tensor rate comes back on the CPU; put it beside
    the weights again, as learning_rate_tensor() made it."""
    for group in _param_groups(state):
        if torch.is_tensor(group["lr"]):
            group["lr"] = learning_rate_tensor(float(group["lr"]), device)


def write_gradients(module: torch.nn.Module, loss: torch.Tensor) -> None:
    """Set .grad to d(loss)/d(params) for this module only.

    Writing gradients (instead of zeroing and accumulating with backward) is what the seed's
    undefined `reset_grad` was for, costs no zeroing kernels, and skips the gradients of the
    other network's weights, which the seed computed and threw away.
    """
    params = list(module.parameters())
    for param, grad in zip(params, torch.autograd.grad(loss, params)):
        param.grad = grad


def discriminator_loss(discriminator, real_images, fake_images, targets):
    """BCE of D on [real; fake] against [1; 0], and the two mean scores D(x), D(G(z)).

    One pass over real and fake together equals two passes (D has no batch statistics), and
    2 * mean over the 2B rows is exactly d_loss_real + d_loss_fake of the seed (each a mean
    over B rows), in one loss kernel instead of two plus their slicing.
    """
    scores = discriminator(torch.cat([real_images, fake_images]))
    d_loss = 2 * F.binary_cross_entropy(_nan_as_half(scores), targets)
    return d_loss, scores.detach().view(2, -1).mean(dim=1)  # (D(x), D(G(z)))


def generator_loss(discriminator, fake_images, targets):
    """BCE of D(G(z)) against 1: the non-saturating generator loss of the seed."""
    return F.binary_cross_entropy(_nan_as_half(discriminator(fake_images)), targets)


def r1_penalty(discriminator: Discriminator, real_images: torch.Tensor) -> torch.Tensor:
    """Mean squared norm of the gradient of D's logit with respect to real images (Mescheder et
    al., 2018): it keeps D flat on the data, so that D cannot push G back and forth between a few
    easy digits, the oscillation that leaves the seed's samples with 30% ones."""
    real_images = real_images.detach().requires_grad_(True)
    (gradient,) = torch.autograd.grad(discriminator.logits(real_images).sum(), real_images, create_graph=True)
    return gradient.square().sum(dim=1).mean()


def _nan_as_half(scores: torch.Tensor) -> torch.Tensor:
    """Scores with NaN (weights that overflowed) replaced by 0.5; finite scores untouched.

    binary_cross_entropy raises on NaN on the CPU and trips a device assert on CUDA, which kills
    the process mid-epoch with a traceback. Replaced, the epoch finishes; the NaN still reaches
    the recorded D(x) / D(G(z)) and the weights, and fit() stops there with a clear message.
    """
    return scores.nan_to_num(nan=0.5)


def train_step(state: TrainState, real_images: torch.Tensor) -> torch.Tensor:
    """One step of the seed's algorithm on a batch of real images in [-1, 1].

    Returns a device tensor (d_loss, g_loss, D(x), D(G(z))) without syncing the host.
    """
    generator, discriminator = state.generator, state.discriminator
    batch_size = real_images.shape[0]
    # G's weights do not change during the D update, so one forward pass over 2B noise vectors
    # serves both phases: the first B fakes for D's update, the other B (fresh noise) for G's.
    noise = torch.randn(2 * batch_size, generator.latent_size, device=real_images.device)
    fakes = generator(noise)

    # ================================================================== #
    # (1) update D: real images labelled 1, fakes labelled 0             #
    # ================================================================== #
    # detach: the seed's D step back-propagated into G for nothing.
    d_loss, scores = state.d_loss_fn(discriminator, real_images, fakes[:batch_size].detach(), state.d_targets)
    # The penalty joins D's gradient but not the recorded d_loss, which stays the seed's BCE.
    # It is outside d_loss_fn because torch.compile does not take double backward. Without it the
    # step is the seed's, kernel for kernel (not even an add of 0 in a captured CUDA graph).
    d_objective = d_loss
    if state.r1_gamma > 0:
        d_objective = d_loss + 0.5 * state.r1_gamma * r1_penalty(discriminator, real_images)
    write_gradients(discriminator, d_objective)
    state.d_optimizer.step()

    # ================================================================== #
    # (2) update G: new fakes against the updated D, target 1            #
    # ================================================================== #
    g_loss = state.g_loss_fn(discriminator, fakes[batch_size:], state.g_targets)
    write_gradients(generator, g_loss)
    state.g_optimizer.step()
    if state.ema is not None:
        update_ema(state.ema, generator, state.ema_decay)

    return torch.cat([torch.stack([d_loss, g_loss]).detach(), scores])


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, for every parameter, in one fused kernel."""
    torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1.0 - decay)


def batch_at(images: torch.Tensor, order: torch.Tensor, step: int, batch_size: int) -> torch.Tensor:
    """The step-th shuffled batch of the normalised data set: one gather on the device."""
    return images[order[step * batch_size:(step + 1) * batch_size]]


class EagerEpoch:
    """A Python loop over the epoch's batches; the reference path and the CPU path."""

    name = "eager"

    def __init__(self, state: TrainState, images: torch.Tensor, batch_size: int):
        # Normalised once for the whole run, on the device: no per-batch conversion kernels.
        self.state, self.images, self.batch_size = state, to_model_range(images), batch_size
        self.steps = len(images) // batch_size  # the last partial batch is dropped, as the seed must

    def run(self, on_step=None) -> torch.Tensor:
        order = torch.randperm(len(self.images), device=self.images.device)
        totals = torch.zeros(len(STAT_NAMES), device=self.images.device)
        for step in range(self.steps):
            totals += train_step(self.state, batch_at(self.images, order, step, self.batch_size))
            if on_step is not None:
                on_step(step + 1, totals)
        return totals


def make_epoch_runner(state: TrainState, images: torch.Tensor, batch_size: int, use_graphs: bool, log=print):
    """The CUDA-graph runner where asked and possible, else eager; a failed capture falls back."""
    if use_graphs and images.device.type == "cuda":
        from .graphs import GraphEpoch

        try:
            return GraphEpoch(state, images, batch_size)
        except Exception as error:  # capture fails on odd drivers or unsupported ops
            log(f"CUDA graph capture failed ({type(error).__name__}: {error}); training eagerly instead")
            torch.cuda.synchronize()
    return EagerEpoch(state, images, batch_size)


def configure_cuda_math() -> None:
    # TF32 matmuls: about 1.3x faster on Ampere and later for this model at no visible cost to a
    # GAN on 28x28 digits; CPU runs are unaffected.
    torch.set_float32_matmul_precision("high")



# --------------------------------------------------------------------------------------------- #
# fit(): the whole run, with a checkpoint after every epoch                                     #
# --------------------------------------------------------------------------------------------- #

def fit(config: TrainConfig, resume: bool = False, log=print, progress: bool | None = None):
    """Train per `config`, writing the run directory `config.out`; returns its path.

    With `resume`, continue from the last finished epoch of `config.out` (weights, optimizer
    moments, RNG state, history). Ctrl-C stops between checkpoints, so the run stays resumable.
    A write that fails (read-only folder, full disk) stops the run with RunDirectoryUnwritable;
    atomic writes leave the files of the last good epoch as they were.
    """
    try:
        return _fit(config, resume, log, progress)
    except OSError as error:
        out = Path(config.out)
        where = error.filename or out
        raise RunDirectoryUnwritable(f"cannot write {where}: {error.strerror or error}; "
                                     f"{_kept(out, files.saved_epoch(out))}") from None


def _fit(config: TrainConfig, resume: bool, log, progress: bool | None):
    config.validate()
    device = resolve_device(config.device)
    out = Path(config.out)
    prior = files.read_resume_state(out, config) if resume else None
    if not resume:
        files.refuse_to_overwrite(out)
    images = load_mnist_images(config.data_dir, subset=config.subset)
    if config.batch_size > len(images):
        raise ValueError(f"--batch-size {config.batch_size} is larger than the {len(images)} training images")

    torch.manual_seed(config.seed)  # weights, shuffles and noise all follow from the seed
    use_graphs = config.cuda_graphs and device.type == "cuda"
    if device.type == "cuda":
        configure_cuda_math()
    state = build_state(config, device, capturable=use_graphs)
    history = files.start_history(config, device, prior)
    if prior is not None:
        files.load_resume_state(state, prior, device)
        place_learning_rates(state, device)
    first_epoch = len(history["epochs"]) + 1
    if first_epoch > config.epochs:
        log(f"{out} already has {first_epoch - 1} epochs (--epochs {config.epochs}); nothing to train")
        return out

    images = images.to(device)
    fixed_noise = seeded_noise(config.seed, 64, config.latent_size).to(device)
    files.write_static_files(out, config, images[:64])

    evaluator = None
    if config.eval_every:
        from .quality import QualityEvaluator

        with torch.random.fork_rng(devices=[]):  # the classifier's throw-away initial weights
            evaluator = QualityEvaluator.for_mnist_test_set(config.data_dir, config.eval_samples)
    setup_start = time.perf_counter()
    runner = make_epoch_runner(state, images, config.batch_size, use_graphs, log=log)
    history["meta"]["path"] = runner.name
    history["meta"]["setup_seconds"] = round(time.perf_counter() - setup_start, 3)
    hide_bar = None if progress is None else not progress  # None: tqdm shows bars on terminals only
    run_start = time.perf_counter()
    epoch = first_epoch - 1
    writer = files.EpochWriter(out)
    decaying = config.resolved_lr_decay != "none"
    try:
        for epoch in range(first_epoch, config.epochs + 1):
            epoch_start = time.perf_counter()
            lr = config.lr_at(epoch)
            if decaying:
                set_learning_rate(state, lr)
            with tqdm(total=runner.steps, desc=f"epoch {epoch}/{config.epochs}", leave=False,
                      disable=hide_bar, unit="step") as bar:
                totals = runner.run(on_step=_progress_updater(bar, device))
                means = dict(zip(STAT_NAMES, (totals / runner.steps).tolist()))  # the epoch's one host read
            if not all(map(_finite, means.values())) or not _finite_weights(state):
                raise TrainingDiverged(f"epoch {epoch}: a loss or weight became NaN or infinite "
                                       f"({_rounded(means)}); {_kept(out, epoch - 1)} (try a smaller --lr)")
            seconds = time.perf_counter() - epoch_start
            sampled = epoch % config.sample_every == 0 or epoch == config.epochs
            quality = evaluate_quality(evaluator, state) if _due(epoch, config.eval_every, config.epochs) else None
            extra = {**(quality or {}), **({"lr": lr} if decaying else {})}
            writer.submit(files.record_epoch(state, history, epoch, means, seconds,
                                             fixed_noise if sampled else None, device, extra))
            log(f"epoch {epoch:4d}/{config.epochs}  d_loss {means['d_loss']:.4f}  g_loss {means['g_loss']:.4f}  "
                f"D(x) {means['d_x']:.3f}  D(G(z)) {means['d_g_z']:.3f}  {seconds:.2f}s"
                + (f"  MNIST-FD {quality['quality']['mnist_fd']:.2f}  IS {quality['quality']['inception_score']:.2f}"
                   if quality else ""))
    except KeyboardInterrupt:
        writer.close()  # the finished epochs reach the disk before we say they did
        files.write_summary(out, history)
        log(f"interrupted during epoch {epoch}; {out} holds epoch {len(history['epochs'])}: "
            f"continue with --resume --out {out}")
        raise
    finally:
        writer.close()
    files.write_summary(out, history)
    total = time.perf_counter() - run_start
    log(f"trained epochs {first_epoch}-{config.epochs} in {total:.1f}s on {history['meta']['device_name']} "
        f"({history['meta']['path']}); run directory: {out.resolve()}")
    return out


def _due(epoch: int, every: int, last: int) -> bool:
    return every > 0 and (epoch % every == 0 or epoch == last)


def evaluate_quality(evaluator, state: TrainState) -> dict:
    """Quality figures of the published generator, and of the raw one beside it when EMA is on.

    Measuring must not change the training: torchmetrics' InceptionScore shuffles with the global
    CPU generator, which also draws a CPU run's shuffles and noise, so it runs on a fork of it.
    """
    with torch.random.fork_rng(devices=[]):
        figures = {"quality": evaluator(files.published_generator(state))}
        if state.ema is not None:
            figures["quality_raw"] = evaluator(state.generator)
    return figures


def _finite(value: float) -> bool:
    return value == value and abs(value) != float("inf")


def _finite_weights(state: TrainState) -> bool:
    """Once per epoch: D's last update can turn its weights NaN after the last recorded score."""
    modules = [state.generator, state.discriminator] + ([state.ema] if state.ema is not None else [])
    return bool(torch.stack([param.isfinite().all() for module in modules for param in module.parameters()]).all())


def _kept(out: Path, epoch: int) -> str:
    return f"the checkpoint of epoch {epoch} in {out} is kept" if epoch else "no epoch was saved"


def _rounded(means: dict) -> str:
    return ", ".join(f"{name} {value:.4g}" for name, value in means.items())


def _progress_updater(bar, device: torch.device):
    """Advance the bar every step; show running means only where reading them costs no GPU sync."""
    last = [0]

    def update(step: int, totals: torch.Tensor) -> None:
        bar.update(step - last[0])
        last[0] = step
        if device.type == "cpu" and (step % 50 == 0 or step == bar.total) and not bar.disable:
            bar.set_postfix({name: f"{value / step:.3f}" for name, value in zip(STAT_NAMES, totals.tolist())})

    return update
