"""A real Chromium (Debian's, driven by Playwright) using the app the way visitors do."""

import io
import os
import re

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect, sync_playwright

from gan_core.demo.digits import CAPTION_SIZE, caption
from gan_core.latent import seeded_noise
from tests.helpers import ROOT, launch_chromium, open_app_page
from ui.sections import ANSWER, GAME, SECTIONS

# UPDATE_SCREENSHOTS=1 writes the README's pictures; otherwise they go to the test's temp folder.
SCREENSHOTS = ROOT / "docs" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else None


@pytest.fixture(scope="module")
def page(app_url):
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = open_app_page(browser, app_url)
        yield page
        browser.close()


def shot(page, name, tmp_path):
    folder = SCREENSHOTS or tmp_path
    folder.mkdir(exist_ok=True)
    page.screenshot(path=str(folder / f"screenshot-{name}.png"), full_page=True)


def open_tab(page, name):
    """Click a tab, after the top-level tab it sits in (SECTIONS, the page's own layout)."""
    section = next((outer for outer, inner in SECTIONS.items() if name in inner), None)
    if section is not None:
        click_tab(page, section)
    click_tab(page, name)


def click_tab(page, name):
    """Click a visible tab; on a narrow screen Gradio puts the ones that do not fit behind "More
    tabs", decided after the tab bar has measured itself: a tab seen before that may be gone the
    moment after, so both ways are tried until one works."""
    for _ in range(10):
        tab = page.get_by_role("tab", name=name, exact=True).filter(visible=True)
        try:
            if tab.count():
                tab.first.click(timeout=3000)
                return
            # A tab bar inside a tab has a menu of its own: look in each that is shown.
            for more in page.get_by_role("button", name="More tabs").filter(visible=True).all():
                more.click(timeout=3000)
                menu_item = page.get_by_role("tab", name=name, exact=True).or_(
                    page.get_by_role("button", name=name, exact=True)
                )
                if menu_item.filter(visible=True).count():
                    menu_item.filter(visible=True).first.click(timeout=3000)
                    return
                more.click(timeout=3000)  # closed again
        except PlaywrightTimeout:
            pass  # the tab bar was laid out again meanwhile
        page.wait_for_timeout(500)
    raise AssertionError(f"no tab named {name!r}, and no More tabs button")


def image_source(page, element_id):
    return page.locator(f"#{element_id} img").first.get_attribute("src")


def fetched(page, source) -> bytes:
    """What a src URL holds, fetched as the browser would. A GET that meets a kept-alive connection
    the server is closing that moment is sent again, as a browser does: the file is the same."""
    for attempt in range(3):
        try:
            return page.request.get(source).body()
        except PlaywrightError as error:
            if "ECONNRESET" not in str(error) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def pixels(page, source):
    """The image behind a src URL, as the browser fetched it, decoded to grey levels."""
    return np.asarray(Image.open(io.BytesIO(fetched(page, source))).convert("L"))


def wait_for_new_source(page, element_id, old, timeout_ms=15_000):
    page.wait_for_function(
        "([id, old]) => { const img = document.querySelector(`#${id} img`); "
        "return img && img.src && img.src !== old; }",
        arg=[element_id, old],
        timeout=timeout_ms,
    )
    return image_source(page, element_id)


def test_generate_button_draws_a_new_grid(page, tmp_path):
    open_tab(page, "Generate")
    before = image_source(page, "generate-output")
    seed_box = page.get_by_label("seed", exact=True).filter(visible=True).first  # Generate's
    seed_box.fill("777")
    page.locator("#generate-button").click()
    after = wait_for_new_source(page, "generate-output", before)
    # Not only a new URL: other digits (the page opens on seed 42).
    old, new = pixels(page, before), pixels(page, after)
    assert old.shape == new.shape and np.abs(old.astype(int) - new.astype(int)).mean() > 5
    shot(page, "generate", tmp_path)


