"""Push and pull through the unmodified huggingface_hub client, over real HTTP, against
tests/hub_server.py (a local server speaking the Hub's API)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client
from huggingface_hub import HfApi
from PIL import Image

from gan_core.demo.sampler import Sampler
from gan_core.runs.layout import PUSH_PATTERNS
from gan_core.runs.reading import read_generator
from tests.helpers import ROOT, TOKEN, free_port, run_script, serving, start_hub, stop, train_args
from ui.context import load_app_model

PUSHED = {
    "README.md",
    "config.json",
    "history.json",
    "model.safetensors",
    "real_images.png",
    "scores.png",
    "samples/epoch_0001.png",
}


@pytest.fixture(scope="module")
def hub_env():
    """The test Hub that conftest.py serves for this test process, with the token of its user: the
    scripts and the app run in this process with it (only the token is set, at each call)."""
    return {
        "HF_ENDPOINT": os.environ["HF_ENDPOINT"],
        "HF_HOME": os.environ["HF_HOME"],
        "HF_TOKEN": TOKEN,
    }


@pytest.fixture(scope="module")
def outputs():
    """Everything the scripts and apps printed in this module, for the token check."""
    return []


def train(data_dir, out, env, outputs, *extra, epochs=1):
    result = run_script(
        *train_args(data_dir, out, "--epochs", str(epochs), *extra),
        env=env,
    )
    outputs.append(result.stdout + result.stderr)
    return result


def api(hub_env):
    return HfApi(endpoint=hub_env["HF_ENDPOINT"], token=hub_env["HF_TOKEN"])


def app_image(env, seed, outputs, tmp_path, args=()):
    """Serve the app with `env` (and `args`), fetch /generate(seed, 16) and the page config; stop it."""
    log = tmp_path / f"app-{len(outputs)}.log"
    try:
        with serving(env, log_path=log, args=args) as url:
            image = np.asarray(
                Image.open(Client(url, verbose=False).predict(seed=seed, count=16, api_name="/generate"))
            )
            config = httpx.get(f"{url}config").text
    finally:
        outputs.append(log.read_text() if log.exists() else "")
    return image, config


def expected_image(run_dir, seed):
    return np.asarray(Sampler(read_generator(run_dir)).generate(seed, 16))


@pytest.fixture(scope="module")
def first_push(tiny_data, hub_env, outputs, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("push") / "run"
    result = train(tiny_data, run_dir, hub_env, outputs, "--push", "--repo-id", "tester/mnist-gan")
    assert result.returncode == 0, result.stderr
    sha = api(hub_env).model_info("tester/mnist-gan").sha
    assert f"tester/mnist-gan/commit/{sha}" in result.stdout
    # and it ends by saying how to look at the run, which test_the_app_serves_a_local_run... runs
    assert "next: serve it with `MODEL_REPO=tester/mnist-gan python app.py`" in result.stdout
    assert f"the local copy with `python app.py --run {run_dir}`" in result.stdout
    return run_dir, sha


def test_push_uploads_exactly_the_allow_list_with_a_card_naming_the_repo(first_push, hub_env, tmp_path):
    run_dir, _ = first_push
    assert {"discriminator.safetensors", "training_state.pt"} <= {p.name for p in run_dir.iterdir()}
    assert set(api(hub_env).list_repo_files("tester/mnist-gan")) == PUSHED
    card = api(hub_env).hf_hub_download("tester/mnist-gan", "README.md", cache_dir=str(tmp_path))
    assert 'Generator.from_pretrained("tester/mnist-gan")' in open(card).read()


def test_push_only_skips_stray_files_and_leaves_the_run_untouched(first_push, hub_env, outputs):
    run_dir, _ = first_push
    (run_dir / "notes.txt").write_text("private notes")
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in run_dir.rglob("*") if p.is_file()}
    result = run_script(
        "train.py", "--push-only", "--out", str(run_dir), "--repo-id", "tester/other-gan", env=hub_env
    )
    outputs.append(result.stdout + result.stderr)
    assert result.returncode == 0, result.stderr
    assert set(api(hub_env).list_repo_files("tester/other-gan")) == PUSHED
    assert before == {
        p: hashlib.sha256(p.read_bytes()).hexdigest() for p in run_dir.rglob("*") if p.is_file()
    }


def test_the_app_pulls_the_pushed_generator_and_draws_the_same_digits(first_push, hub_env, outputs, tmp_path):
    run_dir, _ = first_push
    image, config = app_image({**hub_env, "MODEL_REPO": "tester/mnist-gan"}, 31, outputs, tmp_path)
    assert np.array_equal(image, expected_image(run_dir, 31))
    assert "tester/mnist-gan @ main" in config


def test_the_app_serves_a_local_run_as_train_py_says(first_push, hub_env, outputs, tmp_path):
    # train.py ends by saying how to look at the run (checked in first_push); that serves its digits.
    run_dir, _ = first_push
    image, config = app_image(hub_env, 12, outputs, tmp_path, args=("--run", str(run_dir)))
    assert np.array_equal(image, expected_image(run_dir, 12))
    assert f"the run in {run_dir}" in config and "serving the bundled weights" not in config
    # A folder that is not there: the bundled weights, and a notice that says why.
    model = load_app_model({"MODEL_DIR": str(tmp_path / "missing")})
    assert model.source == "bundled weights" and "is not a folder" in model.notice
    assert f"could not load MODEL_DIR='{tmp_path / 'missing'}'" in model.notice


def test_a_second_push_is_a_second_commit_and_a_pinned_revision_keeps_the_first(
    first_push, tiny_data, hub_env, outputs, tmp_path
):
    # A copy of the first run, pushed to its own repo: the other tests keep theirs as it was.
    run_dir, first_copy = tmp_path / "run", tmp_path / "first"
    shutil.copytree(first_push[0], run_dir)
    shutil.copytree(first_push[0], first_copy)
    pushed = run_script(
        "train.py", "--push-only", "--out", str(run_dir), "--repo-id", "tester/two-pushes", env=hub_env
    )
    outputs.append(pushed.stdout + pushed.stderr)
    assert pushed.returncode == 0, pushed.stderr
    first_sha = api(hub_env).model_info("tester/two-pushes").sha
    result = train(
        tiny_data, run_dir, hub_env, outputs, "--resume", "--push", "--repo-id", "tester/two-pushes", epochs=2
    )
    assert result.returncode == 0, result.stderr
    second_sha = api(hub_env).model_info("tester/two-pushes").sha
    assert second_sha != first_sha
    assert api(hub_env).model_info("tester/two-pushes", revision=first_sha).sha == first_sha

    pinned, config = app_image(
        {**hub_env, "MODEL_REPO": "tester/two-pushes", "MODEL_REVISION": first_sha}, 7, outputs, tmp_path
    )
    assert np.array_equal(pinned, expected_image(first_copy, 7))
    assert not np.array_equal(pinned, expected_image(run_dir, 7))
    assert f"tester/two-pushes @ {first_sha}" in config


def test_offline_the_app_serves_the_cached_model(first_push, hub_env, outputs, tmp_path):
    run_dir, first_sha = first_push
    # Fill the cache as an earlier online start of the app would have.
    api(hub_env).snapshot_download(
        "tester/mnist-gan",
        revision=first_sha,
        cache_dir=str(Path(hub_env["HF_HOME"]) / "hub"),
        allow_patterns=PUSH_PATTERNS,
    )
    env = {
        **hub_env,
        "MODEL_REPO": "tester/mnist-gan",
        "MODEL_REVISION": first_sha,
        "HF_HUB_OFFLINE": "1",
        "HF_ENDPOINT": "http://127.0.0.1:9",
    }  # nothing listens there: only the cache can answer
    _, config = app_image(env, 7, outputs, tmp_path)
    assert f"tester/mnist-gan @ {first_sha}" in config and "serving the bundled weights" not in config


def test_a_missing_repo_falls_back_to_the_bundled_weights_and_says_so(hub_env, outputs, tmp_path):
    image, config = app_image({**hub_env, "MODEL_REPO": "tester/no-such-repo"}, 3, outputs, tmp_path)
    assert (
        "could not load MODEL_REPO='tester/no-such-repo'" in config
        and "serving the bundled weights" in config
    )
    assert "serving the bundled weights" in outputs[-1]  # the log says it too
    assert np.array_equal(image, expected_image(ROOT / "weights", 3))


def test_a_repo_without_the_model_files_is_a_clear_error_and_the_app_falls_back(hub_env, outputs, tmp_path):
    hub_api = api(hub_env)
    hub_api.create_repo("tester/no-weights", exist_ok=True)
    hub_api.upload_file(
        path_or_fileobj=b"# not a model\n", path_in_repo="README.md", repo_id="tester/no-weights"
    )
    loaded = run_script(
        "-c", "from gan_core.hub.pull import load_generator; load_generator('tester/no-weights')", env=hub_env
    )
    assert loaded.returncode == 1 and loaded.stderr.strip().splitlines()[-1].startswith("ValueError: ")
    assert loaded.stderr.strip().endswith("config.json is missing")
    image, config = app_image({**hub_env, "MODEL_REPO": "tester/no-weights"}, 3, outputs, tmp_path)
    assert "could not load MODEL_REPO='tester/no-weights'" in config and "config.json is missing" in config
    assert np.array_equal(image, expected_image(ROOT / "weights", 3))


@pytest.mark.parametrize(
    "case", ["bad token", "no token", "server error", "server down", "dropped connection", "offline mode"]
)
def test_push_failures_are_one_clear_message_and_lose_nothing(
    case, first_push, hub_env, outputs, tmp_path_factory, tiny_data
):
    run_dir, _ = first_push
    env, server = dict(hub_env), None
    if case == "bad token":
        env["HF_TOKEN"] = "hf_wrong_token"
    elif case == "no token":
        env["HF_TOKEN"] = ""
        env["HF_HOME"] = str(tmp_path_factory.mktemp("empty-hf-home"))
    elif case == "server error":
        server, env["HF_ENDPOINT"] = start_hub(tmp_path_factory.mktemp("failing"), "--fail-status", "500")
    elif case == "server down":
        env["HF_ENDPOINT"] = f"http://127.0.0.1:{free_port()}"
    elif case == "dropped connection":
        server, env["HF_ENDPOINT"] = start_hub(tmp_path_factory.mktemp("dropping"), "--drop-on-commit")
    elif case == "offline mode":
        env["HF_HUB_OFFLINE"] = "1"
    expected = {
        "bad token": "rejected the token",
        "no token": "no Hugging Face token found",
        "server error": "(500 Internal Server Error)",
        "server down": "could not reach the Hub",
        "dropped connection": "could not reach the Hub",
        "offline mode": "offline mode is on (HF_HUB_OFFLINE is set), so nothing can be pushed",
    }[case]
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    try:
        pushed = run_script(
            "train.py", "--push-only", "--out", str(run_dir), "--repo-id", "tester/mnist-gan", env=env
        )
        fresh = tmp_path_factory.mktemp("never-trained") / "run"
        trained = train(tiny_data, fresh, env, outputs, "--push", "--repo-id", "tester/mnist-gan")
    finally:
        if server:
            stop(server)
    outputs.append(pushed.stdout + pushed.stderr)
    assert pushed.returncode == 3 and expected in pushed.stderr, pushed.stderr
    assert "--push-only" in pushed.stderr and "Traceback" not in pushed.stderr
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before
    if case != "dropped connection":  # that server answers everything but commits: training would run
        assert trained.returncode == 3 and expected in trained.stderr and "epoch" not in trained.stdout
        assert not fresh.exists()


def test_a_commit_whose_answer_was_lost_is_found_on_the_hub_and_reported_as_pushed(
    first_push, hub_env, outputs, tmp_path_factory
):
    run_dir, _ = first_push
    server, endpoint = start_hub(tmp_path_factory.mktemp("losing"), "--lose-commit-answer")
    try:
        pushed = run_script(
            "train.py", "--push-only", "--out", str(run_dir), "--repo-id", "tester/mnist-gan",
            env={**hub_env, "HF_ENDPOINT": endpoint},
        )  # fmt: skip
        remote = HfApi(endpoint=endpoint, token=TOKEN)
        files, commits = (
            remote.list_repo_files("tester/mnist-gan"),
            remote.list_repo_commits("tester/mnist-gan"),
        )
    finally:
        stop(server)
    outputs.append(pushed.stdout + pushed.stderr)
    assert pushed.returncode == 0, pushed.stderr
    assert f"tester/mnist-gan/commit/{commits[0].commit_id}" in pushed.stdout
    assert [commit.title for commit in commits] == ["Upload MNIST GAN run (1 epochs)", "initial commit"]
    assert set(files) - {".gitattributes"} == PUSHED


def test_the_token_is_in_no_output_and_no_file(first_push, hub_env, outputs):
    assert outputs, "the tests above ran the scripts"
    assert not [text for text in outputs if TOKEN in text]
    run_dir = first_push[0]
    written = [p for p in (*run_dir.parent.rglob("*"), *(ROOT / "weights").rglob("*")) if p.is_file()]
    assert written and not [p for p in written if TOKEN.encode() in p.read_bytes()]


def test_private_is_honoured_for_a_repo_that_is_already_public(tiny_data, hub_env, outputs, tmp_path):
    api(hub_env).create_repo("tester/public-gan", private=False, exist_ok=True)
    fresh = tmp_path / "never-trained"
    refused = train(
        tiny_data, fresh, hub_env, outputs, "--push", "--private", "--repo-id", "tester/public-gan"
    )
    assert refused.returncode == 3 and "already exists and is public" in refused.stderr, refused.stderr
    assert "Nothing was trained" in refused.stderr and not fresh.exists()
    assert api(hub_env).list_repo_files("tester/public-gan") in ([], [".gitattributes"])


def test_a_push_mirrors_the_run_and_keeps_the_users_own_files(tiny_data, hub_env, outputs, tmp_path):
    longer, shorter = tmp_path / "longer", tmp_path / "shorter"
    flags = ["--push", "--repo-id", "tester/mirror"]
    assert train(tiny_data, longer, hub_env, outputs, *flags, epochs=3).returncode == 0
    api(hub_env).upload_file(path_or_fileobj=b"my notes\n", path_in_repo="notes.md", repo_id="tester/mirror")
    assert "samples/epoch_0003.png" in api(hub_env).list_repo_files("tester/mirror")
    assert train(tiny_data, shorter, hub_env, outputs, *flags).returncode == 0
    assert set(api(hub_env).list_repo_files("tester/mirror")) - {".gitattributes"} == PUSHED | {"notes.md"}


def test_links_are_never_followed_when_pushing(first_push, hub_env, outputs, tmp_path):
    run_dir = tmp_path / "linked"
    shutil.copytree(first_push[0], run_dir)
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not for the Hub")
    (run_dir / "samples" / "epoch_0099.png").symlink_to(secret)
    pushed = run_script(
        "train.py", "--push-only", "--out", str(run_dir), "--repo-id", "tester/linked", env=hub_env
    )
    outputs.append(pushed.stdout + pushed.stderr)
    assert pushed.returncode == 0, pushed.stderr
    assert "epoch_0099.png is a link; it is not pushed" in pushed.stderr
    assert "samples/epoch_0099.png" not in api(hub_env).list_repo_files("tester/linked")
    # Linked weights are refused, not skipped: a mirroring push would delete the repo's weights.
    (run_dir / "model.safetensors").rename(tmp_path / "weights.safetensors")
    (run_dir / "model.safetensors").symlink_to(tmp_path / "weights.safetensors")
    before = api(hub_env).model_info("tester/linked").sha
    pushed = run_script(
        "train.py", "--push-only", "--out", str(run_dir), "--repo-id", "tester/linked", env=hub_env
    )
    assert pushed.returncode == 3 and "model.safetensors is a link, which is never pushed" in pushed.stderr
    assert api(hub_env).model_info("tester/linked").sha == before


def test_a_run_with_more_files_than_a_commit_should_hold_goes_up_in_several(
    first_push, hub_env, outputs, tmp_path_factory
):
    # This Hub refuses a commit of more than 100 files, the Hub's own advice.
    process, endpoint = start_hub(tmp_path_factory.mktemp("strict-hub"), "--max-files-per-commit", "100")
    run_dir = tmp_path_factory.mktemp("many") / "run"
    shutil.copytree(first_push[0], run_dir)
    grid = (run_dir / "samples" / "epoch_0001.png").read_bytes()
    for epoch in range(2, 131):  # 130 grids, as a 130-epoch run with a grid every epoch has
        (run_dir / "samples" / f"epoch_{epoch:04d}.png").write_bytes(grid)
    env = {**hub_env, "HF_ENDPOINT": endpoint}
    try:
        pushed = run_script(
            "train.py", "--push-only", "--out", str(run_dir), "--repo-id", "tester/many", env=env
        )
        outputs.append(pushed.stdout + pushed.stderr)
        files = set(api(env).list_repo_files("tester/many"))
    finally:
        stop(process)
    assert pushed.returncode == 0, pushed.stderr
    assert {f"samples/epoch_{epoch:04d}.png" for epoch in range(1, 131)} <= files


def test_the_cards_snippet_loads_the_generator_without_this_project(first_push, hub_env, tmp_path):
    card = open(api(hub_env).hf_hub_download("tester/mnist-gan", "README.md", cache_dir=str(tmp_path))).read()
    snippet = card.split("```python\n", 1)[1].split("```", 1)[0]
    check = snippet + "\nassert digits.shape == (16, 28, 28) and 0 <= digits.min() and digits.max() <= 1\n"
    # -I: no current folder or PYTHONPATH on sys.path, so gan_core cannot be imported by accident.
    result = subprocess.run(
        [sys.executable, "-I", "-c", check],
        cwd=tmp_path,
        env={**os.environ, **hub_env},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_the_app_fetches_only_what_it_serves_and_the_grids_when_shown(tiny_data, hub_env, outputs, tmp_path):
    run_dir = tmp_path / "three"
    assert (
        train(tiny_data, run_dir, hub_env, outputs, "--push", "--repo-id", "tester/lazy", epochs=3).returncode
        == 0
    )
    # The repo is new to this process's cache (the test Hub's HF_HOME), so what is there was fetched now.
    repo_cache = Path(hub_env["HF_HOME"]) / "hub" / "models--tester--lazy"
    cached = lambda: {
        path.name for path in repo_cache.rglob("*") if path.is_file() or path.is_symlink()
    }  # fmt: skip
    log = tmp_path / "lazy-app.log"
    try:
        with serving({**hub_env, "MODEL_REPO": "tester/lazy"}, log_path=log) as url:
            client = Client(url, verbose=False)
            image = np.asarray(Image.open(client.predict(seed=5, count=16, api_name="/generate")))
            assert np.array_equal(image, expected_image(run_dir, 5))
            assert "tester/lazy @ main" in httpx.get(f"{url}config").text
            assert {"model.safetensors", "config.json", "history.json"} <= cached()
            # The page shows the last grid; the other grids stay on the Hub until someone asks for them.
            assert "epoch_0003.png" in cached() and not {"epoch_0001.png", "epoch_0002.png"} & cached()
            # The training film asks for them all.
            film = Image.open(client.predict(api_name="/training_film"))
            assert film.n_frames == 3 and {"epoch_0001.png", "epoch_0002.png"} <= cached()
    finally:
        outputs.append(log.read_text() if log.exists() else "")


DRAW = """import sys, numpy as np
from gan_core.hub.pull import load_generator
from gan_core.demo.sampler import Sampler
generator, _ = load_generator("tester/mnist-gan")
np.save(sys.argv[1], np.asarray(Sampler(generator).generate(3, 16)))
"""


@pytest.mark.parametrize("damage", ["a changed byte in the weights", "an empty config.json"])
def test_a_damaged_file_in_the_cache_is_downloaded_again(first_push, hub_env, tmp_path, damage):
    env = {**hub_env, "HF_HOME": str(tmp_path / "hf-home")}
    assert run_script("-c", DRAW, str(tmp_path / "first.npy"), env=env).returncode == 0
    name = "model.safetensors" if "weights" in damage else "config.json"
    (cached,) = (tmp_path / "hf-home" / "hub").glob(f"models--tester--mnist-gan/snapshots/*/{name}")
    original = cached.read_bytes()
    content = bytearray(original)
    content[-64] ^= 0x01  # one bit of one weight: the file still loads, with a different digit
    cached.resolve().write_bytes(bytes(content) if "weights" in damage else b"")

    offline = run_script("-c", DRAW, str(tmp_path / "offline.npy"), env={**env, "HF_HUB_OFFLINE": "1"})
    assert offline.returncode == 1 and not (tmp_path / "offline.npy").exists()  # refused, not served
    assert ("does not match the Hub's hash" if "weights" in damage else "config.json") in offline.stderr

    again = run_script("-c", DRAW, str(tmp_path / "again.npy"), env=env)
    assert again.returncode == 0, again.stderr
    assert cached.read_bytes() == original
    assert np.array_equal(np.load(tmp_path / "again.npy"), np.load(tmp_path / "first.npy"))


def test_with_seeds_each_run_is_pushed_to_its_own_repo(tiny_data, hub_env, outputs, tmp_path):
    result = train(tiny_data, tmp_path / "many", hub_env, outputs, "--seeds", "4,6", "--push",
                   "--repo-id", "tester/many", "--subset", 100, "--batch-size", 50)  # fmt: skip
    assert result.returncode == 0, result.stderr
    for seed in (4, 6):
        repo = f"tester/many-seed-{seed}"
        assert f"pushed {tmp_path / 'many' / f'seed-{seed}'} to" in result.stdout
        pushed = api(hub_env).hf_hub_download(repo, "model.safetensors")
        assert (
            Path(pushed).read_bytes()
            == (tmp_path / "many" / f"seed-{seed}" / "model.safetensors").read_bytes()
        )
    # A repo id the Hub cannot take is refused for every seed before anything trains.
    bad = train(
        tiny_data,
        tmp_path / "bad",
        hub_env,
        outputs,
        "--seeds",
        "1,2",
        "--push",
        "--repo-id",
        "tester/x" * 20,
    )
    assert bad.returncode == 2 and not (tmp_path / "bad").exists()
