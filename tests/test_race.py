"""The race under the answer: both recipes trained live at once, in a real app (tiny MNIST) over
HTTP and in Chromium. Each run is seen as its child process, under the app's process in /proc. A
file of its own, so that it runs beside the other live-run tests, on another worker."""

from __future__ import annotations

import os
import types

import numpy as np
import pytest
from gradio_client import Client
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from tests.helpers import launch_chromium, open_app_page, serving
from tests.test_live_runs_and_mcp import cancel_once_it_streams, live_children, no_live_run_after, wait_for


@pytest.fixture(scope="module")
def app(tiny_data, tmp_path_factory):
    """The app's process (this one, where it is served), its URL and its log."""
    log = tmp_path_factory.mktemp("race-app") / "app.log"
    with serving({"MNIST_DIR": str(tiny_data), "LIVE_RUNS_WAITING": "2"}, log_path=log) as url:
        yield types.SimpleNamespace(pid=os.getpid()), url, log


def test_the_race_trains_both_recipes_at_once_and_ends_both_children(app):
    process, url, _ = app
    client = Client(url, verbose=False)
    job = client.submit(seconds=5, seed=1, api_name="/race")
    wait_for(lambda: len(live_children(process)) == 2, 90)  # side by side, not one after the other
    wait_for(job.done, 120)
    updates = job.outputs()
    tutorial, improved, _, status, figures = updates[-1]
    assert figures["state"] == "done" and figures["seed"] == 1
    for recipe in ("tutorial", "improved"):
        assert figures[recipe]["seconds"] >= 5 and figures[recipe]["step"] > 0
    assert [update[4]["state"] for update in updates[:-1]] == ["racing"] * (len(updates) - 1)
    assert status.startswith("**done** after 5 of 5 s.")
    assert status.index("tutorial:") < status.index("improved:")
    # The same seed starts both from the same weights; the recipes then train them apart.
    grids = [np.asarray(Image.open(path).convert("L"), dtype=int) for path in (tutorial, improved)]
    assert grids[0].shape == grids[1].shape and np.abs(grids[0] - grids[1]).max() > 0
    assert no_live_run_after(process, 10) < 10
    # Cancelled while it trains, it ends both of its children at once.
    cancel_once_it_streams(client.submit(seconds=60, seed=2, api_name="/race"), process)


def test_in_the_browser_the_race_shows_both_runs_under_the_answer(app):
    process, url, _ = app
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = open_app_page(browser, url)  # The answer is the first tab
        seconds = page.locator("#race-seconds input[type='number']")
        seconds.fill("5")
        seconds.press("Enter")
        page.locator("#race-start").click()
        status = page.locator("#race-status")
        expect(status).to_contain_text("racing", timeout=90_000)
        expect(status).to_contain_text("done after 5 of 5 s", timeout=90_000)
        for element in ("#race-tutorial img", "#race-improved img", "#race-plot img"):
            expect(page.locator(element).first).to_be_visible()
        # On a phone's width the two grids stay side by side, both on the screen's width.
        page.set_viewport_size({"width": 390, "height": 844})
        boxes = [page.locator(f"#race-{name}").bounding_box() for name in ("tutorial", "improved")]
        assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2 and boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"]
        assert boxes[1]["x"] + boxes[1]["width"] <= 390
        page.set_viewport_size({"width": 1200, "height": 1000})
        # Its Stop, while both train: "stopped", and both children end.
        seconds.fill("60")
        seconds.press("Enter")
        page.locator("#race-start").click()
        expect(status).to_contain_text("racing", timeout=90_000)
        page.locator("#race-stop").click()
        expect(status).to_contain_text("stopped after", timeout=30_000)
        assert no_live_run_after(process, 10) < 10
        assert page.get_by_text("Error", exact=True).count() == 0
        browser.close()
    assert no_live_run_after(process, 10) < 10