def test_dragging_the_slider_changes_the_digit_while_the_mouse_is_down(page, tmp_path):
    open_tab(page, "Interpolate")
    slider = page.locator("#t-slider input[type=range]")
    expect(slider).to_be_visible()
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    start = image_source(page, "interpolate-output")
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    seen = [start]
    for fraction in (0.35, 0.2, 0.05):
        page.mouse.move(box["x"] + box["width"] * fraction, y, steps=5)
        seen.append(wait_for_new_source(page, "interpolate-output", seen[-1]))
    page.mouse.up()  # every change above arrived while the button was held
    assert len(set(seen)) == 4
    digits = [pixels(page, source) for source in seen]
    assert all(
        np.abs(a.astype(int) - b.astype(int)).max() > 0 for a, b in zip(digits, digits[1:], strict=False)
    )
    assert float(slider.input_value()) < 0.15
    shot(page, "interpolate", tmp_path)


def test_training_scores_tab_renders_the_plot_and_the_table(page, tmp_path):
    open_tab(page, "Training scores")
    plot = page.locator("#scores-plot img").first
    expect(plot).to_be_visible(timeout=15_000)
    assert plot.evaluate("img => img.decode().then(() => img.naturalWidth)") > 500
    expect(page.get_by_text("Trained 300 epochs")).to_be_visible()
    film = page.locator("#film-output img").first
    expect(film).to_be_visible()
    source = film.get_attribute("src")
    assert source.endswith(".gif") and Image.open(io.BytesIO(fetched(page, source))).n_frames == 12
    shot(page, "scores", tmp_path)


def test_the_gif_plays_in_the_page_and_the_strip_follows_the_seeds_and_the_method(page):
    open_tab(page, "Interpolate")
    gif_source = image_source(page, "strip-gif")
    assert gif_source.endswith("_slerp.gif")  # an <img> that plays, named for the download
    animation = Image.open(io.BytesIO(fetched(page, gif_source)))
    assert animation.format == "GIF" and animation.n_frames == 2 * 10 - 2  # forward, then back
    strip_source = image_source(page, "strip-output")
    seed_a = page.get_by_label("seed A", exact=True)
    seed_a.fill("5")
    seed_a.press("Enter")
    new_strip = wait_for_new_source(page, "strip-output", strip_source)
    new_gif = wait_for_new_source(page, "strip-gif", gif_source)
    assert "5-to-2" in new_gif
    old, new = pixels(page, strip_source), pixels(page, new_strip)
    assert old.shape == new.shape and np.abs(old.astype(int) - new.astype(int)).mean() > 5
    # The method too: the same two ends, and between them a straight line's other digits (a subtler
    # change than a new seed's: about 3.5 grey levels on average over the 8 middle frames of 5 to 2).
    page.get_by_label("lerp", exact=True).check()
    lerp_strip = wait_for_new_source(page, "strip-output", new_strip)
    assert wait_for_new_source(page, "strip-gif", new_gif).endswith("_lerp.gif")
    old, new = pixels(page, new_strip), pixels(page, lerp_strip)
    assert old.shape == new.shape
    difference, frame = np.abs(old.astype(int) - new.astype(int)), old.shape[1] // 10
    assert difference[:, :frame].max() <= 1 and difference[:, -frame:].max() <= 1
    assert difference[:, frame:-frame].mean() > 1
    page.get_by_label("slerp", exact=True).check()  # as the other tests expect the page
    slerp_strip = wait_for_new_source(page, "strip-output", lerp_strip)
    seed_a.fill("1")
    seed_a.press("Enter")
    wait_for_new_source(page, "strip-output", slerp_strip)


