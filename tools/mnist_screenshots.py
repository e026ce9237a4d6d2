"""The README's screenshots of what needs the real MNIST: Nearest images, Live training, the race
under the answer and a round of "Be the discriminator" (the browser tests run them on a tiny data
set, whose pictures would mislead).

    python tools/mnist_screenshots.py --mnist ../shared/data
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers import launch_chromium, open_app_page, start_app, stop  # noqa: E402
from tests.test_browser import open_tab  # noqa: E402
from ui.sections import ANSWER, GAME  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", required=True, help="folder holding MNIST/raw/")
    args = parser.parse_args()
    process, url = start_app({"MNIST_DIR": str(Path(args.mnist).resolve())})
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = open_app_page(browser, url)
            time.sleep(20)  # the index builds in the background
            open_tab(page, "Nearest images")
            expect(page.locator("#nearest-status")).to_contain_text("ready", timeout=60_000)
            page.locator("#nearest-button").click()
            expect(page.locator("#nearest-verdict")).to_contain_text("copy", timeout=30_000)
            page.screenshot(path=str(ROOT / "docs" / "screenshot-nearest.png"), full_page=True)
            open_tab(page, "Live training")
            page.locator("#live-recipe").get_by_label("improved").check()
            page.get_by_label("seconds").last.fill("30")
            page.get_by_label("seconds").last.press("Enter")
            page.locator("#live-start").click()
            expect(page.locator("#live-status")).to_contain_text("done", timeout=90_000)
            page.screenshot(path=str(ROOT / "docs" / "screenshot-live-training.png"), full_page=True)
            open_tab(page, ANSWER)
            page.locator("#race-start").click()  # its default: 30 s
            expect(page.locator("#race-status")).to_contain_text("done", timeout=120_000)
            page.locator("#race").screenshot(path=str(ROOT / "docs" / "screenshot-race.png"))
            open_tab(page, GAME)
            page.locator("#game-round-number input").fill("7")
            page.locator("#game-round-number input").press("Enter")
            expect(page.locator("#game-prompt")).to_contain_text("Round 7", timeout=30_000)
            for number in ("1", "3", "6"):
                page.locator("#game-calls").get_by_label(number, exact=True).check()
            page.locator("#game-reveal").click()
            expect(page.locator("#game-tally")).to_contain_text("You:", timeout=30_000)
            page.screenshot(path=str(ROOT / "docs" / "screenshot-game.png"), full_page=True)
            browser.close()
    finally:
        stop(process)


if __name__ == "__main__":
    main()
