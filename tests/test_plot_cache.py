"""The app's fixed figures: drawn once per content, read back at the next start."""

import base64
import io

import pytest
from PIL import Image

from gan_core.images import png_bytes
from gan_core.runs.history import read_history
from gan_core.runs.plots import quality_figure, scores_figure
from tests.helpers import ROOT
from ui.protection.plot_cache import figure_data_uri
from ui.settings import cache_folder

HISTORY = read_history(ROOT / "weights" / "history.json")


def png_of(uri: str) -> Image.Image:
    assert uri.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_a_figure_is_drawn_once_and_read_back_by_its_inputs(tmp_path):
    uri = figure_data_uri(scores_figure, HISTORY, folder=tmp_path)
    assert png_of(uri).size == (1200, 450)  # the figure as Gradio would encode it (12 x 4.5 in, 100 dpi)
    (cached,) = tmp_path.iterdir()
    marker = "data:image/png;base64," + base64.b64encode(png_bytes(Image.new("L", (3, 2)))).decode()
    cached.write_text(marker)  # what a second start must read, not redraw
    assert figure_data_uri(scores_figure, HISTORY, folder=tmp_path) == marker
    # Other inputs or another figure are other entries: never a stale picture.
    shorter = {**HISTORY, "epochs": HISTORY["epochs"][:10]}
    assert png_of(figure_data_uri(scores_figure, shorter, folder=tmp_path))
    assert png_of(figure_data_uri(quality_figure, HISTORY, folder=tmp_path))
    assert len(list(tmp_path.iterdir())) == 3


def test_without_a_cache_folder_or_a_writable_one_the_figure_is_drawn(tmp_path):
    assert png_of(figure_data_uri(scores_figure, HISTORY, folder=None)).size == (1200, 450)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    assert png_of(figure_data_uri(scores_figure, HISTORY, folder=blocked / "plots")).size == (1200, 450)
    assert figure_data_uri(quality_figure, {"epochs": []}, folder=tmp_path) is None  # nothing to draw


def test_the_cache_lives_in_the_users_cache_folder(tmp_path):
    assert cache_folder({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "mnist-gan" / "plots"


@pytest.mark.parametrize(
    "damage",
    ["cut short", "not ascii", "a png", "empty", "not a png", "link to environ", "a folder"],
)
def test_a_damaged_entry_is_drawn_again_and_replaced(tmp_path, damage):
    uri = figure_data_uri(scores_figure, HISTORY, folder=tmp_path)
    (entry,) = tmp_path.iterdir()
    if damage == "cut short":
        entry.write_text(uri[: len(uri) // 2])
    elif damage == "not ascii":
        entry.write_bytes(b"data:image/png;base64,\xff\xfe\x00")
    elif damage == "a png":
        entry.write_bytes(base64.b64decode(uri.split(",", 1)[1]))
    elif damage == "empty":
        entry.write_bytes(b"")
    elif damage == "not a png":
        entry.write_text("data:image/png;base64," + base64.b64encode(b"GIF89a" + b"0" * 100).decode())
    elif damage == "link to environ":  # read, it would put the process's environment on every page
        entry.unlink()
        entry.symlink_to("/proc/self/environ")
    else:
        entry.unlink()
        entry.mkdir()
    again = figure_data_uri(scores_figure, HISTORY, folder=tmp_path)
    assert again == uri and png_of(again).size == (1200, 450)
    if damage != "a folder":  # a folder is left alone: the figure is drawn, the entry not rewritten
        assert not entry.is_symlink() and entry.read_text() == uri


def test_a_figure_that_draws_nothing_is_kept_as_such(tmp_path):
    assert figure_data_uri(quality_figure, {"epochs": []}, folder=tmp_path) is None
    (entry,) = tmp_path.iterdir()
    assert entry.read_text() == "none"
    assert figure_data_uri(quality_figure, {"epochs": []}, folder=tmp_path) is None
