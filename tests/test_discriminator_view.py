"""The discriminator's view: each bundled run's D, read from its run folder, D's score of a digit
(/d_score, the D line of /generate, the click on a digit), "Be the discriminator" (/game_round,
/game_reveal) and training one step at a time (/train_steps), over HTTP and in Chromium, on an app
with the tiny MNIST the tests write. The expected scores come from the run's files, read here with
safetensors and the models alone."""

from __future__ import annotations

import re
import shutil
import time

import httpx
import numpy as np
import pytest
import torch
from gradio_client import Client
from PIL import Image
from playwright.sync_api import expect, sync_playwright
from safetensors.torch import load_file, save_file

from gan_core.data import read_mnist_idx
from gan_core.demo.steps import MAX_STEPS
from gan_core.latent import seeded_noise
from gan_core.models import Discriminator, Generator
from tests.helpers import ROOT, app_in_process, launch_chromium, open_app_page, run_in_process, train_args
from ui.sections import GAME
from ui.tabs.steps import PLAY_EVERY, PLAY_STRIDE

CELL = 4 * 30  # a digit's cell in the app's grids: 28 px and 2 px of padding, drawn 4 times over
BAND = 32 + 7  # one caption line under a row (32-px captions), and each further line 32 + 4 more
LINE = 32 + 4
BLUE, ORANGE = (31, 119, 180), (255, 127, 14)  # right and wrong, as the reveal frames them


def bundled(folder, network):
    """A bundled run's generator or discriminator in float64, from its safetensors file alone."""
    name = "model.safetensors" if network is Generator else "discriminator.safetensors"
    model = network(64, 256) if network is Generator else network(256)
    model.load_state_dict(load_file(str(folder / name)))
    return model.double().eval()


def expected_score(folder, seed: int, index: int) -> float:
    with torch.inference_mode():
        digit = bundled(folder, Generator)(seeded_noise(seed, index + 1, 64).double())[index]
        return float(bundled(folder, Discriminator)(digit[None])[0, 0])


@pytest.fixture(scope="module")
def game_app(tiny_data):
    with app_in_process({"MNIST_DIR": str(tiny_data)}) as url:
        client = Client(url, verbose=False)
        deadline = time.monotonic() + 300
        while True:  # the real digits come with the index, built once the app serves
            try:
                client.predict(round_number=0, api_name="/game_round")
                break
            except Exception as error:
                if "still being built" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield url, client


def test_each_bundled_run_carries_its_discriminator():
    for folder in (ROOT / "weights", ROOT / "weights" / "tutorial"):
        assert (folder / "discriminator.safetensors").stat().st_size < 2_000_000  # about 1 MB
        bundled(folder, Discriminator)  # strictly: every tensor there, of its shape


@pytest.mark.parametrize("model", ["improved", "tutorial"])
def test_d_score_is_the_runs_discriminator_on_that_very_digit(game_app, model):
    _, client = game_app
    folder = ROOT / "weights" / ("tutorial" if model == "tutorial" else "")
    for seed, index in [(42, 3), (7, 0), (2024, 63)]:
        answer = client.predict(seed=seed, index=index, model=model, api_name="/d_score")
        expected = expected_score(folder, seed, index)
        assert answer["d_score"] == pytest.approx(expected, abs=6e-5)
        assert answer["d_call"] == ("real" if expected >= 0.5 else "generated")
        assert f"{expected:.3f}" in answer["meaning"]
        # A score within 0.05 of 0.5 is said to be a guess, and only such a score.
        assert ("only just" in answer["meaning"]) == (abs(expected - 0.5) < 0.05), answer
    with pytest.raises(Exception, match="index must be between 0 and 63, got 64"):
        client.predict(seed=1, index=64, api_name="/d_score")


