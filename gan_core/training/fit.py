"""fit(): the whole run. Epochs of steps, a checkpoint after each, quality figures when
asked, and a run directory that `--resume` can always continue after Ctrl-C or a crash."""

from __future__ import annotations

import math
import shlex
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from gan_core.config import TrainConfig
from gan_core.data import check_same_data, fingerprint, load_mnist_images
from gan_core.latent import seeded_noise
from gan_core.runs.checkpoint import (
    kept_checkpoint,
    load_resume_state,
    read_resume_state,
    saved_epoch,
    unwritable,
)
from gan_core.runs.claim import check_fresh_folder, lock_run_directory, remove_temporary_files, user_files
from gan_core.runs.history import STAT_NAMES, EpochRecord, History, epoch_count, epoch_record, new_history
from gan_core.runs.layout import STATE_FILE
from gan_core.runs.writer import (
    EpochWriter,
    record_epoch,
    write_first_checkpoint,
    write_static_files,
    write_summary,
)
from gan_core.training.epochs import make_epoch_runner
from gan_core.training.loop import EpochLoop
from gan_core.training.quality import QualityEvaluator
from gan_core.training.state import (
    TrainState,
    build_state,
    configure_cuda_math,
    device_metadata,
    place_learning_rates,
    resolve_device,
    set_learning_rate,
)


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class Run:
    """Everything one call of fit() trains with."""

    config: TrainConfig
    out: Path
    device: torch.device
    state: TrainState
    history: History
    images: torch.Tensor  # on the device
    fixed_noise: torch.Tensor  # the sample grids' 64 latents, the same every epoch
    evaluator: QualityEvaluator | None


def fit(
    config: TrainConfig,
    resume: bool = False,
    log=print,
    progress: bool | None = None,
    hint: str | None = None,
) -> Path:
    """Train per `config`, writing the run directory `config.out`; returns its path. `hint`: how
    to go on after Ctrl-C, where `--resume --out OUT` is not it (a run of `--seeds`).

    With `resume`, continue from the last finished epoch of `config.out` (weights, optimizer
    moments, RNG state, history). Ctrl-C stops between checkpoints, so the run stays resumable.
    A write that fails (read-only folder, full disk) stops the run with RunDirectoryUnwritable;
    atomic writes leave the files of the last good epoch as they were. A run directory removed
    while training is not made again: the run stops with RunDirectoryLost (see EpochWriter).
    """
    out = Path(config.out)
    try:
        run = prepare(config, resume)
        if run is None:
            log(f"{out} already has {saved_epoch(out)} epochs (--epochs {config.epochs}); nothing to train")
            return out
        train_epochs(run, log, progress, hint)
    except OSError as error:
        raise unwritable(error, out) from None
    return out


def prepare(config: TrainConfig, resume: bool, like: Run | None = None) -> Run | None:
    """Check the flags, the folder and the data, then build or restore the training state and
    claim the folder; None when a resumed run has already reached --epochs. `like`: a run of the
    same data and evaluation settings whose images and evaluator this one shares (--seeds)."""
    config.validate()
    device = resolve_device(config.device)
    out = Path(config.out)
    if resume:
        prior = claim_for_resume(out, config)
    else:
        prior = None
        if out.is_dir():
            lock_run_directory(out)  # a folder another process is using is "in use" before anything else
        check_fresh_folder(out)
    images = like.images if like is not None else load_mnist_images(config.data_dir, subset=config.subset)
    if config.batch_size > len(images):
        raise ValueError(f"--batch-size {config.batch_size} is larger than the {len(images)} training images")
    data = fingerprint(config.data_dir, config.subset)
    if prior is not None:
        check_same_data(out, prior["history"]["meta"].get("data"), data)

    torch.manual_seed(config.seed)  # weights, shuffles and noise all follow from the seed
    if device.type == "cuda":
        configure_cuda_math()
    state = build_state(config, device, capturable=_use_graphs(config, device))
    history = (
        prior["history"] if prior is not None else new_history({}, {"training_seconds": 0.0, "data": data})
    )
    history["config"] = config.to_dict()  # epochs, device... may change on resume
    history["meta"].update(device_metadata(device), training_images=len(images))
    if prior is not None:
        load_resume_state(state, prior, device, out / STATE_FILE)
        place_learning_rates(state, device)
    else:
        out.mkdir(parents=True, exist_ok=True)
        lock_run_directory(out)
        check_fresh_folder(out)  # another process may have taken it since the first look
        write_first_checkpoint(out, state, history, device)
    if epoch_count(history) >= config.epochs:
        return None

    images = images.to(device)
    write_static_files(out, config, images[:64])
    evaluator = like.evaluator if like is not None else None
    if config.eval_every and evaluator is None:
        with torch.random.fork_rng(devices=[]):  # the classifier's throw-away initial weights
            evaluator = QualityEvaluator.for_mnist_test_set(config.data_dir, config.eval_samples)
    fixed_noise = seeded_noise(config.seed, 64, config.latent_size).to(device)
    return Run(config, out, device, state, history, images, fixed_noise, evaluator)


