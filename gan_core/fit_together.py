"""fit() for many seeds at once: their steps stacked in one engine (stacked_step.StackedRuns),
each run's folder, checkpoints, quality figures, Ctrl-C and --resume exactly as fit() keeps them.

Each run is prepared by fit's own prepare() (its folder claimed, its state built from its seed or
restored, its first checkpoint written), then the runs that stand at the same epoch train
together. After every epoch the engine writes each run's weights and Adam moments back into the
run's own TrainState, and each run's epoch is closed by fit's close_epoch(), with the run's own
random generator put in place as the global one, which is what its checkpoint records. A run
resumed alone with fit() therefore goes on as if it had been trained alone.
"""

from __future__ import annotations

import time

import torch

from .config import TrainConfig
from .data import to_model_range
from .epoch_files import EpochWriter, write_summary
from .fit import RunDirectoryUnwritable, TrainingDiverged, close_epoch, interrupted_line, prepare, unwritable
from .history import STAT_NAMES, epoch_count
from .run_files import saved_epoch
from .stacked_step import StackedRuns, run_generator, use_as_global

SEEDS_HINT = "the same --seeds command and --resume"  # each run's own flags are the command's


def fit_together(configs: list[TrainConfig], resume: list[bool], log=print) -> None:
    """Train the runs of `configs` (one config, different seeds and folders) together."""
    prepared = []
    # The resumed runs first: a damaged one stops the command before a fresh one writes anything.
    order = sorted(range(len(configs)), key=lambda index: not resume[index])
    for config, resumed in ((configs[index], resume[index]) for index in order):
        like = prepared[0][0] if prepared else None  # one copy of the data and the evaluator for all
        try:
            run = prepare(config, resumed, like)
        except OSError as error:
            raise unwritable(error, config.out) from None
        if run is None:
            log(f"{config.out} already has {saved_epoch(config.out)} epochs (--epochs {config.epochs}); "
                f"nothing to train")  # fmt: skip
            continue
        prepared.append((run, run_generator(run.device)))  # the RNG where this run's prepare() left it
    # Runs resumed from different epochs train in groups, each group together.
    for start in sorted({epoch_count(run.history) for run, _ in prepared}):
        group = [(run, rng) for run, rng in prepared if epoch_count(run.history) == start]
        try:
            _train_group(group, log)
        except OSError as error:
            raise RunDirectoryUnwritable(
                f"cannot write {error.filename}: {error.strerror or error}; each run keeps the "
                f"checkpoint of its last finished epoch"
            ) from None


def _train_group(group: list, log) -> None:
    runs, rngs = [run for run, _ in group], [rng for _, rng in group]
    config, device = runs[0].config, runs[0].device
    engine = StackedRuns(config, [run.state for run in runs], rngs, device)
    images = to_model_range(runs[0].images)  # the same data for every run (shared by prepare)
    for run in runs:
        run.history["meta"]["path"] = f"stacked ({len(runs)} run{'s' if len(runs) > 1 else ''})"
    batch_size = config.batch_size
    steps = len(images) // batch_size
    writers = [EpochWriter(run.out, run.history) for run in runs]
    first_epoch = epoch_count(runs[0].history) + 1
    epoch = first_epoch - 1
    run_start = time.perf_counter()
    try:
        for epoch in range(first_epoch, config.epochs + 1):
            epoch_start = time.perf_counter()
            orders = engine.orders(len(images))  # (runs, images): each run's own shuffle
            totals = torch.zeros(len(runs), len(STAT_NAMES), device=device)
            for step in range(steps):
                totals += engine.step(images[orders[:, step * batch_size : (step + 1) * batch_size]])
            means = (totals / steps).tolist()  # one host read for all the runs
            engine.write_back([run.state for run in runs])
            seconds = time.perf_counter() - epoch_start
            diverged = []
            for run, rng, writer, run_means in zip(runs, rngs, writers, means, strict=True):
                use_as_global(rng, device)  # what this run's checkpoint records as its RNG
                seeded_log = lambda line, seed=run.config.seed: log(f"seed {seed}: {line}")
                try:
                    close_epoch(run, writer, epoch, dict(zip(STAT_NAMES, run_means, strict=True)), seconds,
                                None, seeded_log)  # fmt: skip
                except TrainingDiverged as error:  # the other runs' epoch is still recorded
                    diverged.append(f"seed {run.config.seed}: {error}")
            if diverged:
                others = "; the other runs kept this epoch" if len(diverged) < len(runs) else ""
                raise TrainingDiverged("; ".join(diverged) + others)
    except KeyboardInterrupt:
        for run, writer in zip(runs, writers, strict=True):
            writer.close()  # the finished epochs reach the disk before we say they did
            write_summary(run.out, run.history)
            log(interrupted_line(run, epoch, SEEDS_HINT))
        raise
    finally:
        for writer in writers:
            writer.close()
    for run in runs:
        write_summary(run.out, run.history)
    log(
        f"trained epochs {first_epoch}-{config.epochs} of {len(runs)} run{'s' if len(runs) > 1 else ''} "
        f"together in "
        f"{time.perf_counter() - run_start:.1f}s on {runs[0].history['meta']['device_name']}"
    )
