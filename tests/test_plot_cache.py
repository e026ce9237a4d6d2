"""The app's fixed figures: drawn once per content, read back at the next start."""

import base64
import io

from PIL import Image

from gan_core.history import read_history
from gan_core.plot_cache import cache_folder, figure_data_uri
from gan_core.plots import quality_figure, scores_figure
from tests.helpers import ROOT

HISTORY = read_history(ROOT / "weights" / "history.json")


def png_of(uri: str) -> Image.Image:
    assert uri.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_a_figure_is_drawn_once_and_read_back_by_its_inputs(tmp_path):
    uri = figure_data_uri(scores_figure, HISTORY, folder=tmp_path)
    assert png_of(uri).size == (1200, 450)  # the figure as Gradio would encode it (12 x 4.5 in, 100 dpi)
    (cached,) = tmp_path.iterdir()
    cached.write_text("data:image/png;base64,marker")  # what a second start must read, not redraw
    assert figure_data_uri(scores_figure, HISTORY, folder=tmp_path) == "data:image/png;base64,marker"
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
