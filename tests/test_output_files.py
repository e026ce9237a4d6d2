"""The files the app hands out take bounded disk: one copy each, all of them under OUTPUT_FILES_MB,
the least recently handed out deleted first."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
from gradio_client import Client

from tests.helpers import start_app, stop
from ui.protection.outputs import OutputFiles


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def test_outputs_stay_under_their_cap_oldest_first(tmp_path):
    outputs = OutputFiles(max_bytes=2500, parent=tmp_path / "cache")
    assert outputs.folder.parent == tmp_path / "cache"
    paths = [Path(outputs.write(bytes([n]) * 1000, f"answer{n}.png")) for n in range(3)]
    # Three 1,000-byte answers under a 2,500-byte cap: the oldest went, the two newest stay.
    assert [path.exists() for path in paths] == [False, True, True]
    assert outputs.total_bytes == 2000 == folder_bytes(outputs.folder)
    # Handing out an answer again makes it the newest: the next one to go is the other.
    assert outputs.write(bytes([1]) * 1000, "answer1.png") == str(paths[1])
    fourth = Path(outputs.write(bytes([3]) * 1000, "answer3.png"))
    assert [paths[1].exists(), paths[2].exists(), fourth.exists()] == [True, False, True]
    # An answer larger than the whole cap is still kept until the next one: a visitor is fetching it.
    big = Path(outputs.write(b"x" * 5000, "big.gif"))
    assert big.exists() and outputs.total_bytes == 5000
    outputs.remove()


def test_the_pages_first_images_are_kept_for_good(tmp_path):
    outputs = OutputFiles(max_bytes=2500, max_age_s=0, sweep_every_s=0, parent=tmp_path)
    with outputs.kept_for_good():
        first = Path(outputs.write(b"f" * 2000, "first.png"))
    for n in range(4):  # past the cap, and older than max_age_s at every sweep
        outputs.write(bytes([n]) * 1000, f"answer{n}.png")
    # The same answer asked for by a visitor is still the page's image: it stays too.
    assert outputs.write(b"f" * 2000, "first.png") == str(first)
    outputs.write(b"z" * 1000, "last.png")
    assert first.exists() and first.read_bytes() == b"f" * 2000
    outputs.remove()


def test_the_apps_answers_are_kept_once_and_under_the_cap(tmp_path):
    gradio_cache = tmp_path / "gradio"
    env = {"GRADIO_TEMP_DIR": str(gradio_cache), "OUTPUT_FILES_MB": "1"}
    process, url = start_app(env, log_path=tmp_path / "app.log")
    try:
        client = Client(url, verbose=False, download_files=str(tmp_path / "downloads"))
        (ours,) = gradio_cache.glob("mnist-gan-outputs-*")
        # The page's first images, in Gradio's folder and (those the tabs drew) in ours, kept for good.
        at_start, first_images = folder_bytes(gradio_cache), folder_bytes(ours)
        answers = []
        for seed in range(12):  # 12 strips of 32 frames, about 170 KB each: twice the cap
            strip, gif = client.predict(seed, seed + 100, 32, "slerp", api_name="/interpolation_strip")
            answers.append(hashlib.sha256(Path(gif).read_bytes()).hexdigest())
        files = [path for path in gradio_cache.rglob("*") if path.is_file()]
        # Each answer is on the disk once (Gradio serves it from our folder, without a copy) ...
        copies = [hashlib.sha256(path.read_bytes()).hexdigest() for path in files]
        assert copies.count(answers[-1]) == 1
        # ... the oldest are gone, and all of them together stay within the cap ...
        assert copies.count(answers[0]) == 0
        assert folder_bytes(ours) - first_images <= 1024 * 1024
        assert folder_bytes(gradio_cache) - at_start <= 1024 * 1024
        # ... while the page's first images (drawn into our folder as the page was built) stay.
        props = [c.get("props", {}) for c in httpx.get(f"{url}config").json()["components"]]
        (first_gif,) = [p["value"]["url"] for p in props if p.get("elem_id") == "strip-gif"]
        assert httpx.get(first_gif).status_code == 200
    finally:
        stop(process)
