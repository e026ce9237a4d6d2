"""fit() for many seeds at once: their steps stacked in one engine (engines/stacked.py, StackedRuns),
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
from contextlib import contextmanager

from gan_core.config import TrainConfig
from gan_core.runs.checkpoint import RunDirectoryUnwritable, saved_epoch, unwritable
from gan_core.runs.history import STAT_NAMES, epoch_count
from gan_core.runs.writer import EpochWriter, write_summary
from gan_core.training.engines.stacked import StackedEpoch, StackedRuns, run_generator, use_as_global
from gan_core.training.fit import TrainingDiverged, close_epoch, interrupted_line, prepare
from gan_core.training.loop import EpochLoop
from gan_core.training.state import set_learning_rate

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
        _train_group([(run, rng) for run, rng in prepared if epoch_count(run.history) == start], log)


def _train_group(group: list, log) -> None:
    runs, rngs = [run for run, _ in group], [rng for _, rng in group]
    config, device = runs[0].config, runs[0].device
    engine = StackedRuns(config, [run.state for run in runs], rngs, device)
    for run in runs:
        run.history["meta"]["path"] = f"stacked ({len(runs)} run{'s' if len(runs) > 1 else ''})"
    writers = _writers(runs)
    failed: dict[int, Exception] = {}  # run index -> why it stopped (diverged, or its files failed)
    first_epoch = epoch_count(runs[0].history) + 1

    def set_rate(lr: float) -> None:
        engine.set_learning_rate(lr)
        for run in runs:  # what each run's checkpoint records, as a single run's does
            set_learning_rate(run.state, lr)

    def on_epoch(epoch: int, means: list, seconds: float, lr: float | None) -> bool:
        engine.write_back([run.state for run in runs])
        for index, (run, rng, writer, run_means) in enumerate(zip(runs, rngs, writers, means, strict=True)):
            use_as_global(rng, device)  # what this run's checkpoint records as its RNG
            seeded_log = lambda line, seed=run.config.seed: log(f"seed {seed}: {line}")
            with _stops_run(failed, index, run):  # the other runs' epoch is still recorded
                close_epoch(run, writer, epoch, dict(zip(STAT_NAMES, run_means, strict=True)), seconds, lr,
                            seeded_log)  # fmt: skip
        return not failed

    # The same data for every run (shared by prepare), each shuffled by its own generator.
    loop = EpochLoop(StackedEpoch(engine, runs[0].images, config.batch_size), config, set_rate, first_epoch)
    run_start = time.perf_counter()
    try:
        loop.run(on_epoch)
    except KeyboardInterrupt:
        _finish(runs, writers, failed)  # the finished epochs reach the disk before we say they did
        for index, run in enumerate(runs):
            log(f"seed {run.config.seed}: {failed[index]}" if index in failed else
                interrupted_line(run, loop.epoch, SEEDS_HINT))  # fmt: skip
        raise
    finally:
        if not all(writer.closed for writer in writers):  # the end, a run stopped, or any other error
            _finish(runs, writers, failed)
    if failed:
        raise _stopped(runs, failed, loop.epoch)
    log(
        f"trained epochs {first_epoch}-{config.epochs} of {len(runs)} run{'s' if len(runs) > 1 else ''} "
        f"together in "
        f"{time.perf_counter() - run_start:.1f}s on {runs[0].history['meta']['device_name']}"
    )


def _writers(runs: list) -> list[EpochWriter]:
    writers = []
    for run in runs:
        try:
            writers.append(EpochWriter(run.out, run.history))
        except OSError as error:  # a resumed history rewritten as the writer starts
            for writer in writers:
                writer.close()
            raise unwritable(error, run.out) from None
    return writers


@contextmanager
def _stops_run(failed: dict, index: int, run):
    """Record, instead of raising, why one run cannot go on: it diverged, or its files failed."""
    try:
        yield
    except (TrainingDiverged, RunDirectoryUnwritable) as error:
        failed.setdefault(index, error)
    except OSError as error:
        failed.setdefault(index, unwritable(error, run.out))


def _finish(runs: list, writers: list, failed: dict) -> None:
    """Close every run's writer (each waits for its last epoch's files) and write the summary of
    every run still sound; a run whose files fail here joins `failed`."""
    for index, (run, writer) in enumerate(zip(runs, writers, strict=True)):
        with _stops_run(failed, index, run):
            writer.close()
            if index not in failed:
                write_summary(run.out, run.history)


def _stopped(runs: list, failed: dict, epoch: int) -> Exception:
    """One error naming each run that stopped and why; the others keep their files of `epoch`."""
    reasons = "; ".join(f"seed {runs[index].config.seed}: {error}" for index, error in sorted(failed.items()))
    others = f"; the other runs keep epoch {epoch}" if len(failed) < len(runs) else ""
    diverged = all(isinstance(error, TrainingDiverged) for error in failed.values())
    return (TrainingDiverged if diverged else RunDirectoryUnwritable)(reasons + others)
