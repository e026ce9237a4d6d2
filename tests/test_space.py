"""Deploying the demo as a Space, against tests/hub_server.py over real HTTP, and running what landed."""

from __future__ import annotations

import os
import subprocess
import sys

import gradio
import numpy as np
import pytest
from gradio_client import Client
from huggingface_hub import HfApi, SpaceCard
from PIL import Image

from gan_core.demo.sampler import Sampler
from gan_core.runs.reading import read_generator
from tests.helpers import ROOT, TOKEN, free_port, run_script, stop, wait_for_port
from tools.deploy_space import space_files

SPACE = "tester/mnist-gan-space"


@pytest.fixture(scope="module")
def hub_env():
    """The test Hub conftest.py serves for this process, and its user's token: the deploys run in
    this process, as a push does (tools/deploy_space.py's main)."""
    return {"HF_ENDPOINT": os.environ["HF_ENDPOINT"], "HF_TOKEN": TOKEN}


def api(env) -> HfApi:
    return HfApi(endpoint=env["HF_ENDPOINT"], token=TOKEN)


@pytest.fixture(scope="module")
def deployed(hub_env):
    # Once as a real process, as the README runs it: the script finds its packages from anywhere.
    result = run_script("tools/deploy_space.py", SPACE, env=hub_env, new_process=True)
    assert result.returncode == 0, result.stderr
    assert f"{hub_env['HF_ENDPOINT']}/spaces/{SPACE}" in result.stdout
    return result


def test_the_space_holds_what_the_app_runs_and_nothing_else(deployed, hub_env):
    files = set(api(hub_env).list_repo_files(SPACE, repo_type="space")) - {".gitattributes"}
    assert files == set(space_files()) | {"README.md", "requirements.txt"}
    assert {
        "app.py",
        "LICENSE",
        "gan_core/training/engines/backprop.py",
        "ui/tabs/live.py",
        "weights/model.safetensors",
    } <= files
    assert not [
        name for name in files if name.startswith(("tests/", "benchmarks/", "docs/", ".ci/", "tools/"))
    ]
    assert not [name for name in files if "__pycache__" in name]
    local = (ROOT / "app.py").read_bytes()
    remote = api(hub_env).hf_hub_download(SPACE, "app.py", repo_type="space")
    assert open(remote, "rb").read() == local


def test_the_space_installs_torch_for_the_cpu_and_the_other_pins_unchanged(deployed, hub_env):
    path = api(hub_env).hf_hub_download(SPACE, "requirements.txt", repo_type="space")
    lines = [line for line in open(path).read().splitlines() if line and not line.startswith("#")]
    pins = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.strip()]
    assert lines[0] == "--extra-index-url https://download.pytorch.org/whl/cpu"
    torch_pin = next(pin for pin in pins if pin.startswith("torch=="))
    vision_pin = next(pin for pin in pins if pin.startswith("torchvision=="))
    assert f"{torch_pin}+cpu" in lines and f"{vision_pin}+cpu" in lines
    assert [line for line in lines[1:] if "+cpu" not in line] == [
        pin for pin in pins if pin not in (torch_pin, vision_pin)
    ]


def test_the_space_card_holds_the_spaces_settings(deployed, hub_env):
    path = api(hub_env).hf_hub_download(SPACE, "README.md", repo_type="space")
    card = SpaceCard(open(path, encoding="utf-8").read())
    assert card.data.sdk == "gradio" and card.data.sdk_version == gradio.__version__
    assert card.data.app_file == "app.py" and card.data.license == "mit"
    # The settings are the project README's front matter: one place to change them.
    project = SpaceCard((ROOT / "README.md").read_text(encoding="utf-8")).data
    assert (card.data.title, card.data.emoji, card.data.short_description) == (
        project.title,
        project.emoji,
        project.short_description,
    )


def test_a_second_deploy_mirrors_the_repository_and_keeps_the_owners_files(hub_env):
    space = "tester/mirrored-space"  # its own Space: the other tests see the first deploy as it was
    assert run_script("tools/deploy_space.py", space, env=hub_env).returncode == 0
    hub = api(hub_env)
    hub.upload_file(path_or_fileobj=b"notes\n", path_in_repo="NOTES.md", repo_id=space, repo_type="space")
    hub.upload_file(
        path_or_fileobj=b"# gone\n", path_in_repo="gan_core/old_module.py", repo_id=space, repo_type="space"
    )
    again = run_script("tools/deploy_space.py", space, env=hub_env)
    assert again.returncode == 0, again.stderr
    files = set(hub.list_repo_files(space, repo_type="space"))
    assert "NOTES.md" in files and "gan_core/old_module.py" not in files
    assert files - {".gitattributes", "NOTES.md"} == set(space_files()) | {"README.md", "requirements.txt"}


def test_what_was_deployed_runs_as_the_demo(deployed, hub_env, tmp_path):
    # The Space's files alone, in a folder of their own: the app starts and draws the bundled digits.
    folder = api(hub_env).snapshot_download(SPACE, repo_type="space", local_dir=str(tmp_path / "space"))
    port = free_port()
    env = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONPATH": "",
    }
    process = subprocess.Popen([sys.executable, "app.py"], cwd=folder, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for_port(port, process)
        image = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(3, 16, api_name="/generate")
    finally:
        stop(process)
    expected = np.asarray(Sampler(read_generator(ROOT / "weights")).generate(3, 16))
    assert np.array_equal(np.asarray(Image.open(image)), expected)


@pytest.mark.parametrize(
    "repo_id, env_change, status, message",
    [
        ("tester/a--b", {}, 2, "is not a Hub repo id"),
        (SPACE, {"HF_TOKEN": "hf_wrong"}, 3, "rejected the token"),
        (SPACE, {"HF_HUB_OFFLINE": "1"}, 3, "offline mode is on"),
    ],
)
def test_a_deploy_that_cannot_happen_is_one_clear_line(hub_env, repo_id, env_change, status, message):
    result = run_script("tools/deploy_space.py", repo_id, env={**hub_env, **env_change})
    assert result.returncode == status and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and TOKEN not in result.stdout + result.stderr