def test_on_a_phone_every_tab_fits_the_width_and_stays_readable(page, app_url, tmp_path):
    context = page.context.browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    phone = context.new_page()
    phone.goto(app_url)
    expect(phone.get_by_text("MNIST GAN").first).to_be_visible(timeout=30_000)
    width = lambda selector: phone.locator(selector).first.bounding_box()["width"]
    # Every top-level tab is in reach, with no "More tabs" menu; the first answers the question.
    for section in SECTIONS:
        expect(phone.get_by_role("tab", name=section, exact=True)).to_be_visible()
    expect(phone.get_by_role("button", name="More tabs")).to_have_count(0)
    expect(phone.locator("#verdict")).to_contain_text("Does the tutorial's GAN reach D(x) = D(G(z)) = 0.5?")
    for tab, readable, name in [
        ("Generate", "#generate-output img", "generate"),
        ("Interpolate", "#interpolate-output img", "interpolate"),
        ("Training scores", "#scores-plot-phone img", "scores"),
        ("Latent map", "#map-output img", "latent-map"),
        (ANSWER, "#compare-improved img", "answer"),
        ("Live training", "#live-start", "live-training"),
        ("Nearest images", "#nearest-button", "nearest"),
        (GAME, "#game-unavailable", "game"),  # its round needs MNIST: tests/test_be_the_discriminator.py
        (
            "How it works",
            "#recipes-plot-phone img",
            "how-it-works",
        ),  # last: the checks below are of its plots
    ]:
        open_tab(phone, tab)
        expect(phone.locator(readable).first).to_be_visible(timeout=15_000)
        # Nothing pushes the page sideways; each picture spans the screen or more.
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, tab
        assert width(readable) >= 300, tab
        if tab == "Interpolate":
            # The strip shrinks to the screen: each of its frames (10 unless the slider says other)
            # still gets about 24 CSS px or more, the width of the picture as drawn (object-fit).
            frames = int(phone.get_by_label("frames").first.input_value() or 10)
            strip = phone.locator("#strip-output img").first
            expect(strip).to_be_visible()
            drawn = strip.evaluate(
                "img => img.decode().then(() => "
                "Math.min(img.clientWidth, img.clientHeight * img.naturalWidth / img.naturalHeight))"
            )
            assert drawn / frames >= 24, f"{drawn:.0f} px for {frames} frames"
        phone_screenshot(phone, (SCREENSHOTS or tmp_path) / f"screenshot-phone-{name}.png")
        if tab == "Generate":
            captions_are_readable(phone)
        if tab == "Latent map":
            a_buttons_answer_is_brought_into_view(phone, "#map-button", "#map-output")
        if tab == "Training scores":
            # The per-epoch table is its four-column version, all of it inside its box.
            expect(phone.locator("#scores-table")).to_be_hidden()
            expect(phone.locator("#scores-table-phone")).to_contain_text("D(G(z))")
            from gan_core.runs.history import read_history

            first = read_history(ROOT / "weights" / "history.json")["epochs"][0]
            expect(phone.locator("#scores-table-phone")).to_contain_text(f"{round(first['d_g_z'], 4)}")
            assert phone.locator("#scores-table-phone .table-wrap").first.evaluate(
                "box => box.scrollWidth <= box.clientWidth"
            )
    # A plot is its narrow version on a phone (the wide one hidden): all of it on the screen, with
    # no sideways scroll, and its 10-pt text (13.9 px at 100 dpi) drawn at 9 CSS px or more.
    expect(phone.locator("#recipes-plot")).to_be_hidden()
    plot = phone.locator("#recipes-plot-phone img").first
    natural, drawn, right = plot.evaluate(
        "img => img.decode().then(() => "
        "[img.naturalWidth, img.clientWidth, img.getBoundingClientRect().right])"
    )
    assert natural == 480 and right <= 390 and 10 * 100 / 72 * drawn / natural >= 9, (natural, drawn, right)
    assert phone.locator("#recipes-plot-phone").evaluate("box => box.scrollWidth <= box.clientWidth")
    # Its code wraps inside its boxes rather than scroll sideways.
    scrollers = phone.locator(".cm-scroller")
    assert scrollers.count() >= 3
    assert scrollers.evaluate_all("boxes => boxes.every(box => box.scrollWidth <= box.clientWidth)")
    assert phone.locator(".prose pre").evaluate_all(
        "boxes => boxes.length > 0 && boxes.every(box => box.scrollWidth <= box.clientWidth)"
    )
    # The sample grids are two to a row, each wide enough to tell the digits apart.
    assert phone.locator("#samples-gallery img").first.bounding_box()["width"] >= 140
    # A tap on the answer's upper grid brings its panel, below the lower grid, into view.
    open_tab(phone, ANSWER)
    upper = phone.locator("#compare-improved img").first
    upper.scroll_into_view_if_needed()
    expect(phone.locator("#compare-digit-text")).not_to_be_in_viewport()
    click_picture_at(upper, 8 + 56, 8 + 56)
    expect(phone.locator("#compare-digit-text")).to_be_in_viewport(timeout=15_000)
    expect(phone.locator("#compare-digit-text")).to_contain_text(
        "Digit 0 of seed 7 (improved)", timeout=15_000
    )
    context.close()


