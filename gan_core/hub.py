"""Push a run directory to the Hugging Face Hub as a model repo that mirrors it."""

from __future__ import annotations

import importlib
import sys
from fnmatch import fnmatch
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, constants
from huggingface_hub.errors import HfHubHTTPError, LocalTokenNotFoundError

from .claim import lock_run_directory
from .history import epoch_count, read_history
from .layout import CARD_FILE, CONFIG_FILE, HISTORY_FILE, MODEL_FILE, PUSH_PATTERNS
from .loading import bound_hub_calls, check_repo_id
from .messages import first_line
from .model_card import model_card

# --------------------------------------------------------------------------------------------- #


class PushError(RuntimeError):
    """Pushing failed; the message says what to do, and the run directory is intact."""


def _transport_errors() -> tuple[type, ...]:
    """Connection failures: huggingface_hub 1.x raises httpx's, 2.x those of its successor httpx2."""
    classes = [OSError]
    for name in ("httpx", "httpx2"):
        try:
            classes.append(importlib.import_module(name).TransportError)
        except (ImportError, AttributeError):
            pass
    return tuple(classes)


def explain_hub_error(error: Exception, repo_id: str, action: str) -> PushError:
    """One actionable sentence for each way the Hub can fail (never echoing the token)."""
    if isinstance(error, LocalTokenNotFoundError):
        return PushError(
            "no Hugging Face token found: run `hf auth login` or set HF_TOKEN to a token with write access"
        )
    if isinstance(error, HfHubHTTPError) and error.response is not None:
        status = error.response.status_code
        if status == 401:
            return PushError(
                f"the Hub rejected the token while trying to {action} (401): run `hf auth login` "
                f"again or set HF_TOKEN to a valid token with write access"
            )
        if status == 403:
            return PushError(
                f"the token may not write to {repo_id} (403): use a repo under your own "
                f"namespace, or a token with write access to it"
            )
        if status == 404:
            return PushError(f"{repo_id} was not found while trying to {action} (404): check --repo-id")
        if status >= 500:
            return PushError(
                f"the Hub failed while trying to {action} ({status} {error.response.reason_phrase}); "
                f"it is probably a passing outage: try again later"
            )
        return PushError(f"the Hub refused to {action} ({status}): {first_line(error)}")
    if isinstance(error, _transport_errors()):
        return PushError(
            f"could not reach the Hub at {constants.ENDPOINT} while trying to {action} "
            f"({type(error).__name__}); check your connection and try again"
        )
    return PushError(f"could not {action}: {type(error).__name__}: {error}")


def check_push_access(repo_id: str, private: bool = False) -> str:
    """Before training: the token works and the repo exists (created if needed), and a --private
    push will not land in a public repo. Returns the user."""
    check_repo_id(repo_id)
    if constants.HF_HUB_OFFLINE:
        raise PushError(
            "offline mode is on (HF_HUB_OFFLINE is set), so nothing can be pushed: "
            "unset HF_HUB_OFFLINE to push, or leave out --push"
        )
    bound_hub_calls()
    api = HfApi()
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


MAX_FILES_PER_COMMIT = 100  # the Hub advises at most about 100 files per commit


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
    api = HfApi()
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
    return f"{constants.ENDPOINT}/{repo_id}/commit/{head}"


def commit_in_parts(api: HfApi, repo_id: str, repo_type: str, operations: list, message, head: str) -> str:
    """The operations in commits of at most MAX_FILES_PER_COMMIT, in order; returns the last
    commit's id. message(part) titles each commit, part being "" or ", part k of n". `head` is the
    repo's commit before them, to tell a commit whose answer was lost from one never made."""
    size = MAX_FILES_PER_COMMIT
    parts = [operations[i : i + size] for i in range(0, len(operations), size)]
    for number, part in enumerate(parts, start=1):
        title = message(f", part {number} of {len(parts)}" if len(parts) > 1 else "")
        try:
            head = api.create_commit(
                repo_id=repo_id, repo_type=repo_type, operations=part, commit_message=title
            ).oid
        except Exception as error:
            head = _landed_anyway(api, repo_id, repo_type, head, title, error)
    return head


def _landed_anyway(
    api: HfApi, repo_id: str, repo_type: str, parent: str, message: str, error: Exception
) -> str:
    """A commit whose answer was lost (a dropped connection, a gateway's 5xx) may still have been
    made: if the repo's newest commit is new and carries this message, it is ours, and the push
    goes on; otherwise the original error stands."""
    answer_lost = isinstance(error, _transport_errors()) or (
        isinstance(error, HfHubHTTPError) and error.response is not None and error.response.status_code >= 500
    )
    if answer_lost:
        try:
            newest = api.list_repo_commits(repo_id, repo_type=repo_type)[0]
        except Exception:
            raise error from None
        if newest.commit_id != parent and newest.title == message:
            return newest.commit_id
    raise error
