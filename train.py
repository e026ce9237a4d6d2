"""Train the seed tutorial's MNIST GAN and (optionally) push the generator to the Hugging Face Hub.

    python train.py --data-dir ./data                 # the seed's full run: 300 epochs, batch 100
    python train.py --epochs 2 --subset 2000          # a quick look
    python train.py --resume --out runs/mnist-gan     # continue an interrupted run
    python train.py --push --repo-id you/mnist-gan    # train, then upload the run directory
"""
from __future__ import annotations

import argparse
import reprlib
import sys

from gan_core.config import DEVICE_CHOICES, LR_DECAYS, RECIPES, TrainConfig


def whole_number(low: int, high: int | None = None):
    """An argparse type for integers in [low, high], with a message naming the bound."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {reprlib.repr(text)}") from None
        if value < low or (high is not None and value > high):
            bound = f"at least {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value
    return parse


positive_int = whole_number(1)
seed_int = whole_number(0, 2**63 - 1)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {reprlib.repr(text)}") from None
    if not (0 < value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {reprlib.repr(text)}")
    return value


def build_parser() -> argparse.ArgumentParser:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(prog="train.py", description="Train the vanilla MNIST GAN of the seed tutorial.",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    training = parser.add_argument_group("training")
    training.add_argument("--epochs", type=positive_int, default=defaults.epochs, help="epochs to train (in total, when resuming)")
    training.add_argument("--batch-size", type=positive_int, default=defaults.batch_size, help="images per batch")
    training.add_argument("--lr", type=positive_float, default=defaults.lr, help="Adam learning rate for both networks")
    training.add_argument("--latent-size", type=positive_int, default=defaults.latent_size, help="length of the noise vector z")
    training.add_argument("--hidden-size", type=positive_int, default=defaults.hidden_size, help="width of the hidden layers")
    training.add_argument("--seed", type=seed_int, default=defaults.seed, help="seed for weights, shuffling and noise")
    training.add_argument("--device", choices=DEVICE_CHOICES, default=defaults.device, help="auto picks cuda, then mps, then cpu")
    training.add_argument("--no-cuda-graphs", dest="cuda_graphs", action="store_false",
                          help="on CUDA, run the plain eager loop instead of replaying whole epochs as CUDA graphs")
    training.add_argument("--compile", action="store_true",
                          help="torch.compile the discriminator and generator losses (slower start, faster steps on GPUs)")
    training.add_argument("--recipe", choices=tuple(RECIPES), default=defaults.recipe,
                          help="seed: the tutorial's settings; improved: the tutorial's plus an R1 penalty of "
                               "weight 10 on D (balanced digits, MNIST-FD 15 to 18 against seed's 109; see README)")
    training.add_argument("--ema-decay", type=float, default=None,
                          help="keep a moving average of G's weights with this decay (e.g. 0.999) and publish it as "
                               "model.safetensors (0: off, the default of both recipes)")
    training.add_argument("--lr-decay", choices=LR_DECAYS, default=None,
                          help="linear: keep --lr for the first half of --epochs, then lower it step by step to "
                               "near 0 at the last epoch (default: the recipe's, none for both)")
    training.add_argument("--r1-gamma", type=float, default=None,
                          help="add an R1 gradient penalty on real images to D's loss with this weight "
                               "(default: the recipe's, 0 for seed and 10 for improved)")
    training.add_argument("--eval-every", type=whole_number(0), default=defaults.eval_every,
                          help="record MNIST-FD, Inception Score and the digit histogram every N epochs (0: never)")
    training.add_argument("--eval-samples", type=whole_number(2), default=defaults.eval_samples,
                          help="generated images per evaluation (fewer: faster, noisier figures)")
    data = parser.add_argument_group("data and output")
    data.add_argument("--data-dir", default=defaults.data_dir, help="folder holding MNIST/raw/ (downloaded there if missing)")
    data.add_argument("--subset", type=positive_int, default=None, help="train on the first N images only")
    data.add_argument("--out", default=defaults.out, help="run directory to write (it is also the model repo)")
    data.add_argument("--sample-every", type=positive_int, default=defaults.sample_every, help="save a fixed-noise sample grid every N epochs")
    data.add_argument("--resume", action="store_true", help="continue the run in --out from its last finished epoch")
    hub = parser.add_argument_group("Hugging Face Hub")
    hub.add_argument("--push", action="store_true", help="after training, upload the run directory as a model repo")
    hub.add_argument("--repo-id", help="USER/NAME of the model repo to push to")
    hub.add_argument("--private", action="store_true", help="create the repo as private")
    hub.add_argument("--push-only", action="store_true", help="push the existing run in --out without training")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, latent_size=args.latent_size,
                       hidden_size=args.hidden_size, seed=args.seed, device=args.device, data_dir=args.data_dir,
                       subset=args.subset, out=args.out, sample_every=args.sample_every, cuda_graphs=args.cuda_graphs,
                       compile=args.compile, recipe=args.recipe, ema_decay=args.ema_decay, lr_decay=args.lr_decay,
                       r1_gamma=args.r1_gamma, eval_every=args.eval_every, eval_samples=args.eval_samples)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.push or args.push_only) and not args.repo_id:
        parser.error("--push and --push-only need --repo-id USER/NAME")
    config = config_from_args(args)
    from gan_core.data import DataError
    from gan_core.hub import PushError, check_push_access, check_repo_id, push_run
    from gan_core.training import RunDirectoryUnwritable, TrainingDiverged, fit

    try:
        if args.push or args.push_only:
            check_repo_id(args.repo_id)  # bad input first, before the run directory or the Hub is looked at
        if args.push and not args.push_only:
            # Before training, so that an hour of training never ends in an authentication error.
            user = check_push_access(args.repo_id, args.private)
            print(f"Hub: logged in as {user}; {args.repo_id} is ready")
        if not args.push_only:
            fit(config, resume=args.resume)
        if args.push or args.push_only:
            print(f"pushed {config.out} to {push_run(config.out, args.repo_id, args.private)}")
    except KeyboardInterrupt:
        return 130
    except PushError as error:
        print(f"error: {error}", file=sys.stderr)
        print(f"The run in {config.out} is intact; push it later with: python train.py --push-only "
              f"--out {config.out} --repo-id {args.repo_id}", file=sys.stderr)
        return 3
    except (DataError, TrainingDiverged, RunDirectoryUnwritable, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
