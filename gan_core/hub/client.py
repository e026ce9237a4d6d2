"""The Hub's rules as this project meets them: what a repo id may be, how long a call may wait,
what each failure means in one sentence, and a commit too large for one request sent in parts.
push.py and pull.py both stand on it; neither imports the other."""

from __future__ import annotations

import importlib
import os
import re

from huggingface_hub import HfApi, constants, get_session
from huggingface_hub.errors import HfHubHTTPError, LocalTokenNotFoundError

from gan_core.messages import first_line, shown

MAX_FILES_PER_COMMIT = 100  # the Hub advises at most about 100 files per commit

# The Hub's rule for a namespace and a name: letters, digits, '-', '_', '.', at most 96 characters,
# starting and ending with a letter or digit, and no '--' or '..' anywhere.
_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
REPO_ID = re.compile(rf"{_PART}/{_PART}")


def check_repo_id(repo_id: str) -> str:
    if (
        not isinstance(repo_id, str)
        or not REPO_ID.fullmatch(repo_id)
        or "--" in repo_id
        or ".." in repo_id
        or repo_id.lower().endswith(".git")
    ):
        raise ValueError(
            f"{shown(repo_id)} is not a Hub repo id: expected USER/NAME (letters, digits, '-', '_', '.'; "
            f"each part starting and ending with a letter or digit, no '--' or '..')"
        )
    return repo_id


def hub_endpoint() -> str:
    """The Hub's address as HF_ENDPOINT says now. huggingface_hub reads it once, as it is imported;
    reading it at each push lets a Python session that sets it later (a notebook, the tests) push
    where it says. A script sets it before the import, and gets the same address either way."""
    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def hub_offline() -> bool:
    """HF_HUB_OFFLINE as huggingface_hub read it at import, or as set since (as hub_endpoint)."""
    set_since = os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}
    return constants.HF_HUB_OFFLINE or set_since


def hub_api() -> HfApi:
    """A client of the Hub at hub_endpoint(), with the token huggingface_hub finds at each call."""
    return HfApi(endpoint=hub_endpoint())


# Per connect and per read: a Hub that accepts and never answers fails after this many seconds.
# huggingface_hub's own setting for it, HF_HUB_DOWNLOAD_TIMEOUT (default 10), is honoured.
HUB_TIMEOUT_S = float(constants.HF_HUB_DOWNLOAD_TIMEOUT)


def bound_hub_calls() -> None:
    """Give huggingface_hub's shared HTTP client a timeout, so that a silent Hub delays the app's
    start or a push by seconds, not for ever. Its calls pass timeout=None ("wait for ever") to each
    request, which would override a client default, so those requests are built with ours too."""
    session = get_session()
    if getattr(session, "bounded_by_mnist_gan", False):
        return
    session.timeout = HUB_TIMEOUT_S  # for calls that leave the timeout to the client
    build_request = session.build_request

    def bounded(*args, timeout=None, **kwargs):
        return build_request(*args, timeout=HUB_TIMEOUT_S if timeout is None else timeout, **kwargs)

    session.build_request = bounded
    session.bounded_by_mnist_gan = True


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
            f"could not reach the Hub at {hub_endpoint()} while trying to {action} "
            f"({type(error).__name__}); check your connection and try again"
        )
    return PushError(f"could not {action}: {type(error).__name__}: {error}")


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
