"""Train the tutorial's MNIST GAN and (optionally) push the generator to the Hugging Face Hub.

    python train.py --data-dir ./data                 # 300 epochs of the best recipe (--recipe improved)
    python train.py --recipe tutorial                 # the tutorial's training exactly
    python train.py --epochs 2 --subset 2000          # a quick look
    python train.py --resume --out runs/mnist-gan     # continue an interrupted run
    python train.py --push --repo-id you/mnist-gan    # train, then upload the run directory
    python train.py --seeds 0-4 --eval-every 50       # five runs, one per seed, and their quality

Every training flag is generated from the settings declared in gan_core/config.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import signal
import sys
import threading
from pathlib import Path

from gan_core.hub.timeouts import mended_hub_timeouts

# huggingface_hub reads these as it is imported and stops at a bad one: mended before anything imports it.
os.environ.update(mended_hub_timeouts(os.environ))

from gan_core.config import RENAMED_RECIPES, Setting, TrainConfig, flag_name, recipe_name
from gan_core.data import DataError
from gan_core.hub.client import PushError, check_repo_id
from gan_core.hub.push import check_push_access, push_run
from gan_core.io import write_json
from gan_core.messages import shown
from gan_core.runs.checkpoint import RunDirectoryUnwritable, unwritable
from gan_core.runs.claim import RunDirectoryBusy, check_fresh_folder, release_run_directories
from gan_core.runs.seeds import (
    QUALITY_OVER_SEEDS_FILE,
    parse_seeds,
    quality_over_seeds,
    quality_record,
    quality_table,
    resumable,
    seed_config,
)
from gan_core.training.engines.registry import engine_problem, runs_stack
from gan_core.training.fit import TrainingDiverged, fit
from gan_core.training.fit_together import SEEDS_HINT, fit_together
from gan_core.training.state import resolve_device

GROUP_STARTS = {"epochs": "training", "data_dir": "data and output"}  # the field that opens each group


def parse_value(rule: Setting):
    """An argparse type that reads a flag's text as its setting's kind and checks its bounds."""

    def parse(text: str):
        try:
            if rule.kind is tuple:
                value = tuple(float(part) for part in text.split(","))
            else:
                value = rule.kind(text)
        except ValueError:
            noun = {int: "a whole number", float: "a number", tuple: "two numbers like 0.5,0.999"}[rule.kind]
            raise argparse.ArgumentTypeError(f"expected {noun}, got {shown(text)}") from None
        problem = rule.problem(value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    return parse


def renamed_recipe(text: str) -> str:
    """--recipe under its current name; an old name still works, with a note naming the new one."""
    if text in RENAMED_RECIPES:
        print(f"note: --recipe {text} is now called --recipe {RENAMED_RECIPES[text]}", file=sys.stderr)
    return recipe_name(text)


def add_setting(group, field: dataclasses.Field) -> None:
    rule: Setting = field.metadata["setting"]
    if rule.kind is bool:  # a switch that turns the default around: --compile, --no-cuda-graphs
        prefix = "--no-" if field.default else "--"
        group.add_argument(
            prefix + field.name.replace("_", "-"),
            dest=field.name,
            help=rule.help,
            action="store_false" if field.default else "store_true",
        )
        return
    help = rule.help if field.default is None else f"{rule.help} (default: {field.default})"
    if rule.choices is not None:
        convert = renamed_recipe if field.name == "recipe" else str
        group.add_argument(
            flag_name(field.name), type=convert, choices=rule.choices, default=field.default, help=help
        )
    else:
        group.add_argument(flag_name(field.name), type=parse_value(rule), default=field.default, help=help)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="train.py", description="Train the vanilla MNIST GAN of the tutorial."
    )
    for field in dataclasses.fields(TrainConfig):
        if field.name in GROUP_STARTS:
            group = parser.add_argument_group(GROUP_STARTS[field.name])
        add_setting(group, field)
    group.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last finished epoch"
    )
    group.add_argument(
        "--seeds",
        type=seed_list,
        help="train one run per seed, e.g. 0,1,2 or 0-31, each into --out/seed-N/ (instead of --seed); "
        "with --push, each to the repo --repo-id-seed-N",
    )
    hub = parser.add_argument_group("Hugging Face Hub")
    hub.add_argument(
        "--push", action="store_true", help="after training, upload the run directory as a model repo"
    )
    hub.add_argument("--repo-id", help="USER/NAME of the model repo to push to")
    hub.add_argument("--private", action="store_true", help="create the repo as private")
    hub.add_argument(
        "--push-only", action="store_true", help="push the existing run in --out without training"
    )
    return parser


def seed_list(text: str) -> list[int]:
    try:
        return parse_seeds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def resolve_device_or_cpu(name: str):
    """The device --device names; an unknown one is reported later, where fit() resolves it."""
    try:
        return resolve_device(name)
    except ValueError:
        return resolve_device("cpu")


class Terminated(KeyboardInterrupt):
    """SIGTERM (kill, Docker, systemd, job schedulers), stopped like Ctrl-C: the run stays resumable."""


def stop_on_sigterm(signal_number, frame) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """The command; the run folders it locked are let go as it ends, however it ends."""
    try:
        return run_command(argv)
    finally:
        release_run_directories()


def run_command(argv: list[str] | None) -> int:
    if threading.current_thread() is threading.main_thread():  # signal handlers live on the main thread
        signal.signal(signal.SIGTERM, stop_on_sigterm)
    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.push or args.push_only) and not args.repo_id:
        parser.error("--push and --push-only need --repo-id USER/NAME")
    values = {field.name: getattr(args, field.name) for field in dataclasses.fields(TrainConfig)}
    if args.compile and values["engine"] == "fused":
        values["engine"] = "autograd"  # what --compile runs, recorded as such
    config = TrainConfig(**values)
    problem = None if args.push_only else engine_problem(config, resolve_device_or_cpu(config.device))
    if problem:
        print(f"error: {problem}", file=sys.stderr)  # before the Hub or any folder is touched
        return 2
    if args.seeds is not None:
        if any(
            argument == "--seed" or argument.startswith("--seed=")
            for argument in (sys.argv[1:] if argv is None else argv)
        ):
            parser.error("give --seed or --seeds, not both")
        return train_seeds(args, config)
    trained = False
    out = shlex.quote(config.out)
    try:
        if args.push or args.push_only:
            check_repo_id(args.repo_id)  # bad input first, before the run directory or the Hub is looked at
        if args.push and not args.push_only:
            # Before training, so that an hour of training never ends in an authentication error.
            user = check_push_access(args.repo_id, args.private)
            print(f"Hub: logged in as {user}; {args.repo_id} is ready")
        if not args.push_only:
            fit(config, resume=args.resume)
            trained = True
        if args.push or args.push_only:
            print(f"pushed {config.out} to {push_run(config.out, args.repo_id, args.private)}")
            print(f"next: serve it with `MODEL_REPO={shlex.quote(args.repo_id)} python app.py`, or "
                  f"the local copy with `python app.py --run {out}`")  # fmt: skip
        else:
            print(f"next: look at it with `python app.py --run {out}`; publish it with "
                  f"`python train.py --push-only --out {out} --repo-id USER/NAME`")  # fmt: skip
    except Terminated:
        return 143  # 128 + SIGTERM, as a shell reports it
    except KeyboardInterrupt:
        return 130
    except PushError as error:
        print(f"error: {error}", file=sys.stderr)
        retry = f"python train.py --push-only --out {out} --repo-id {shlex.quote(args.repo_id)}"
        if args.push and not args.push_only and not trained:
            print("Nothing was trained. Fix the above, then run the same command again.", file=sys.stderr)
        else:
            print(f"The run in {out} is intact; push it later with: {retry}", file=sys.stderr)
        return 3
    except (DataError, TrainingDiverged, RunDirectoryUnwritable, RunDirectoryBusy, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def train_seeds(args, config: TrainConfig) -> int:
    """One run per seed, each into OUT/seed-N and pushed to REPO-seed-N as `--seed N` would be;
    then the quality figures over the seeds, where runs were evaluated. The fused engine trains
    the runs together (stacked); otherwise they train one after the other, each by fit()."""
    runs = [seed_config(config, seed) for seed in args.seeds]
    together = runs_stack(config) and len(runs) > 1 and not args.push_only
    resumed = [args.resume and resumable(run) for run in runs]  # a seed not yet begun starts afresh
    repos = {run.out: f"{args.repo_id}-seed-{run.seed}" for run in runs} if args.repo_id else {}
    trained = False
    training = None  # the seed fit() trains now, one after the other
    try:
        for run, resuming in zip(runs, resumed, strict=True):  # a folder of the user's stops all first
            if not args.push_only and not resuming and Path(run.out).exists():
                check_fresh_folder(Path(run.out))
        if args.push or args.push_only:
            for repo in repos.values():
                check_repo_id(repo)
        if args.push and not args.push_only:
            for repo in repos.values():  # every repo before any training, as for a single run
                check_push_access(repo, args.private)
            print(f"Hub: {len(repos)} repos are ready ({next(iter(repos.values()))} ...)")
        if together:
            print(f"{len(runs)} seeds trained together -> {shlex.quote(config.out)}/seed-N")
            trained = True
            fit_together(runs, resumed)
        for number, (run, resuming) in enumerate(zip(runs, resumed, strict=True), start=1):
            if not together:
                print(f"seed {run.seed} ({number} of {len(runs)}) -> {run.out}")
                if not args.push_only:
                    trained, training = True, run.seed
                    fit(run, resume=resuming, hint=SEEDS_HINT)
                    training = None
            if args.push or args.push_only:
                print(f"pushed {run.out} to {push_run(run.out, repos[run.out], args.private)}")
    except Terminated:
        return 143
    except KeyboardInterrupt:
        return 130
    except PushError as error:
        print(f"error: {error}", file=sys.stderr)
        if not trained:
            print("Nothing was trained. Fix the above, then run the same command again.", file=sys.stderr)
        else:
            print(
                f"The runs in {shlex.quote(config.out)} are intact; push the rest with --push-only.",
                file=sys.stderr,
            )
        return 3
    except (DataError, TrainingDiverged, RunDirectoryUnwritable, RunDirectoryBusy, ValueError) as error:
        print(f"error: {'' if training is None else f'seed {training}: '}{error}", file=sys.stderr)
        if isinstance(error, RunDirectoryUnwritable) and trained:
            print(f"Every other seed keeps its last finished epoch. Once the cause is fixed, go on with "
                  f"{SEEDS_HINT} (a seed whose folder is gone starts again).", file=sys.stderr)  # fmt: skip
        return 2
    summary = quality_over_seeds([run.out for run in runs])
    if summary is not None:
        print(quality_table(summary))
        path = Path(config.out) / QUALITY_OVER_SEEDS_FILE
        try:
            write_json(path, quality_record(summary, args.seeds), make_folders=False)
        except OSError as error:
            kept = "every seed's run is complete; the figures are the ones printed above"
            print(f"error: {unwritable(error, path, kept)}", file=sys.stderr)
            return 2
    print(f"next: resume them all with the same command and --resume; look at one with "
          f"`python app.py --run {shlex.quote(runs[0].out)}`")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