def claim_for_resume(out: Path, config: TrainConfig) -> dict | None:
    """Lock the run and read its state; None when it was stopped before its first checkpoint
    (the folder is there but empty), so that --resume starts it afresh."""
    if not out.is_dir():
        raise ValueError(f"nothing to resume: {out} does not exist (train without --resume first)")
    lock_run_directory(out)
    if not (out / STATE_FILE).exists() and not user_files(out):
        remove_temporary_files(out)
        return None
    prior = read_resume_state(out, config)
    remove_temporary_files(out)  # a run of ours, and ours alone now: what a killed writer left can go
    return prior


def train_epochs(run: Run, log, progress: bool | None, hint: str | None = None) -> None:
    """The loop over epochs; the files of each are written while the next one trains."""
    config, history = run.config, run.history
    setup_start = time.perf_counter()
    runner = make_epoch_runner(
        run.state, run.images, config.batch_size, _use_graphs(config, run.device), log=log
    )
    history["meta"]["path"] = runner.name
    history["meta"]["engine"] = run.state.engine_name  # what --engine auto chose, for the record
    history["meta"]["setup_seconds"] = round(time.perf_counter() - setup_start, 3)
    hide_bar = None if progress is None else not progress  # None: tqdm shows bars on terminals only
    first_epoch = epoch_count(history) + 1
    run_start = time.perf_counter()
    writer = EpochWriter(run.out, history)
    loop = EpochLoop(runner, config, lambda lr: set_learning_rate(run.state, lr), first_epoch)
    # One bar for the whole run (epochs done, time left) stays at the bottom of a terminal; the
    # per-epoch lines are written above it, so logs keep them too.
    overall = tqdm(total=config.epochs, initial=first_epoch - 1, desc="run", unit="epoch", disable=hide_bar)
    if log is print and not overall.disable:
        log = tqdm.write

    @contextmanager
    def epoch_bar(epoch: int):
        bar = tqdm(total=runner.steps, desc=f"epoch {epoch}/{config.epochs}", leave=False, disable=hide_bar,
                   unit="step", position=1)  # fmt: skip
        with bar:
            yield _progress_updater(bar, run.device)

    def on_epoch(epoch: int, means: list, seconds: float, lr: float | None) -> None:
        close_epoch(run, writer, epoch, dict(zip(STAT_NAMES, means, strict=True)), seconds, lr, log)
        overall.update(1)

    try:
        loop.run(on_epoch, on_step=epoch_bar)
    except KeyboardInterrupt:
        writer.close()  # the finished epochs reach the disk before we say they did
        write_summary(run.out, history)
        log(interrupted_line(run, loop.epoch, hint))
        raise
    finally:
        writer.close()
        overall.close()
    write_summary(run.out, history)
    log(
        f"trained epochs {first_epoch}-{config.epochs} in {time.perf_counter() - run_start:.1f}s on "
        f"{history['meta']['device_name']} ({history['meta']['path']}); run directory: {run.out.resolve()}"
    )


