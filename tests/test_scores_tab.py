"""The Training scores tab's epoch control: it stops only at epochs that have a saved grid."""

import gradio as gr

from gan_core.runs.layout import sample_epochs
from tests.helpers import ROOT
from ui.tabs.scores import epoch_chooser


def test_evenly_saved_grids_make_a_slider_stepping_by_their_spacing():
    slider = epoch_chooser(list(range(25, 301, 25)))
    assert isinstance(slider, gr.Slider)
    assert (slider.minimum, slider.maximum, slider.step, slider.value) == (25, 300, 25, 300)


def test_unevenly_saved_grids_make_a_list_of_exactly_those_epochs():
    dropdown = epoch_chooser([1, 10, 100, 300])
    assert isinstance(dropdown, gr.Dropdown)
    assert [value for _, value in dropdown.choices] == [1, 10, 100, 300] and dropdown.value == 300
    assert epoch_chooser([7]) is None and epoch_chooser([]) is None  # nothing to choose between


def test_the_served_models_control_reaches_every_saved_grid_and_nothing_else(app_context):
    saved = sample_epochs(ROOT / "weights")  # the bundled run's grids, which the app serves
    assert app_context.model.grids.epochs == saved and len(saved) > 2
    control = epoch_chooser(saved)
    if isinstance(control, gr.Slider):
        reachable = list(range(int(control.minimum), int(control.maximum) + 1, int(control.step)))
    else:
        reachable = [value for _, value in control.choices]
    assert reachable == saved
