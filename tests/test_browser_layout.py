"""In a real Chromium, at a desktop's and a phone's width: nothing the page draws over a picture
covers its digits, and the How it works gallery shows every row whole."""

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.helpers import launch_chromium, open_app_page
from tests.test_browser import open_tab
from ui.sections import ANSWER

PICTURES = {  # tab -> the pictures on it that have a download button or could have a label chip
    "Generate": ["generate-output"],
    ANSWER: ["compare-improved", "compare-tutorial"],
    "Latent map": ["map-output"],
    "Interpolate": ["interpolate-output", "strip-output", "strip-gif"],
}


def overlaps(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"] - 1
        and b["x"] < a["x"] + a["width"] - 1
        and a["y"] < b["y"] + b["height"] - 1
        and b["y"] < a["y"] + a["height"] - 1
    )


@pytest.mark.parametrize("width", [1280, 390])
def test_no_button_or_label_covers_a_picture_and_the_gallery_rows_are_whole(app_url, width):
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = open_app_page(browser, app_url, width, 900)
        for tab, pictures in PICTURES.items():
            open_tab(page, tab)
            for element in pictures:
                picture = page.locator(f"#{element} img").first
                expect(picture).to_be_visible(timeout=15_000)
                drawn = picture.bounding_box()
                covering = page.locator(
                    f"#{element} .icon-button-wrapper button, #{element} label[data-testid='block-label']"
                )
                for index in range(covering.count()):
                    box = covering.nth(index).bounding_box()
                    if box is not None and covering.nth(index).is_visible():
                        assert not overlaps(box, drawn), f"{tab}: something covers #{element} at {width} px"
        open_tab(page, "How it works")
        grids = page.locator("#samples-gallery img")
        expect(grids).to_have_count(8)
        wrap = page.locator("#samples-gallery .grid-wrap").first.bounding_box()
        for index in range(grids.count()):
            grid = grids.nth(index).bounding_box()
            assert grid["y"] + grid["height"] <= wrap["y"] + wrap["height"] + 1, f"grid {index} is cut"
        browser.close()