def phone_screenshot(phone, path) -> None:
    """The whole page on the phone's width. Not Playwright's full_page: it stretches the screen while
    it shoots, and Gradio's tab bar, measuring itself in that moment, drew a "More tabs" menu into
    the picture that the phone never shows. Here the screen is made the page's height, the tab bar
    is seen whole (every top-level tab, no menu), and only then is the picture taken."""
    size = phone.viewport_size
    phone.set_viewport_size({"width": size["width"], "height": phone.evaluate("document.body.scrollHeight")})
    expect(phone.get_by_role("button", name="More tabs")).to_have_count(0)
    for section in SECTIONS:
        expect(phone.get_by_role("tab", name=section, exact=True)).to_be_visible()
    phone.screenshot(path=str(path))
    phone.set_viewport_size(size)


def captions_are_readable(phone) -> None:
    """With captions on, the digits of the first caption stand at least 6.7 CSS px tall on the
    phone: the height of digits in a 10-px font (two thirds of it). Measured in the served picture,
    scaled as the page draws it."""
    grid = phone.locator("#generate-output img").first
    before = grid.get_attribute("src")
    phone.locator("#captions-box input").check()
    expect(grid).not_to_have_attribute("src", before, timeout=15_000)
    # Once decoded: a picture still loading measures 0 px (and any height would pass).
    natural_width, drawn_width = grid.evaluate(
        "img => img.decode().then(() => [img.naturalWidth, img.clientWidth])"
    )
    assert natural_width > 0 and drawn_width > 0
    picture = np.asarray(
        Image.open(io.BytesIO(phone.request.get(grid.get_attribute("src")).body())).convert("L")
    )
    cell = 4 * 30  # the default grid: 8 digits a row, 28 px and 2 px of padding, drawn 4 times over
    band = picture[cell : cell + 60, 8:cell]  # below the first digit's cell, as far as the next row
    lit_rows = np.flatnonzero((band > 128).any(axis=1))
    lit_rows = lit_rows[lit_rows < lit_rows[0] + 40]  # the first caption's line only
    glyph_height = (lit_rows[-1] - lit_rows[0] + 1) * drawn_width / natural_width
    assert glyph_height >= 6.7, f"captions {glyph_height:.1f} CSS px tall on a phone"
    phone.locator("#captions-box input").uncheck()


def a_buttons_answer_is_brought_into_view(phone, button: str, answer: str) -> None:
    """A button at the bottom of the screen, its answer below the fold: a click shows the answer."""
    phone.locator(button).evaluate("button => button.scrollIntoView({block: 'end'})")
    expect(phone.locator(answer)).not_to_be_in_viewport(ratio=0.9)
    phone.locator(button).click()
    expect(phone.locator(answer)).to_be_in_viewport(ratio=0.9, timeout=15_000)


