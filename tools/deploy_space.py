"""Deploy this repository as a Hugging Face Space, in one command:

    python tools/deploy_space.py you/mnist-gan-space [--private]

The Space receives exactly what it runs: app.py, the gan_core and ui packages, the bundled weights and the
license, plus two files written here: its card (README.md, whose front matter holds the Space's
settings) and its requirements.txt, which installs torch's CPU build (about 200 MB, where the
default wheels bring about 5 GB of CUDA libraries a CPU Space never uses). Local installs and CI
keep the project's requirements.txt and the default index. Each deploy makes the Space mirror
that list: files of these names that an earlier deploy left and this one lacks are deleted, and
files the owner added by hand stay.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the project's packages

from gan_core.hub.timeouts import mended_hub_timeouts  # noqa: E402

# huggingface_hub reads these as it is imported and stops at a bad one: mended before it is imported.
os.environ.update(mended_hub_timeouts(os.environ))

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, SpaceCard  # noqa: E402

from gan_core.hub.client import (  # noqa: E402
    PushError,
    bound_hub_calls,
    check_repo_id,
    commit_in_parts,
    explain_hub_error,
    hub_api,
    hub_endpoint,
    hub_offline,
)

# What the Space runs, as patterns relative to the repository root (fnmatch: * spans folders).
SPACE_PATTERNS = [
    "app.py",
    "LICENSE",
    "gan_core/*.py",
    "ui/*.py",
    "gan_core/assets/*.safetensors",
    "weights/*",
]
GENERATED = ("README.md", "requirements.txt")  # written for the Space, never copied
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def space_files(root: Path = ROOT) -> list[str]:
    """The repository's files a Space needs, as repo paths (no caches, no links)."""
    chosen = []
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if "__pycache__" in name or path.is_symlink() or not path.is_file():
            continue
        if any(fnmatch(name, pattern) for pattern in SPACE_PATTERNS):
            chosen.append(name)
    return chosen


def space_requirements(requirements: str) -> str:
    """The project's pins, with torch and torchvision taken from PyTorch's CPU wheel index."""
    lines = [
        "# Written by `python tools/deploy_space.py` from the project's requirements.txt:",
        "# torch's CPU build, as a CPU Space needs none of the CUDA libraries of the default wheels.",
        f"--extra-index-url {TORCH_CPU_INDEX}",
    ]
    for line in requirements.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, pinned, version = line.partition("==")
        if name in ("torch", "torchvision") and pinned and "+" not in version:
            line = f"{name}=={version}+cpu"  # the local version the CPU index publishes
        lines.append(line)
    return "\n".join(lines) + "\n"


def gradio_version(requirements: str) -> str:
    match = re.search(r"^gradio(?:\[[^\]]*\])?==([\w.]+)", requirements, re.M)
    if not match:
        raise PushError("requirements.txt pins no gradio version, which the Space's sdk_version needs")
    return match.group(1)


def space_card(requirements: str, project_readme: str) -> str:
    """The Space's README.md: the Space settings of the project's README (its front matter, with
    the Gradio version pinned in requirements.txt), and a short account of the demo; the project
    README itself links to files the Space does not hold."""
    card = SpaceCard(project_readme)
    card.data.sdk, card.data.sdk_version, card.data.app_file = (
        "gradio",
        gradio_version(requirements),
        "app.py",
    )
    return f"""---
{card.data.to_yaml()}
---

# MNIST GAN

The vanilla GAN of a well-known PyTorch tutorial: two small MLPs trained adversarially on MNIST.
Generate digits from a seed, drag between two seeds in latent space, see the training scores, and
read how the algorithm works, with the code that trained the model and what two recipes measured.
It serves the bundled generator, or the model repo named by the Space variable `MODEL_REPO`.
Use it from code with `gradio_client`, or as an MCP tool.
"""


def deploy(repo_id: str, private: bool = False, root: Path = ROOT) -> str:
    """Create or update the Space `repo_id` from this repository; return its URL."""
    check_repo_id(repo_id)
    if hub_offline():
        raise PushError("offline mode is on (HF_HUB_OFFLINE is set), so nothing can be deployed")
    requirements = (root / "requirements.txt").read_text(encoding="utf-8")
    readme = (root / "README.md").read_text(encoding="utf-8")
    generated = {
        "README.md": space_card(requirements, readme),
        "requirements.txt": space_requirements(requirements),
    }
    files = space_files(root)
    bound_hub_calls()
    api = hub_api()
    try:
        api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
        operations: list = [
            CommitOperationAdd(path_in_repo=name, path_or_fileobj=text.encode("utf-8"))
            for name, text in generated.items()
        ]
        operations += [
            CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(root / name)) for name in files
        ]
        ours = lambda name: name in GENERATED or any(fnmatch(name, pattern) for pattern in SPACE_PATTERNS)
        kept = set(files) | set(generated)
        stale = [
            name
            for name in api.list_repo_files(repo_id, repo_type="space")
            if ours(name) and name not in kept
        ]
        operations += [CommitOperationDelete(path_in_repo=name) for name in stale]
        # Deletions first, like a push; a repository past 100 files goes up in several commits.
        operations.sort(key=lambda op: isinstance(op, CommitOperationAdd))
        head = api.repo_info(repo_id, repo_type="space").sha
        title = lambda part: "Deploy the MNIST GAN demo" + (f" ({part.removeprefix(', ')})" if part else "")
        commit_in_parts(api, repo_id, "space", operations, title, head)
    except Exception as error:
        raise explain_hub_error(error, repo_id, f"deploy the Space {repo_id}") from None
    return f"{hub_endpoint()}/spaces/{repo_id}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Create or update a Hugging Face Space from this repository."
    )
    parser.add_argument("repo_id", help="the Space, as you/name")
    parser.add_argument("--private", action="store_true", help="create the Space private")
    args = parser.parse_args(argv)
    try:
        url = deploy(args.repo_id, args.private)
    except PushError as error:  # the Hub, the token or the network: try again later
        print(f"error: {error}", file=sys.stderr)
        return 3
    except ValueError as error:  # the command itself: a repo id the Hub would refuse
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"deployed to {url} (it builds and starts there in a few minutes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