def close_epoch(run: Run, writer: EpochWriter, epoch: int, means: dict, seconds: float, lr, log) -> None:
    """After an epoch's steps: stop on NaN, measure quality when due, hand the epoch's files to
    the writer and log its line."""
    check_finite(run, epoch, means)
    record = finish_epoch(run, epoch, means, seconds, lr)
    sample_noise = run.fixed_noise if _sampled(run.config, epoch) else None
    writer.submit(record_epoch(run.state, run.history, record, sample_noise, run.device))
    log(epoch_line(run.config, record))


def interrupted_line(run: Run, epoch: int, hint: str | None = None) -> str:
    return (
        f"interrupted during epoch {epoch}; {run.out} holds epoch {epoch_count(run.history)}: "
        f"continue with {hint or f'--resume --out {shlex.quote(str(run.out))}'}"
    )


def check_finite(run: Run, epoch: int, means: dict) -> None:
    """Stop at the first epoch whose means or weights are NaN or infinite."""
    if not all(map(math.isfinite, means.values())) or not run.state.weights_finite():
        rounded = ", ".join(f"{name} {value:.4g}" for name, value in means.items())
        raise TrainingDiverged(
            f"epoch {epoch}: a loss or weight became NaN or infinite ({rounded}); "
            f"{kept_checkpoint(run.out, epoch - 1)} (try a smaller --lr)"
        )


def finish_epoch(run: Run, epoch: int, means: dict, seconds: float, lr: float | None) -> EpochRecord:
    """The epoch's history row: its means, plus the rate when it decays and quality when due."""
    record = epoch_record(epoch, means, seconds)
    if lr is not None:
        record["lr"] = lr
    every = run.config.eval_every
    if every and (epoch % every == 0 or epoch == run.config.epochs):
        record.update(evaluate_quality(run.evaluator, run.state))
    return record


def evaluate_quality(evaluator: QualityEvaluator, state: TrainState) -> dict:
    """Quality figures of the published generator, and of the raw one beside it when EMA is on.

    Measuring must not change the training: torchmetrics' InceptionScore shuffles with the global
    CPU generator, which also draws a CPU run's shuffles and noise, so it runs on a fork of it.
    """
    with torch.random.fork_rng(devices=[]):
        figures = {"quality": evaluator(state.published())}
        if state.ema is not None:
            figures["quality_raw"] = evaluator(state.generator)
    return figures


def epoch_line(config: TrainConfig, record: EpochRecord) -> str:
    line = (
        f"epoch {record['epoch']:4d}/{config.epochs}  d_loss {record['d_loss']:.4f}  "
        f"g_loss {record['g_loss']:.4f}  D(x) {record['d_x']:.3f}  D(G(z)) {record['d_g_z']:.3f}  "
        f"{record['seconds']:.2f}s"
    )
    if "quality" in record:
        line += (
            f"  MNIST-FD {record['quality']['mnist_fd']:.2f}  IS {record['quality']['inception_score']:.2f}"
        )
    return line


def _use_graphs(config: TrainConfig, device: torch.device) -> bool:
    return config.cuda_graphs and device.type == "cuda"  # CPU and MPS always run eagerly


def _sampled(config: TrainConfig, epoch: int) -> bool:
    return epoch % config.sample_every == 0 or epoch == config.epochs


def _progress_updater(bar, device: torch.device):
    """Advance the bar every step; show running means only where reading them costs no GPU sync."""
    last = [0]

    def update(step: int, totals: torch.Tensor) -> None:
        bar.update(step - last[0])
        last[0] = step
        if device.type == "cpu" and (step % 50 == 0 or step == bar.total) and not bar.disable:
            bar.set_postfix(
                {name: f"{value / step:.3f}" for name, value in zip(STAT_NAMES, totals.tolist(), strict=True)}
            )

    return update
