"""A run the app cannot fully use never stops it: a history with no sound rows, grids that are cut
short, corrupt, foreign or enormous, files that are FIFOs or devices, and text meant as Markdown. The
app starts on such a run from MODEL_DIR and from MODEL_REPO (tests/hub_server.py), serves what is
sound, and says what is not."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import threading
import zlib
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from huggingface_hub import HfApi
from PIL import Image

from gan_core.demo.film import FilmMaker
from gan_core.hub.pull import GridUnreadable, SampleGrids, sample_grids
from gan_core.messages import markdown_text
from gan_core.runs.history import read_history
from tests.helpers import ROOT, TOKEN, serving
from ui.context import load_app_model

HOSTILE = (
    "[a link](https://evil.example/x) ![a picture](https://evil.example/p.png) "
    "<img src=https://evil.example/i.png> www.evil.example # heading | cell |"
)
GOOD_EPOCHS = [150, 175, 200, 225, 250, 275]  # the bundled run's grids that stay whole below


def huge_header_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (past Pillow's decompression limit)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def damage(run: Path, with_folder: bool = True, sound_rows: bool = False) -> None:
    """Every way a run's history and grids came broken in the field, in one run folder."""
    history = json.loads((run / "history.json").read_text())
    rows = history["epochs"]
    if not sound_rows:  # a NaN, a string, a missing score
        rows[0]["d_x"], rows[1]["d_x"] = float("nan"), "0.5"
        del rows[2]["d_g_z"]
    history["epochs"] = rows[:3]
    history["meta"]["device_name"] = HOSTILE + " " + "A" * 1_000_000  # a megabyte of text
    history["config"].update(recipe="tutorial", r1_gamma=None, resolved={"r1_gamma": 0.0})
    (run / "history.json").write_text(json.dumps(history))
    samples = run / "samples"
    whole = (samples / "epoch_0025.png").read_bytes()
    (samples / "epoch_0025.png").write_bytes(whole[: len(whole) // 2])  # cut short
    (samples / "epoch_0050.png").write_bytes(os.urandom(len(whole)))  # not an image at all
    (samples / "epoch_0100.png").write_bytes(huge_header_png(30_000, 30_000))  # past Pillow's limit
    Image.new("L", (243, 242)).save(samples / "epoch_0125.png")  # one pixel too wide
    Image.new("L", (9000, 9000)).save(samples / "epoch_0300.png")  # 9000 x 9000, a small file
    (samples / "epoch_0075.png").unlink()
    if with_folder:
        (samples / "epoch_0075.png").mkdir()  # a folder named like a grid


@pytest.fixture(scope="module")
def damaged_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("damaged") / "run"
    shutil.copytree(ROOT / "weights", run, ignore=shutil.ignore_patterns("tutorial"))
    damage(run)
    return run


def check_started_app(url: str, source: str, sound_rows: bool) -> None:
    """What a visitor of the app on the damaged run meets: it serves the run, says what it lacks,
    and shows no run text as Markdown."""
    config = httpx.get(f"{url}config", timeout=30).text
    assert "serving the bundled weights" not in config
    assert json.dumps(markdown_text(source))[1:-1] in config  # the header names the run, as text
    assert "served run, tutorial" in config  # labelled by its recorded recipe, not as "improved"
    client = Client(url, verbose=False)
    if sound_rows:
        # The hostile device name is shown as typed, every mark escaped, and its megabyte cut.
        assert json.dumps(markdown_text(HOSTILE))[1:-1] in config
        assert len(client.predict(api_name="/training_scores")["data"]) == 3
    else:
        assert "No training epochs recorded." in config  # the scores tab, for a history without rows
        assert "the served run recorded no scores" in config  # the Compare tab's intro
        assert client.predict(api_name="/training_scores")["data"] == []
    assert "](https://evil.example" not in config and "<img src=https://evil" not in config
    assert "A" * 600 not in config and len(config) < 1_000_000
    film = Image.open(client.predict(api_name="/training_film"))
    assert film.n_frames == len(GOOD_EPOCHS)  # the whole grids only, the damaged ones left out
    assert Image.open(client.predict(7, 4, api_name="/generate")).size[0] > 0  # and it draws


def test_the_app_serves_a_damaged_local_run(damaged_run, tmp_path):
    log = tmp_path / "app.log"
    with serving({"MODEL_DIR": str(damaged_run)}, log_path=log) as url:
        check_started_app(url, f"the run in {damaged_run}", sound_rows=False)
        # The start shows the last grid, which is the 9000 x 9000 one: refused by its size, named.
        config = httpx.get(f"{url}config").text
        assert "The grid of epoch 300 cannot be shown" in config and "9000x9000 pixels" in config
    assert "Traceback" not in log.read_text()


def test_the_app_serves_a_damaged_hub_run(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(ROOT / "weights", run, ignore=shutil.ignore_patterns("tutorial"))
    damage(run, with_folder=False, sound_rows=True)  # a repo holds no folder named like a file
    (run / "samples" / "epoch_0310.png").write_bytes(os.urandom(2 * 1024 * 1024))  # too large for a grid
    api = HfApi(endpoint=os.environ["HF_ENDPOINT"], token=TOKEN)  # the test Hub conftest.py serves
    api.create_repo("tester/damaged-run")
    api.upload_folder(folder_path=str(run), repo_id="tester/damaged-run")
    log = tmp_path / "app.log"
    with serving({"HF_TOKEN": TOKEN, "MODEL_REPO": "tester/damaged-run"}, log_path=log) as url:
        check_started_app(url, "tester/damaged-run @ main", sound_rows=True)
        # The last grid listed is 300's: the 2 MB file is left out of the list, never fetched.
        assert "The grid of epoch 300 cannot be shown" in httpx.get(f"{url}config").text
    cache = Path(os.environ["HF_HOME"]) / "hub" / "models--tester--damaged-run"
    assert cache.is_dir() and not list(cache.rglob("epoch_0310.png"))
    assert "Traceback" not in log.read_text()


def load_within(environ: dict, seconds: float = 60):
    """load_app_model(environ), or a failure if it has not returned within `seconds` (a FIFO's
    open() would wait for ever)."""
    result = []
    worker = threading.Thread(target=lambda: result.append(load_app_model(environ)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert result, f"loading {environ} did not return within {seconds} s"
    return result[0]


@pytest.mark.parametrize("name", ["history.json", "config.json", "model.safetensors"])
@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder"])
def test_a_run_file_that_is_not_a_regular_file_falls_back_at_once(tmp_path, name, kind):
    run = tmp_path / "run"
    shutil.copytree(ROOT / "weights", run, ignore=shutil.ignore_patterns("tutorial", "samples"))
    (run / name).unlink()
    {"fifo": os.mkfifo, "dev-zero": lambda path: path.symlink_to("/dev/zero"), "folder": Path.mkdir}[kind](
        run / name
    )
    model = load_within({"MODEL_DIR": str(run)})
    assert model.source == "bundled weights"
    assert f"{name} is not a regular file" in model.notice and "serving the bundled weights" in model.notice


def test_a_history_too_large_or_too_deep_falls_back(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(ROOT / "weights", run, ignore=shutil.ignore_patterns("tutorial", "samples"))
    with open(run / "history.json", "wb") as handle:  # sparse: 40 MB that take no disk
        handle.truncate(40 * 1024 * 1024)
    assert "more than the 33,554,432 allowed" in load_within({"MODEL_DIR": str(run)}).notice
    (run / "history.json").write_text("[" * 100_000 + "]" * 100_000)
    assert "is not valid JSON" in load_within({"MODEL_DIR": str(run)}).notice


def test_a_history_without_sound_rows_is_a_run_without_scores(damaged_run):
    history = read_history(damaged_run / "history.json")
    assert history["epochs"] == []
    assert len(history["meta"]["device_name"]) == 501  # cut to 500 characters and an ellipsis
    model = load_app_model({"MODEL_DIR": str(damaged_run)})
    assert model.notice is None and model.history["epochs"] == []


def test_each_damaged_grid_is_that_epochs_missing_grid_and_names_why(damaged_run, tmp_path):
    grids = sample_grids(damaged_run)
    reasons = {
        25: "is not a readable image",
        50: "is not a readable image",
        75: "is not a regular file",
        100: r"is not a readable image \(DecompressionBombError\)",
        125: "is 243x242 pixels, not 242x242",
        300: "is 9000x9000 pixels, not 242x242",
    }
    for epoch, reason in reasons.items():
        with pytest.raises(GridUnreadable, match=rf"The grid of epoch {epoch} cannot be shown: .*{reason}"):
            grids.image(epoch)
    for epoch in GOOD_EPOCHS:
        assert grids.image(epoch).size == (242, 242)
    fifo_run = tmp_path / "fifo"
    (fifo_run / "samples").mkdir(parents=True)
    os.mkfifo(fifo_run / "samples" / "epoch_0001.png")
    with pytest.raises(GridUnreadable, match="is not a regular file"):
        sample_grids(fifo_run).image(1)  # at once: a FIFO is never opened for a blocking read


def test_a_failed_film_is_kept_for_a_while_and_a_good_one_for_ever(tmp_path):
    # A Hub run whose grids cannot be fetched (here: a repo id the client refuses before any request).
    grids = SampleGrids(tmp_path, [1], repo_id="not a repo", commit="main")
    maker = FilmMaker(grids, retry_s=3600)
    with pytest.raises(ValueError, match="The sample grids could not be fetched") as first:
        maker.film()
    # The grids come back, but within retry_s the failure is the answer: no second attempt is paid for.
    grids.folder, grids.repo_id, grids.epochs = ROOT / "weights", None, [25, 300]
    with pytest.raises(ValueError) as second:
        maker.film()
    assert str(second.value) == str(first.value)
    maker.retry_s = 0  # the failure has had its time: the next call tries again, and is kept
    film = maker.film()
    assert Image.open(io.BytesIO(film)).n_frames == 2
    grids.epochs = []  # what was made is kept: no rebuild, whatever the grids do now
    assert maker.film() == film


def test_a_run_whose_every_grid_is_damaged_starts_without_its_film(tmp_path):
    from ui.app import build_demo
    from ui.context import build_context
    from ui.settings import Settings

    run = tmp_path / "run"
    shutil.copytree(ROOT / "weights", run, ignore=shutil.ignore_patterns("tutorial"))
    for grid in (run / "samples").iterdir():
        grid.write_bytes(grid.read_bytes()[:100])  # every grid cut short
    ctx = build_context(Settings.from_environ({"MODEL_DIR": str(run)}))
    try:
        config = build_demo(ctx).get_config_file()
        components = {c["props"].get("elem_id"): c["props"] for c in config["components"] if "props" in c}
        assert ctx.model.notice is None  # the run is served: only its film is missing
        assert components["film-output"].get("value") is None and components["film-button"]["visible"] is True
    finally:
        ctx.outputs.remove()