def test_how_it_works_quotes_the_training_code_and_the_bundled_runs(page, tmp_path):
    from gan_core.demo.explain import step_excerpts
    from gan_core.runs.history import read_history

    open_tab(page, "How it works")
    blocks = page.locator(".step-code .cm-content")
    expect(blocks.first).to_be_visible(timeout=15_000)
    # The two updates on the page are the lines of gan_core.training.state.train_step, as the app read them.
    shown = [blocks.nth(i).inner_text() for i in range(blocks.count())]
    normalise = lambda code: [line.strip() for line in code.splitlines() if line.strip()]
    assert [normalise(code) for code in shown] == [normalise(code) for _, code in step_excerpts()]
    assert any("fakes[:batch_size].detach()" in code for code in shown)
    # The 0.5 answer quotes the bundled runs' last epochs, and its plot is drawn from them.
    tutorial = read_history(ROOT / "weights" / "tutorial" / "history.json")["epochs"][-1]
    expect(
        page.get_by_text(f"its D(x) is {tutorial['d_x']:.2f} and its D(G(z)) {tutorial['d_g_z']:.2f}")
    ).to_be_visible()
    plot = page.locator("#recipes-plot img").first
    expect(plot).to_be_visible()
    assert plot.evaluate("img => img.decode().then(() => img.naturalWidth)") > 500
    expect(page.locator("#samples-gallery img")).to_have_count(8)
    expect(page.get_by_text("Generator.from_pretrained")).to_be_visible()
    shot(page, "how-it-works", tmp_path)


def test_compare_shows_both_recipes_and_the_model_choice_switches_generators(page, tmp_path):
    open_tab(page, ANSWER)
    before = {name: image_source(page, f"compare-{name}") for name in ("improved", "tutorial")}
    page.locator("#compare-seed input").fill("99")
    page.locator("#compare-button").click()
    after = {name: wait_for_new_source(page, f"compare-{name}", before[name]) for name in before}
    improved, tutorial = pixels(page, after["improved"]), pixels(page, after["tutorial"])
    assert improved.shape == tutorial.shape and np.abs(improved.astype(int) - tutorial.astype(int)).mean() > 5
    expect(page.locator("#compare-scores-plot img").first).to_be_visible()
    expect(page.locator("#compare-digits-plot img").first).to_be_visible()
    expect(page.locator("#compare-digits-plot-phone")).to_be_hidden()  # a phone's, drawn narrow
    shot(page, "compare", tmp_path)

    open_tab(page, "Generate")
    grid = image_source(page, "generate-output")
    page.get_by_label("tutorial").filter(visible=True).first.check()
    switched = wait_for_new_source(page, "generate-output", grid)
    assert "tutorial" in switched
    page.get_by_label("improved").filter(visible=True).first.check()
    wait_for_new_source(page, "generate-output", switched)


def test_a_digit_on_demand_and_the_latent_map(page, tmp_path):
    open_tab(page, "Generate")
    page.get_by_text("A digit on demand").click()
    page.locator("#find-button").click()
    expect(page.locator("#find-output img").first).to_be_visible(timeout=15_000)
    expect(page.locator("#find-text")).to_contain_text("as a 7")

    open_tab(page, "Latent map")
    before = image_source(page, "map-output")
    page.get_by_label("size").filter(visible=True).last.fill("4")
    page.get_by_label("size").filter(visible=True).last.press("Enter")
    page.locator("#map-button").click()
    after = wait_for_new_source(page, "map-output", before)
    colourfulness = lambda source: np.ptp(  # noqa: E731
        np.asarray(Image.open(io.BytesIO(fetched(page, source))).convert("RGB")).astype(int), axis=2
    ).mean()
    assert colourfulness(after) == 0 and pixels(page, after).shape[0] == (4 * 30 + 2) * 3  # four rows now
    page.locator("#tint-box input").check()
    tinted = wait_for_new_source(page, "map-output", after)
    assert colourfulness(tinted) > 20  # in colour now
    shot(page, "latent-map", tmp_path)
    page.locator("#tint-box input").uncheck()  # the page is shared with the other tests
    wait_for_new_source(page, "map-output", tinted)