def test_generate_writes_d_scores_as_a_line_under_each_digit(game_app):
    _, client = game_app
    plain = np.asarray(Image.open(client.predict(seed=5, count=10, api_name="/generate")))
    for captions, d_scores, lines in [(False, True, 1), (True, True, 2)]:
        path = client.predict(seed=5, count=10, captions=captions, d_scores=d_scores, api_name="/generate")
        picture = np.asarray(Image.open(path))
        band = BAND + (lines - 1) * LINE
        assert picture.shape == (2 * (CELL + band) + 8, plain.shape[1])  # two rows, a band under each
        # The digits are Generate's own, not a pixel covered; under each, its line(s) of text.
        assert np.array_equal(picture[:CELL], plain[:CELL])
        assert np.array_equal(picture[CELL + band : 2 * CELL + band], plain[CELL : 2 * CELL])
        assert (picture[CELL : CELL + band, 8 : CELL - 8] > 128).any()
    assert "_d.png" in client.predict(seed=5, count=2, d_scores=True, api_name="/generate")
    with pytest.raises(Exception, match="d_scores must be true or false, got 'yes'"):
        client.predict(seed=5, count=2, d_scores="yes", api_name="/generate")


@pytest.fixture(scope="module")
def tiny_run(tiny_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny-run") / "run"
    done = run_in_process(*train_args(tiny_data, out, "--epochs", 1, "--batch-size", 50))
    assert done.returncode == 0, done.stderr
    return out


def test_a_run_served_from_its_folder_has_its_d_and_one_without_says_why(tiny_run, tmp_path):
    from gan_core.demo.critic import FROM_THE_HUB, load_critic

    # The critic scores as the training left D (its state in training_state.pt, read on its own).
    state = torch.load(tiny_run / "training_state.pt", weights_only=True)["discriminator"]
    trained = Discriminator(256)
    trained.load_state_dict(state)
    images = torch.rand(5, 784) * 2 - 1
    with torch.inference_mode():
        expected = trained.double()(images.double())[:, 0]
    assert torch.allclose(load_critic(tiny_run).scores(images), expected, atol=1e-12)
    # Without it, damaged or foreign: the reason, and the generator is served all the same.
    cases = {
        "missing": (None, "has no discriminator.safetensors"),
        "damaged": (b"not a safetensors file", "cannot be read .*not a readable safetensors file"),
        "foreign": ("generator", r"cannot be read .*does not match .*config\.json"),
    }
    for name, (content, reason) in cases.items():
        folder = tmp_path / name
        shutil.copytree(tiny_run, folder)
        (folder / "discriminator.safetensors").unlink()
        if isinstance(content, bytes):
            (folder / "discriminator.safetensors").write_bytes(content)
        elif content == "generator":
            save_file(load_file(str(folder / "model.safetensors")), str(folder / "discriminator.safetensors"))
        critic = load_critic(folder)
        assert not critic.available and re.search(reason, critic.missing), (name, critic.missing)
        with pytest.raises(ValueError, match="D's scores are not available"):
            critic.scores(images)
    assert load_critic(tiny_run, from_hub=True).missing == FROM_THE_HUB
    # Served: the generator draws; D's scores, asked for, say why they are not there.
    with app_in_process({"MODEL_DIR": str(tmp_path / "missing")}) as url:
        client = Client(url, verbose=False)
        assert client.predict(seed=1, count=2, api_name="/generate")
        with pytest.raises(Exception, match="D's scores of the improved model are not available: this run"):
            client.predict(seed=1, index=0, api_name="/d_score")
        with pytest.raises(Exception, match="has no discriminator.safetensors"):
            client.predict(seed=1, count=2, d_scores=True, api_name="/generate")
        assert client.predict(seed=1, index=0, model="tutorial", api_name="/d_score")["d_score"] > 0


def round_digits(path) -> np.ndarray:
    """The 8 digits of a round's picture (two rows of four, a caption band under each row), 28x28."""
    picture = np.asarray(Image.open(path).convert("L"))
    digits = []
    for index in range(8):
        top, left = 8 + (index // 4) * (CELL + BAND), 8 + (index % 4) * CELL
        digits.append(picture[top : top + 112 : 4, left : left + 112 : 4])
    return np.stack(digits)


def test_a_round_mixes_real_test_digits_with_generated_ones_and_the_reveal_tells_them_apart(
    game_app, tiny_data
):
    _, client = game_app
    test_images = read_mnist_idx(tiny_data, train=False)[0].numpy().reshape(-1, 28, 28)
    counts = set()
    for number in (3, 4, 5, 6, 7, 8):
        path, prompt = client.predict(round_number=number, api_name="/game_round")
        again, _ = client.predict(round_number=number, api_name="/game_round")
        assert open(path, "rb").read() == open(again, "rb").read()  # a round is its number's
        assert f"Round {number}" in prompt and f"?view=game&round={number}" in prompt
        # Which are real, found here: a digit is real when it is one of the test images, pixel for pixel.
        real = [bool((test_images == digit).all(axis=(1, 2)).any()) for digit in round_digits(path)]
        counts.add(sum(real))
        called = ["1", "2", "5"]
        revealed, tally, table = client.predict(
            round_number=number, real_ones=called, api_name="/game_reveal"
        )
        rows = table["data"]
        assert [row[1] == "real" for row in rows] == real
        assert [row[2] for row in rows] == ["real" if str(i) in called else "fake" for i in range(1, 9)]
        # D calls a digit real from a score of 0.5 (the table's score is rounded to 3 decimals, as shown).
        assert all(
            row[4] == ("real" if row[3] >= 0.5 else "fake") for row in rows if abs(row[3] - 0.5) > 1e-3
        )
        yours = sum(row[1] == row[2] for row in rows)
        ds = sum(row[1] == row[4] for row in rows)
        assert f"You: {yours} of 8 right. D: {ds} of 8" in tally
        # The floor a visitor's score is to be read against: calling every digit fake, or every one real.
        assert (
            f"calling every digit fake would have scored {8 - sum(real)}, and every digit real {sum(real)}"
            in tally
        )
        # Each digit framed blue where the call was right, orange where wrong.
        picture = np.asarray(Image.open(revealed).convert("RGB"))
        for index, row in enumerate(rows):
            top, left = 8 + (index // 4) * (CELL + BAND + LINE), 8 + (index % 4) * CELL
            frame = tuple(picture[top + 50, left - 3])
            assert frame == (BLUE if row[1] == row[2] else ORANGE), (number, index)
    assert counts <= set(range(2, 7)) and len(counts) > 1  # 2 to 6 real, not always the same
    # The generated digits are not /generate(seed=round)'s, which would give the answers away.
    grid = np.asarray(Image.open(client.predict(seed=8, count=8, api_name="/generate")).convert("L"))
    first_digits = [grid[8 + 0 : 8 + 112 : 4, 8 + i * CELL : 8 + i * CELL + 112 : 4] for i in range(8)]
    assert not any((digit == shown).all() for digit in first_digits for shown in round_digits(path))


@pytest.mark.parametrize(
    "calls, message",
    [
        (["9"], "real_ones holds '9': each must be a digit's number, 1 to 8"),
        (["1", 1], "real_ones names digit 1 twice"),
        ("1,2", "real_ones must be a list of the digits called real, 1 to 8, got '1,2'"),
        ([True], "real_ones holds True"),
    ],
)
def test_a_reveal_with_bad_calls_says_what_is_wrong(game_app, calls, message):
    _, client = game_app
    with pytest.raises(Exception, match=message):
        client.predict(round_number=1, real_ones=calls, api_name="/game_reveal")


def test_without_mnist_the_game_says_what_it_needs(app_url):
    client = Client(app_url, verbose=False)
    with pytest.raises(Exception, match="The real digits are MNIST's test images. This needs the MNIST"):
        client.predict(round_number=1, api_name="/game_round")
    config = httpx.get(f"{app_url}config").json()
    buttons = {c["props"].get("elem_id"): c["props"] for c in config["components"] if c["type"] == "button"}
    assert not buttons["game-reveal"]["interactive"] and not buttons["game-new"]["interactive"]


def test_reveal_waits_for_a_round_on_screen(game_app):
    url, _ = game_app
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        # Opened by its tab, not by a link (a link's round is drawn for it): nothing on screen yet.
        page = open_app_page(browser, url, width=1280, height=900)
        page.get_by_role("tab", name=GAME, exact=True).click()
        expect(page.locator("#game-prompt")).to_contain_text("Press New round")
        expect(page.locator("#game-reveal")).to_be_disabled()  # round 1 is in the box, not on screen
        page.locator("#game-new").click()
        expect(page.locator("#game-digits img").first).to_be_visible(timeout=30_000)
        expect(page.locator("#game-reveal")).to_be_enabled()
        browser.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_a_round_played_in_chromium(game_app, width, tmp_path):
    url, _ = game_app
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = open_app_page(browser, url + "?view=game&round=11", width=width, height=900)
        digits = page.locator("#game-digits img").first
        expect(digits).to_be_visible(timeout=30_000)
        expect(page.locator("#game-prompt")).to_contain_text("Round 11")
        for number in ("2", "7"):
            page.locator("#game-calls").get_by_label(number, exact=True).check()
        page.locator("#game-reveal").click()
        expect(page.locator("#game-tally")).to_contain_text(re.compile(r"You: \d of 8 right\. D: \d of 8"),
                                                             timeout=15_000)  # fmt: skip
        revealed = page.locator("#game-revealed img").first
        expect(revealed).to_be_in_viewport(timeout=15_000)  # the answer is brought into view
        assert revealed.evaluate("img => img.decode().then(() => img.clientWidth)") >= 300
        expect(page.locator("#game-table")).to_contain_text("you said")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # All five columns inside the table's box, at 390 px too; and no picture takes an upload or
        # has a clear button (the round's digits did: a press wiped the round from the screen).
        assert page.locator("#game-table").evaluate(
            "box => [...box.querySelectorAll('*')].every(part => part.scrollWidth <= part.clientWidth + 1)"
        )
        for picture in ("#game-digits", "#game-revealed"):
            expect(page.locator(f"{picture} input[type=file]")).to_have_count(0)
        expect(page.get_by_text("Drop Image Here")).to_have_count(0)
        expect(page.locator("#game-digits").get_by_role("button", name="Clear")).to_have_count(0)
        # A new round clears the calls and the answers of the last.
        source = digits.get_attribute("src")
        page.locator("#game-new").click()
        expect(digits).not_to_have_attribute("src", source, timeout=15_000)
        expect(page.locator("#game-calls input:checked")).to_have_count(0)
        expect(page.locator("#game-tally")).not_to_contain_text("You:")
        page.screenshot(path=str(tmp_path / f"game-{width}.png"), full_page=True)
        browser.close()


def test_one_step_at_a_time_is_a_function_of_recipe_seed_and_steps(game_app, tiny_data):
    from gan_core.demo.steps import Stepper

    _, client = game_app
    picture, line, numbers = client.predict(recipe="tutorial", seed=3, steps=5, api_name="/train_steps")
    again = client.predict(recipe="tutorial", seed=3, steps=5, api_name="/train_steps")
    assert open(picture, "rb").read() == open(again[0], "rb").read() and numbers == again[2]
    assert line.startswith("**Step 5** (tutorial, seed 3). On its batch: D(x) = ")
    # One more step, from the run the app kept, is the run replayed from the start to step 6 (the
    # same process, so the same arithmetic): the cache changes the cost, not the answer.
    stepped = client.predict(recipe="tutorial", seed=3, steps=6, api_name="/train_steps")[2]
    images = read_mnist_idx(tiny_data)[0]
    replayed = Stepper(lambda: images).view("tutorial", 3, 6)
    assert stepped["real_scores"] == [round(score, 4) for score in replayed.real_scores]
    assert stepped["fake_scores"] == [round(score, 4) for score in replayed.fake_scores]
    assert stepped["last_step"] == {name: round(value, 4) for name, value in replayed.last_step.items()}
    # Step 0 is the networks as initialised: nothing learned yet, every score near a coin toss.
    start = client.predict(recipe="tutorial", seed=3, steps=0, api_name="/train_steps")[2]
    assert start["last_step"] is None and all(
        0.3 < s < 0.7 for s in start["real_scores"] + start["fake_scores"]
    )
    # The tutorial's D pulls the rows apart within a few dozen steps: real up, generated down.
    later = client.predict(recipe="tutorial", seed=3, steps=40, api_name="/train_steps")[2]
    assert min(later["real_scores"]) > max(later["fake_scores"])
    refusals = [({"steps": 501}, "steps must be between 0 and 500, got 501"),
                ({"recipe": "fast"}, "recipe must be one of tutorial, improved, got 'fast'")]  # fmt: skip
    for bad, message in refusals:
        with pytest.raises(Exception, match=message):
            client.predict(**{"recipe": "tutorial", "seed": 0, "steps": 1, **bad}, api_name="/train_steps")


def test_a_visitor_may_have_two_stepping_calls_waiting_or_running_not_more(game_app):
    url, _ = game_app
    client = Client(url, verbose=False)
    # Replays of 200 steps from the start, on seeds no run has used: about a second each, one at a
    # time, while the three calls reach the queue within milliseconds of each other.
    jobs = [
        client.submit(recipe="tutorial", seed=9000 + n, steps=200, api_name="/train_steps") for n in range(3)
    ]
    outcomes = []
    for job in jobs:
        try:
            outcomes.append(job.result()[2]["steps"])
        except Exception as error:
            outcomes.append(str(error))
    # Whichever of the three reached the queue last (submit() sends them from threads) is refused.
    assert outcomes.count(200) == 2, outcomes
    (refused,) = [outcome for outcome in outcomes if outcome != 200]
    assert "You already have 2 of these waiting or running" in refused, outcomes
    assert client.predict(recipe="tutorial", seed=0, steps=1, api_name="/train_steps")[2]["steps"] == 1


def test_stepping_in_chromium(game_app):
    from tests.test_browser import open_tab

    url, _ = game_app
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = open_app_page(browser, url, width=390, height=844)
        open_tab(page, "Live training")
        page.locator("#steps").get_by_text("One step at a time").first.click()
        status = page.locator("#steps-status")
        for expected in ("Step 1 (tutorial, seed 0)", "Step 2 (tutorial, seed 0)"):
            page.locator("#steps-one").click()
            expect(status).to_contain_text(expected, timeout=15_000)
        expect(page.locator("#steps-count input")).to_have_value("2")
        expect(page.locator("#steps-picture img").first).to_be_in_viewport(timeout=15_000)
        page.locator("#steps-ten").click()
        expect(status).to_contain_text("Step 12 (tutorial", timeout=15_000)
        page.locator("#steps-restart").click()
        expect(status).to_contain_text(
            "Step 0 (tutorial, seed 0): the networks as initialised", timeout=15_000
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        play_and_pause(page, status)
        browser.close()


def play_and_pause(page, status) -> None:
    """Play steps on by itself from the steps shown, Pause stops it where it is (the count, the status
    and the picture agree), and Play stops by itself at the last step."""
    play, pause, count = (
        page.locator("#steps-play"),
        page.locator("#steps-pause"),
        page.locator("#steps-count input"),
    )
    expect(pause).to_be_disabled()
    start = int(count.input_value() or 0)
    play.click()
    expect(pause).to_be_enabled(timeout=15_000)
    expect(play).to_be_disabled()
    page.wait_for_function(  # two ticks or more
        "([selector, least]) => Number(document.querySelector(selector).value) >= least",
        arg=["#steps-count input", start + 2 * PLAY_STRIDE],
        timeout=30_000,
    )
    pause.click()
    expect(play).to_be_enabled(timeout=15_000)
    expect(pause).to_be_disabled()
    paused_at = int(count.input_value())
    expect(status).to_contain_text(f"Step {paused_at} (tutorial, seed 0)", timeout=15_000)
    time.sleep(3 * PLAY_EVERY)  # three ticks' time: a timer still on, or a tick landing late, moves it
    assert int(count.input_value()) == paused_at
    expect(status).to_contain_text(f"Step {paused_at} (tutorial, seed 0)")
    page.locator("#steps-one").click()
    expect(status).to_contain_text(f"Step {paused_at + 1} (tutorial, seed 0)", timeout=15_000)
    # From 495, Play ends at the last step, 500, and turns itself off.
    count.fill(str(MAX_STEPS - 5))
    count.press("Enter")
    expect(status).to_contain_text(f"Step {MAX_STEPS - 5} (tutorial", timeout=30_000)
    play.click()
    expect(status).to_contain_text(f"The stepped run ends here, at step {MAX_STEPS}", timeout=30_000)
    expect(count).to_have_value(str(MAX_STEPS))
    expect(play).to_be_enabled()
    expect(pause).to_be_disabled()
