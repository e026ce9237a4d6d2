"""A public Space with bounded resources, and a Hub that never answers: real processes, real HTTP."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import torch
from gradio_client import Client
from safetensors.torch import load_file, save_file

from tests.helpers import ROOT, TOKEN, free_port, run_script, serving, start_app, stop, wait_for_port


def call(app_url, endpoint, body: bytes):
    return httpx.post(
        f"{app_url}gradio_api/call/{endpoint}", content=body, headers={"content-type": "application/json"}
    )


def test_uploads_are_refused_and_nothing_is_kept(app_url):
    response = httpx.post(f"{app_url}gradio_api/upload", files={"files": ("big.bin", b"x" * 2_000_000)})
    assert response.status_code == 403 and "no file uploads" in response.text


@pytest.mark.parametrize("declared", [True, False])
def test_a_multi_megabyte_body_is_refused_and_the_app_keeps_serving(app_url, declared):
    filler = b'{"data": [1, 2], "filler": "' + b"a" * 4_000_000 + b'"}'
    body = filler if declared else (filler[i : i + 65536] for i in range(0, len(filler), 65536))
    response = httpx.post(
        f"{app_url}gradio_api/queue/join", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 413), response.text
    assert call(app_url, "generate", b'{"data": [1, 2]}').status_code == 200


@pytest.mark.parametrize(
    "body, status, message",
    [
        (b'{"data": [1]}', 422, '/generate takes 2 to 5 values in \\"data\\", got 1'),
        (
            b'{"data": [1, 2, "tutorial", true, false, 6]}',
            422,
            '/generate takes 2 to 5 values in \\"data\\", got 6',
        ),
        (b'{"data": [1, 2, 3]}', 422, '/compare takes 2 values in \\"data\\", got 3'),
        (b'{"data": ["\xff\xfe", 2]}', 400, "the request body is not UTF-8 text"),
    ],
)
def test_a_malformed_call_gets_a_message_naming_the_problem(app_url, body, status, message):
    response = call(app_url, "compare" if "/compare" in message else "generate", body)
    assert response.status_code == status and message in response.text, response.text


def results(app_url, endpoint, answers, shared_session: bool) -> list[str]:
    """What the calls answered: one stream per call, or for calls of one session, that session's
    one stream (it carries every call's messages, and ends when the last call has ended)."""
    ids = [answer.json()["event_id"] for answer in answers]
    read = ids[:1] if shared_session else ids
    streams = [httpx.get(f"{app_url}gradio_api/call/{endpoint}/{event}", timeout=300).text for event in read]
    ends = ("event: complete", "event: error")
    return [block for text in streams for block in text.split("\n\n") if block.startswith(ends)]


@pytest.mark.parametrize("named_session", [True, False])
def test_one_visitor_cannot_take_the_queue_from_the_others(app_url, named_session):
    # A greedy client sends 30 slow calls at once: from one session, or (curl-style) from one
    # address with no session. At most 8 are queued; the rest are refused at once, saying why.
    session = {"session_hash": "greedy-visitor"} if named_session else {}
    body = json.dumps({"data": [1, 2, 32, "slerp"], **session}).encode()
    with ThreadPoolExecutor(30) as pool:
        answers = list(pool.map(lambda _: call(app_url, "interpolation_strip", body), range(30)))
    assert all(a.status_code == 200 for a in answers)  # a refusal is the call's answer, with our message
    answered = results(app_url, "interpolation_strip", answers, named_session)
    refused = [a for a in answered if a.startswith("event: error")]
    # At most 8 are accepted while the burst lasts; how many of those finish before the last call
    # arrives (and free a place) is the scheduler's choice, so the lower bound only says the cap bit.
    assert 1 <= len(refused) <= 30 - 8, answered
    assert all("You already have 8 requests waiting or running" in a for a in refused)
    assert len(answered) == 30  # the others were answered
    # Meanwhile another visitor (a gradio_client session) is served every time.
    client = Client(app_url, verbose=False)
    assert all(client.predict(seed, 4, api_name="/generate") for seed in range(32))


def test_on_a_space_new_sessions_from_one_address_do_not_pass_the_cap(tiny_data, tmp_path):
    # A client that makes up a new session for every call passes the per-session cap; on a Space
    # all of one address's sessions together may have 2 x MAX_CALLS_PER_VISITOR calls. The address
    # is the last X-Forwarded-For entry (the one the Space's proxy adds).
    env = {"SPACE_ID": "tester/space", "MNIST_DIR": str(tiny_data), "MAX_CALLS_PER_VISITOR": "2"}
    process, url = start_app(env, log_path=tmp_path / "app.log")
    try:

        def greedy(index):
            body = json.dumps({"data": [1, 2, 32, "slerp"], "session_hash": f"made-up-{index}"}).encode()
            # The caller's own entries, in the proxy's line or (odd calls) in a line of their own.
            forwarded = (
                [("x-forwarded-for", f"9.9.{index}.9"), ("x-forwarded-for", "10.0.0.7")]
                if index % 2
                else [("x-forwarded-for", f"9.9.9.{index}, 10.0.0.7")]
            )
            headers = [("content-type", "application/json"), *forwarded]
            return httpx.post(f"{url}gradio_api/call/interpolation_strip", content=body, headers=headers)

        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(greedy, range(12)))
        assert all(a.status_code == 200 for a in answers)
        answered = results(url, "interpolation_strip", answers, shared_session=False)
        refused = [a for a in answered if a.startswith("event: error")]
        assert 1 <= len(refused) <= 12 - 4, answered  # at most 4 at once; some may finish first
        assert all("Your address already has 4 requests waiting or running" in a for a in refused)
        # Another address is served meanwhile, and off the Space's proxy the header is ignored.
        other = {"content-type": "application/json", "x-forwarded-for": "10.0.0.8"}
        body = json.dumps({"data": [3, 4], "session_hash": "someone-else"}).encode()
        assert httpx.post(f"{url}gradio_api/call/generate", content=body, headers=other).status_code == 200
    finally:
        stop(process)