def test_captions_under_each_digit(page, tmp_path):
    open_tab(page, "Generate")
    before = image_source(page, "generate-output")
    page.locator("#captions-box input").check()
    after = wait_for_new_source(page, "generate-output", before)
    plain, captioned = pixels(page, before), pixels(page, after)
    assert captioned.shape[1] == plain.shape[1] and captioned.shape[0] > plain.shape[0]  # a caption row
    shot(page, "captions", tmp_path)
    page.locator("#captions-box input").uncheck()  # the page is shared with the other tests
    wait_for_new_source(page, "generate-output", after)


def test_every_control_redraws_as_it_changes_and_examples_run_their_example(page, app_url):
    # One rule on every tab: no button to press for what takes a moment. A page of its own, as it
    # leaves its controls changed.
    page = open_app_page(page.context.browser, app_url)
    open_tab(page, "Generate")
    before = image_source(page, "generate-output")
    page.get_by_label("seed", exact=True).filter(visible=True).first.fill("1234")
    typed = wait_for_new_source(page, "generate-output", before)
    page.locator("#generate-examples").get_by_text("2024").click()  # the example of 64 digits
    example = wait_for_new_source(page, "generate-output", typed)
    assert pixels(page, example).shape[0] > pixels(page, typed).shape[0]  # 8 rows, not 2

    open_tab(page, ANSWER)
    before = {name: image_source(page, f"compare-{name}") for name in ("improved", "tutorial")}
    page.locator("#compare-seed input").fill("99")
    for name in before:
        wait_for_new_source(page, f"compare-{name}", before[name])

    open_tab(page, "Latent map")
    before = image_source(page, "map-output")
    page.get_by_label("seed A (top left)").fill("5")
    wait_for_new_source(page, "map-output", before)
    page.close()


def test_a_shared_link_opens_its_view_with_its_numbers(page, app_url):
    from gradio_client import Client

    expected = Client(app_url, verbose=False).predict(3, 8, 0.25, "slerp", api_name="/interpolate")
    linked = open_app_page(page.context.browser, f"{app_url}?view=interpolate&seed_a=3&seed_b=8&t=0.25")
    expect(linked.locator("#t-slider input[type=range]")).to_have_value("0.25")
    expect(linked.get_by_label("seed A", exact=True)).to_have_value("3")
    # The digit drawn is the link's (t = 0.25 between 3 and 8), not the page's default (1, 2, 0.5).
    drawn = np.asarray(Image.open(expected).convert("L"))
    shows_the_link = lambda: np.array_equal(pixels(linked, image_source(linked, "interpolate-output")), drawn)  # noqa: E731
    for _ in range(60):
        if shows_the_link():
            break
        linked.wait_for_timeout(250)
    assert shows_the_link(), image_source(linked, "interpolate-output")
    linked.close()

    # "seed 42, digit 3": the Nearest images tab, its seed and index set.
    linked = open_app_page(page.context.browser, f"{app_url}?view=nearest&seed=42&index=3")
    expect(linked.locator("#nearest-seed input")).to_have_value("42")
    expect(linked.locator("#nearest-button")).to_be_visible()
    linked.close()

    # A bad number is named, and the page keeps its default for it.
    linked = open_app_page(page.context.browser, f"{app_url}?view=generate&seed=-5&count=8")
    expect(linked.get_by_text("seed must be between 0 and 2147483647, got -5").first).to_be_visible(
        timeout=30_000
    )
    expect(linked.get_by_label("seed", exact=True).filter(visible=True).first).to_have_value("42")
    linked.close()

    # A link is anyone's to write: the values it echoes are shown as text, never as HTML (a link
    # or a picture there would be the writer's, inside the app's own toast).
    for query in ("view=nearest&model=%3Ca%20href%3D%2F%2Fe.vil%3Elog%20in%3C%2Fa%3E",
                  "view=%3Cimg%20src%3D%2F%2F127.0.0.1%3A9%2Fx%3E%3Cb%3EX%3C%2Fb%3E"):  # fmt: skip
        linked = open_app_page(page.context.browser, f"{app_url}?{query}")
        # The toast comes with the page's load event, which waits its turn in the queue under load.
        expect(
            linked.get_by_text(re.compile(r"This link's (model must be one of|view)")).first
        ).to_be_visible(timeout=30_000)
        expect(linked.get_by_text(re.compile(r"<(a href|img src)=")).first).to_be_visible()
        assert linked.locator(".toast-body a, .toast-body img, .toast-body b").count() == 0
        linked.close()


