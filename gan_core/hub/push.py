"""Push a run directory to the Hugging Face Hub as a model repo that mirrors it."""

from __future__ import annotations

import sys
from fnmatch import fnmatch
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete

from gan_core.hub.client import (
    PushError,
    bound_hub_calls,
    check_repo_id,
    commit_in_parts,
    explain_hub_error,
    hub_api,
    hub_endpoint,
    hub_offline,
)
from gan_core.runs.card import model_card
from gan_core.runs.claim import lock_run_directory
from gan_core.runs.history import epoch_count, read_history
from gan_core.runs.layout import CARD_FILE, CONFIG_FILE, HISTORY_FILE, MODEL_FILE, PUSH_PATTERNS


def check_push_access(repo_id: str, private: bool = False) -> str:
    """Before training: the token works and the repo exists (created if needed), and a --private
    push will not land in a public repo. Returns the user."""
    check_repo_id(repo_id)
    if hub_offline():
        raise PushError(
            "offline mode is on (HF_HUB_OFFLINE is set), so nothing can be pushed: "
            "unset HF_HUB_OFFLINE to push, or leave out --push"
        )
    bound_hub_calls()
    api = hub_api()
    try:
        user = api.whoami()["name"]
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        public = private and not api.model_info(repo_id).private
    except Exception as error:
        raise explain_hub_error(error, repo_id, f"check access to {repo_id}") from None
    if public:
        raise PushError(
            f"{repo_id} already exists and is public, so --private would publish the run; make the repo "
            f"private on the Hub first (Settings, Change repo visibility), or push without --private"
        )
    return user


def run_files_to_push(run_dir: Path, warn) -> list[str]:
    """The run's files that a model repo holds (PUSH_PATTERNS, nothing else), as repo paths.
    Links are never followed: a link in a run directory could point at any file on the machine."""
    ours = lambda name: any(fnmatch(name, pattern) for pattern in PUSH_PATTERNS)
    folders = {pattern.rpartition("/")[0] for pattern in PUSH_PATTERNS if "/" in pattern}
    chosen = []
    for path in sorted(run_dir.rglob("*")):
        relative = path.relative_to(run_dir)
        if not (ours(relative.as_posix()) or relative.as_posix() in folders):
            continue
        if any((run_dir / part).is_symlink() for part in [relative, *relative.parents][:-1]):
            warn(f"warning: {run_dir / relative} is a link; it is not pushed")
        elif path.is_file() and ours(relative.as_posix()):
            chosen.append(relative.as_posix())
    return chosen


def push_operations(run_dir: Path, card: str, published: list[str], warn) -> list:
    """The commit that makes the repo mirror the run: each allowed file of the run, the model card
    from memory (pushing never writes into the run directory), and the deletion of files an
    earlier push left that this run does not have. Files the user added by hand stay."""
    files = [name for name in run_files_to_push(run_dir, warn) if name != CARD_FILE]
    operations: list = [CommitOperationAdd(path_in_repo=CARD_FILE, path_or_fileobj=card.encode("utf-8"))]
    operations += [
        CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(run_dir / name)) for name in files
    ]
    ours = lambda name: any(fnmatch(name, pattern) for pattern in PUSH_PATTERNS)
    stale = [name for name in published if ours(name) and name not in files and name != CARD_FILE]
    operations += [CommitOperationDelete(path_in_repo=name) for name in stale]
    return operations


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def push_run(run_dir: str | Path, repo_id: str, private: bool = False, warn=_to_stderr) -> str:
    """Upload a finished run directory; return the URL of the last commit.

    Only PUSH_PATTERNS go up: never the discriminator, the training state or stray files. A run
    with more files than one commit should hold goes up in several commits, deletions first.
    """
    run_dir = Path(run_dir)
    if run_dir.is_dir():
        lock_run_directory(run_dir)  # no training may change the files while they go up
    for required in (MODEL_FILE, CONFIG_FILE, HISTORY_FILE):
        if (run_dir / required).is_symlink():  # never followed, and never pushed without it
            raise PushError(
                f"{run_dir / required} is a link, which is never pushed; copy the file there instead"
            )
        if not (run_dir / required).is_file():
            raise PushError(
                f"{run_dir} is not a finished run: {required} is missing (train first, or check --out)"
            )
    history = read_history(run_dir / HISTORY_FILE)
    check_push_access(repo_id, private)
    card = model_card(history, run_dir, repo_id)
    api = hub_api()
    try:
        head = api.model_info(repo_id).sha
        operations = push_operations(run_dir, card, api.list_repo_files(repo_id), warn)
        # Deletions and the small files first, the weights last: a push cut short leaves no new
        # weights beside old samples.
        operations.sort(key=lambda op: (isinstance(op, CommitOperationAdd), op.path_in_repo == MODEL_FILE))
        epochs = epoch_count(history)
        head = commit_in_parts(
            api,
            repo_id,
            "model",
            operations,
            lambda part: f"Upload MNIST GAN run ({epochs} epochs{part})",
            head,
        )
    except Exception as error:
        raise explain_hub_error(error, repo_id, f"upload {run_dir} to {repo_id}") from None
    return f"{hub_endpoint()}/{repo_id}/commit/{head}"