def test_the_app_removes_its_outputs_when_it_stops(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    process, url = start_app({"TMPDIR": str(temp)})
    try:
        assert call(url, "generate", b'{"data": [3, 4]}').status_code == 200
        outputs = list(temp.glob("gradio/mnist-gan-outputs-*"))  # inside Gradio's own file cache
        assert len(outputs) == 1
    finally:
        process.send_signal(signal.SIGTERM)  # what a Space or `docker stop` sends
        process.wait(timeout=30)
    assert not outputs[0].exists()


def test_a_stop_while_the_app_is_still_starting_is_quiet(tmp_path):
    # A Space restart can land as soon as the port opens, while Gradio still checks its own URL.
    temp = tmp_path / "tmp"
    temp.mkdir()
    log = tmp_path / "app.log"
    process, _ = start_app({"TMPDIR": str(temp)}, log_path=log)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert "Traceback" not in log.read_text()
    assert not list(temp.glob("**/mnist-gan-outputs-*"))


def start_silent_hub(storage):
    port = free_port()
    hub = subprocess.Popen(
        [sys.executable, "tests/hub_server.py", "--port", str(port), "--storage", str(storage), "--hang"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, hub)
    return hub, f"http://127.0.0.1:{port}"


def test_a_hub_that_never_answers_delays_start_and_push_by_seconds(tmp_path):
    hub, endpoint = start_silent_hub(tmp_path / "storage")
    env = {"HF_ENDPOINT": endpoint, "HF_HOME": str(tmp_path / "home"), "HF_TOKEN": "hf_test_never_answered",
           "HF_HUB_DOWNLOAD_TIMEOUT": "2"}  # seconds per connect and read (10 by default)  # fmt: skip
    try:
        began = time.monotonic()
        process, url = start_app({**env, "MODEL_REPO": "tester/silent"})
        try:
            started = time.monotonic() - began
            page = httpx.get(f"{url}config").text
        finally:
            stop(process)
        assert started < 30 and "could not load MODEL_REPO='tester/silent'" in page
        began = time.monotonic()
        pushed = run_script(
            "train.py", "--push-only", "--out", "weights", "--repo-id", "tester/silent", env=env
        )
        assert time.monotonic() - began < 30
        assert pushed.returncode == 3 and "could not reach the Hub" in pushed.stderr, pushed.stderr
        assert "--push-only" in pushed.stderr and "Traceback" not in pushed.stderr
    finally:
        stop(hub)


@pytest.mark.parametrize("damage", ["oversized config", "NaN weights", "wrong shapes"])
def test_a_damaged_model_repo_means_the_bundled_weights_and_a_notice(tmp_path, damage):
    """The repo comes through the Hub client from the test Hub (tests/hub_server.py, served by
    conftest.py); the app must start anyway."""
    from huggingface_hub import HfApi

    repo = f"tester/damaged-{damage.replace(' ', '-')}"
    folder = tmp_path / "repo"
    shutil.copytree(ROOT / "weights", folder)
    weights = load_file(folder / "model.safetensors")
    if damage == "oversized config":
        (folder / "config.json").write_text(json.dumps({"latent_size": 64, "hidden_size": 30000}))
    elif damage == "NaN weights":
        weights["net.2.weight"][0, 0] = float("nan")
    else:
        weights["net.0.weight"] = torch.zeros(256, 32)
    save_file(weights, folder / "model.safetensors")
    api = HfApi(endpoint=os.environ["HF_ENDPOINT"], token=TOKEN)
    api.create_repo(repo, exist_ok=True)
    api.upload_folder(folder_path=str(folder), repo_id=repo)
    log = tmp_path / "app.log"
    with serving({"HF_TOKEN": TOKEN, "MODEL_REPO": repo}, log_path=log) as url:
        page = httpx.get(f"{url}config").text
        served = call(url, "generate", b'{"data": [1, 4]}').status_code
    assert f"could not load MODEL_REPO='{repo}'" in page and "serving the bundled weights" in page
    assert served == 200 and "Traceback" not in log.read_text()
    assert os.path.getsize(log) < 20_000


def test_a_stalled_mnist_mirror_is_one_error_line_within_a_minute(tmp_path):
    """The download goes through a proxy that accepts connections and never answers."""
    proxy, address = start_silent_hub(tmp_path / "storage")
    try:
        proxies = {name: address for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY")}
        began = time.monotonic()
        result = run_script(
            "train.py", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "run"), "--epochs", "1",
            env={**proxies, "MNIST_READ_TIMEOUT": "3"}, timeout=180,
        )  # fmt: skip
        elapsed = time.monotonic() - began
    finally:
        stop(proxy)
    # Each read of the two mirrors waits MNIST_READ_TIMEOUT (3 s here, 20 s by default), no more.
    assert result.returncode == 2 and elapsed < 30, (elapsed, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot read MNIST" in errors[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_an_answer_finished_after_the_stop_does_not_bring_the_outputs_back(tmp_path, monkeypatch):
    # The race of a stop that lands while a call is still drawing: its write must not recreate
    # the folder the stop removed.
    import tempfile

    from ui.protection.outputs import OutputFiles, OutputsRemoved

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where mkdtemp puts the folder
    outputs = OutputFiles()
    assert Path(outputs.write(b"first", "a.png")).read_bytes() == b"first"
    outputs.remove()
    with pytest.raises(OutputsRemoved, match="the app is stopping"):
        outputs.write(b"late", "b.png")
    assert not outputs.folder.exists() and not list(tmp_path.iterdir())