@pytest.mark.parametrize("lines", ["", "captions", "captions and D"])
def test_a_click_on_a_digit_shows_it_with_the_classifiers_reading_and_a_link_to_its_neighbours(
    page, app_url, lines
):
    from tests.test_app_api import classifier_reading

    fresh = open_app_page(page.context.browser, app_url)  # seed 42 and 16 digits, whatever ran before
    open_tab(fresh, "Generate")
    grid = fresh.locator("#generate-output img").first
    if lines:
        fresh.locator("#captions-box input").check()
        expect(grid).to_have_attribute("src", re.compile("captioned"), timeout=15_000)
    if lines == "captions and D":
        fresh.locator("#d-scores-box input").check()
        expect(grid).to_have_attribute("src", re.compile("captioned_d"), timeout=15_000)
    # the captions under each row of 120-px cells: a line of 32-px text, and 36 px more for D's line
    band = {"": 0, "captions": CAPTION_SIZE + 7, "captions and D": CAPTION_SIZE + 7 + CAPTION_SIZE + 4}[lines]
    index = 9  # second row, second column: a caption band above it must not shift the click
    click_picture_at(grid, 8 + 1 * 120 + 56, 8 + 1 * (120 + band) + 56)
    labels, confidences = classifier_reading(seeded_noise(42, 16, 64))
    text = fresh.locator("#generate-digit-text")
    expect(text).to_contain_text(f"Digit {index} of seed 42 (improved)", timeout=15_000)
    expect(text).to_contain_text(caption(labels[index], confidences[index]))
    expect(text).to_contain_text(re.compile(r"The discriminator gives it \d\.\d{3}: it would call it"))
    expect(fresh.locator("#generate-digit-view img").first).to_be_visible()
    # Its link opens the app on its nearest training images, with its seed and index set.
    link = fresh.locator("#generate-digit-text a").first.get_attribute("href")
    assert link.endswith("?view=nearest&seed=42&index=9"), link
    fresh.goto(app_url + "?view=nearest&seed=42&index=9")
    expect(fresh.locator("#nearest-seed input")).to_have_value("42", timeout=30_000)
    fresh.close()


def click_picture_at(picture, x: float, y: float) -> None:
    """Click a served picture at pixel (x, y) of the picture itself, wherever the page draws it: once
    it is decoded and laid out (on a busy machine it may still be loading), at its drawn scale and
    place inside its element (object-fit keeps its proportions)."""
    natural_width, natural_height, width, height = picture.evaluate(
        "img => img.decode().then(() => [img.naturalWidth, img.naturalHeight, img.clientWidth, "
        "img.clientHeight])"
    )
    shown = min(width / natural_width, height / natural_height)
    left, top = (width - natural_width * shown) / 2, (height - natural_height * shown) / 2
    picture.click(position={"x": left + x * shown, "y": top + y * shown})


def test_a_click_on_the_answers_grids_and_on_the_latent_map_opens_the_digit_panel(page, app_url):
    from tests.test_app_api import classifier_reading

    fresh = open_app_page(page.context.browser, app_url)
    # The answer's tutorial grid (seed 7, 16 digits): its digit 0, with its nearest training images,
    # a morph from it into digit 1 and its place in a latent map, all in the tutorial's model.
    click_picture_at(fresh.locator("#compare-tutorial img").first, 8 + 56, 8 + 56)
    text = fresh.locator("#compare-digit-text")
    expect(text).to_contain_text("Digit 0 of seed 7 (tutorial)", timeout=15_000)
    expect(text).to_contain_text(re.compile(r"The discriminator gives it \d\.\d{3}"))
    links = [link.get_attribute("href") for link in text.locator("a").all()]
    assert links == ["?view=nearest&seed=7&index=0&model=tutorial",
                     "?view=interpolate&seed_a=7&seed_b=7&index_b=1&t=0&model=tutorial",
                     "?view=latent-map&seed_a=7&seed_b=7&index_b=1&seed_c=7&index_c=2&seed_d=7&index_d=3"
                     "&model=tutorial"], links  # fmt: skip
    # The improved grid's digit 10: the improved model's reading, and the same links from digit 10.
    click_picture_at(fresh.locator("#compare-improved img").first, 8 + 2 * 120 + 56, 8 + 120 + 56)
    labels, confidences = classifier_reading(seeded_noise(7, 16, 64))
    expect(text).to_contain_text("Digit 10 of seed 7 (improved)", timeout=15_000)
    expect(text).to_contain_text(caption(labels[10], confidences[10]))
    morph, place = (link.get_attribute("href") for link in text.locator("a").all()[1:])
    assert morph == "?view=interpolate&seed_a=7&index_a=10&seed_b=7&index_b=11&t=0", morph
    # The latent map (8 x 8 cells of 90 px): row 1, column 3 is Interpolate's t = 2/7 from A to B.
    open_tab(fresh, "Latent map")
    click_picture_at(fresh.locator("#map-output img").first, 6 + 2 * 90 + 42, 6 + 42)
    map_text = fresh.locator("#map-digit-text")
    expect(map_text).to_contain_text("Row 1, column 3 of the map (improved)", timeout=15_000)
    assert map_text.locator("a").get_attribute("href") == "?view=interpolate&seed_a=3&seed_b=4&t=0.2857"
    # A digit on demand (the sevens of seed 42): its first, the classifier's surest seven.
    open_tab(fresh, "Generate")
    fresh.get_by_text("A digit on demand").first.click()
    fresh.locator("#find-button").click()
    expect(fresh.locator("#find-text")).to_contain_text("as a 7", timeout=15_000)
    click_picture_at(fresh.locator("#find-output img").first, 8 + 56, 8 + 56)
    found = fresh.locator("#find-digit-text")
    expect(found).to_contain_text(
        re.compile(r"Draw \d+ of the 1024 from seed 42 \(improved\)"), timeout=15_000
    )
    expect(found).to_contain_text("reads 7 · ")
    # Digit 10's morph: Interpolate opens on it at t = 0, and its place: the map opens with it at the
    # top left corner, each drawn for the link.
    fresh.goto(app_url + morph)
    expect(fresh.get_by_label("digit of seed A").filter(visible=True).first).to_have_value(
        "10", timeout=30_000
    )
    expect(fresh.locator("#interpolate-output img").first).to_have_attribute(
        "src", re.compile(r"7\.10-to-7\.11_slerp_t0\.00")
    )
    fresh.goto(app_url + place)
    expect(fresh.get_by_label("seed A (top left)").filter(visible=True).first).to_have_value(
        "7", timeout=30_000
    )
    expect(fresh.locator("#map-output img").first).to_have_attribute(
        "src", re.compile(r"map_7\.10-7\.11-7\.12-7\.13_8")
    )
    # A link that names the tutorial's model opens Nearest images on it.
    fresh.goto(app_url + "?view=nearest&seed=7&index=0&model=tutorial")
    expect(fresh.locator("#nearest-seed input")).to_have_value("7", timeout=30_000)
    expect(fresh.get_by_role("radio", name="tutorial").filter(visible=True).first).to_be_checked()
    fresh.close()
