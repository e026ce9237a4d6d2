"""The app over real HTTP, as gradio_client users call it."""

import json
import math
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
import torch
from gradio_client import Client
from PIL import Image

from gan_core.hub.pull import load_generator
from gan_core.images import to_uint8_digits
from gan_core.latent import seeded_noise, slerp
from tests.helpers import ROOT
from ui.links import VIEWS
from ui.sections import LAYOUT

ENDPOINTS = {
    "/generate": ["seed", "count", "model", "captions", "d_scores"],
    "/d_score": ["seed", "index", "model"],
    "/interpolate": ["seed_a", "seed_b", "t", "method", "model", "index_a", "index_b"],
    "/interpolation_strip": ["seed_a", "seed_b", "frames", "method", "model", "index_a", "index_b"],
    "/find_digit": ["digit", "count", "seed", "model"],
    "/latent_grid": [
        "seed_a",
        "seed_b",
        "seed_c",
        "seed_d",
        "size",
        "model",
        "tint",
        "index_a",
        "index_b",
        "index_c",
        "index_d",
    ],  # fmt: skip
    "/compare": ["seed", "count"],
    "/training_scores": [],
    "/training_film": [],
    "/nearest": ["seed", "index", "k", "model"],
    "/nearest_frame": ["seed_a", "seed_b", "t", "method", "k", "model", "index_a", "index_b"],
    "/train_live": ["recipe", "seconds", "seed", "lr", "batch_size"],
    "/race": ["seconds", "seed"],
    "/game_round": ["round_number", "model"],
    "/game_reveal": ["round_number", "real_ones", "model"],
    "/train_steps": ["recipe", "seed", "steps"],
}


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_the_page_has_the_tabs_of_its_layout_each_with_the_id_its_links_name(app_url):
    config = httpx.get(f"{app_url}config").json()
    tabs = [(c["props"]["label"], c["props"]["id"]) for c in config["components"] if c["type"] == "tabitem"]
    expected = [tab for section, inner in LAYOUT.items() for tab in (section, *inner)]
    assert tabs == expected  # in the page's order: each section, then the tabs inside it
    assert len(VIEWS) == len(tabs) - sum(1 for inner in LAYOUT.values() if inner)  # a view per tab
    assert {key for _, key in tabs} == set(VIEWS) | {key for (_, key), inner in LAYOUT.items() if inner}


def test_view_api_lists_exactly_the_endpoints_with_their_parameter_names(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {
        name: [p["parameter_name"] for p in info["parameters"]] for name, info in endpoints.items()
    } == ENDPOINTS
    assert client.view_api(return_format="dict", print_info=False)["unnamed_endpoints"] == {}
    # The model and the digits of the seeds are optional, so calls written before they existed keep working.
    for name in ("/generate", "/interpolate", "/interpolation_strip"):
        (model,) = [p for p in endpoints[name]["parameters"] if p["parameter_name"] == "model"]
        assert model["parameter_has_default"] and model["parameter_default"] == "improved"
    for name in ("/interpolate", "/interpolation_strip", "/nearest_frame", "/latent_grid"):
        indices = [p for p in endpoints[name]["parameters"] if p["parameter_name"].startswith("index_")]
        assert indices and all(p["parameter_has_default"] and p["parameter_default"] == 0 for p in indices)


def test_every_output_has_a_name_that_says_what_it_is(client):
    # gradio_client names an output by its component's label; one without a label is "value_23".
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    names = {name: [r["label"] for r in info["returns"]] for name, info in endpoints.items()}
    assert not [(name, label) for name, labels in names.items() for label in labels
                if not label or re.fullmatch(r"value_\d+", label)], names  # fmt: skip
    assert names["/train_live"] == ["G(fixed noise)", "scores so far", "status", "numbers"]


def test_the_api_is_typed_and_described_and_served_over_mcp(client, app_url):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    types = {name: [p["python_type"]["type"] for p in info["parameters"]] for name, info in endpoints.items()}
    assert types["/generate"] == ["int", "int", "Literal['improved', 'tutorial']", "bool", "bool"]
    assert types["/d_score"] == ["int", "int", "str"]
    assert types["/latent_grid"][6:] == ["bool", "int", "int", "int", "int"]
    assert types["/interpolation_strip"][:3] == ["int", "int", "int"] and types["/compare"] == ["int", "int"]
    assert types["/interpolate"][:3] == ["int", "int", "float"]
    assert all(info.get("description") for info in endpoints.values())
    tools = {tool["name"]: tool for tool in httpx.get(f"{app_url}gradio_api/mcp/schema").json()}
    assert {"generate", "interpolate", "interpolation_strip", "training_scores"} <= set(tools)
    seed = tools["generate"]["inputSchema"]["properties"]["seed"]
    assert seed["type"] == "integer" and "0 to 2147483647" in seed["description"]


def test_each_endpoints_parameters_are_described_in_one_line_each():
    """Gradio reads a parameter's description from the docstring's Args line and drops the lines
    under it: a description carried over to a second line reached view_api and MCP cut short."""
    import ast
    import inspect

    for path in sorted((ROOT / "ui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            docstring = ast.get_docstring(node) if isinstance(node, ast.FunctionDef) else None
            if not docstring or "\nArgs:\n" not in inspect.cleandoc(docstring):
                continue
            args = inspect.cleandoc(docstring).split("\nArgs:\n")[1].split("\n\n")[0].splitlines()
            carried = [line for line in args if line.startswith("        ")]  # deeper than "    name: ..."
            assert not carried, f"{path.name}:{node.name} describes a parameter over two lines: {carried}"


def test_generate_returns_a_crisp_grid_and_the_same_seed_the_same_bytes(client):
    first = client.predict(seed=1234, count=16, api_name="/generate")
    again = client.predict(seed=1234, count=16, api_name="/generate")
    other = client.predict(seed=1235, count=16, api_name="/generate")
    assert read(first) == read(again) != read(other)
    image = Image.open(first)
    assert image.format == "PNG" and image.size == ((8 * 30 + 2) * 4, (2 * 30 + 2) * 4)
    assert len(np.unique(np.asarray(image))) > 10  # not blank


def test_interpolation_ends_are_the_seeds_own_digits(client):
    start = client.predict(seed_a=5, seed_b=9, t=0, method="slerp", api_name="/interpolate")
    end = client.predict(seed_a=5, seed_b=9, t=1, method="slerp", api_name="/interpolate")
    a_alone = client.predict(seed_a=5, seed_b=5, t=0.5, method="lerp", api_name="/interpolate")
    b_alone = client.predict(seed_a=9, seed_b=9, t=0.5, method="slerp", api_name="/interpolate")
    middle = client.predict(seed_a=5, seed_b=9, t=0.5, method="slerp", api_name="/interpolate")
    assert read(start) == read(a_alone) and read(end) == read(b_alone)
    assert read(middle) not in (read(start), read(end))


def test_a_path_may_start_and_end_at_any_digit_of_a_seeds_grid(client):
    # Digits 3 and 4 of seed 42's Generate grid: the path's ends, in the single digit and the strip.
    grid = grid_cells(client.predict(seed=42, count=8, api_name="/generate"), 4, 8, 8)
    ends = dict(seed_a=42, seed_b=42, index_a=3, index_b=4, method="slerp")
    for t, cell in ((0, 3), (1, 4)):
        single = client.predict(**ends, t=t, api_name="/interpolate")
        assert np.array_equal(grid_cells(single, 12, 1, 1, padding=0)[0], grid[cell])
    strip, _ = client.predict(**ends, frames=4, api_name="/interpolation_strip")
    frames = grid_cells(strip, 3, 4, 4)
    assert np.array_equal(frames[0], grid[3]) and np.array_equal(frames[-1], grid[4])
    noise = seeded_noise(42, 5, GENERATOR.latent_size)
    assert_same_digits(frames[1:2], expected_digits(slerp(noise[3:4], noise[4:5], 1 / 3)))
    # A map's corners: the digits each names, here digits 3, 4 and 5 of seed 42 and seed 9's first.
    corners = dict(seed_a=42, seed_b=42, seed_c=42, seed_d=9, index_a=3, index_b=4, index_c=5)
    path = client.predict(**corners, size=3, api_name="/latent_grid")
    cells = grid_cells(path, scale=3, count=9, columns=3)
    for cell, expected in zip((cells[0], cells[2], cells[6]), (grid[3], grid[4], grid[5]), strict=True):
        assert np.array_equal(cell, expected)
    assert_same_digits(cells[8][None], expected_digits(seeded_noise(9, 1, 64)))
    assert path.rsplit("/", 1)[-1] == "mnist-gan_map_42.3-42.4-42.5-9_3.png"
    assert strip.rsplit("/", 1)[-1] == "mnist-gan_42.3-to-42.4_slerp_4.png"


def test_interpolation_strip_gives_frames_in_a_row_and_a_gif(client):
    strip, gif = client.predict(seed_a=5, seed_b=9, frames=6, method="lerp", api_name="/interpolation_strip")
    assert Image.open(strip).size == ((6 * 30 + 2) * 3, 32 * 3)
    animation = Image.open(gif)
    assert animation.format == "GIF" and animation.n_frames == 6 + 4  # forward, then back


def test_training_scores_is_the_per_epoch_table(client):
    table = client.predict(api_name="/training_scores")
    assert table["headers"] == [
        "epoch",
        "D loss",
        "G loss",
        "D(x)",
        "D(G(z))",
        "seconds",
        "MNIST-FD",
        "IS",
        "KL to uniform",
        "confidence",
    ]
    history = json.load(open("weights/history.json"))
    assert len(table["data"]) == len(history["epochs"])
    assert table["data"][-1][3] == round(history["epochs"][-1]["d_x"], 4)
    evaluated = [row for row in history["epochs"] if "quality" in row]
    for row in evaluated:  # the quality columns carry the figures of the evaluated epochs
        assert table["data"][row["epoch"] - 1][6] == row["quality"]["mnist_fd"]


BAD_CALLS = [
    ("/generate", dict(seed=-1, count=4), "seed must be between 0 and 2147483647, got -1"),
    ("/generate", dict(seed=2**31, count=4), "seed must be between 0 and 2147483647"),
    ("/generate", dict(seed=1.5, count=4), "seed must be a whole number"),
    ("/generate", dict(seed="seven", count=4), "seed must be a whole number"),
    ("/generate", dict(seed=1, count=0), "count must be between 1 and 64, got 0"),
    ("/generate", dict(seed=1, count=10**6), "count must be between 1 and 64, got 1000000"),
    ("/interpolate", dict(seed_a=1, seed_b=-3, t=0.5, method="slerp"), "seed_b must be between"),
    ("/interpolate", dict(seed_a=1, seed_b=2, t=1.5, method="slerp"), "t must be between 0 and 1"),
    ("/interpolate", dict(seed_a=1, seed_b=2, t=0.5, method="cubic"), "method must be one of slerp, lerp"),
    (
        "/interpolate",
        dict(seed_a=1, seed_b=2, t=0.5, method="slerp", index_b=64),
        "index_b must be between 0 and 63, got 64",
    ),
    (
        "/latent_grid",
        dict(seed_a=1, seed_b=2, seed_c=3, seed_d=4, size=3, index_d=2.5),
        "index_d must be a whole number between 0 and 63, got 2.5",
    ),
    (
        "/generate",
        dict(seed=1, count=4, model="dcgan"),
        "model must be one of improved, tutorial, got 'dcgan'",
    ),
    (
        "/interpolate",
        dict(seed_a=1, seed_b=2, t=0.5, method="lerp", model=3),
        "model must be one of improved",
    ),
    ("/compare", dict(seed=-1, count=4), "seed must be between 0 and 2147483647, got -1"),
    ("/generate", dict(seed=1, count=4, captions="false"), "captions must be true or false, got 'false'"),
    (
        "/latent_grid",
        dict(seed_a=1, seed_b=2, seed_c=3, seed_d=4, size=3, tint=1),
        "tint must be true or false, got 1",
    ),
    (
        "/interpolation_strip",
        dict(seed_a=1, seed_b=2, frames=1, method="lerp"),
        "frames must be between 2 and 32",
    ),
    (
        "/interpolation_strip",
        dict(seed_a=1, seed_b=2, frames=33, method="lerp"),
        "frames must be between 2 and 32",
    ),
]


@pytest.mark.parametrize("endpoint, arguments, message", BAD_CALLS)
def test_bad_input_is_a_clear_error_and_the_app_keeps_serving(client, endpoint, arguments, message):
    with pytest.raises(Exception, match=message.replace("(", r"\(").replace(")", r"\)")):
        client.predict(**arguments, api_name=endpoint)
    assert client.predict(seed=1, count=1, api_name="/generate")


def test_nan_t_is_refused(app_url, client):
    # JSON has no NaN and gradio_client refuses to send one; other clients can, so post it raw.
    call = httpx.post(
        f"{app_url}gradio_api/call/interpolate",
        content='{"data": [1, 2, NaN, "slerp"]}',
        headers={"content-type": "application/json"},
    )
    events = httpx.get(f"{app_url}gradio_api/call/interpolate/{call.json()['event_id']}").text
    assert "event: error" in events and "t must be a number between 0 and 1, got nan" in events
    assert client.predict(seed_a=1, seed_b=2, t=0.5, method="lerp", api_name="/interpolate")


def test_concurrent_identical_requests_all_get_the_whole_image(app_url):
    # Regression: identical answers computed at once must not truncate each other's file.

    clients = [Client(app_url, verbose=False) for _ in range(6)]

    def ask(client):
        return [
            read(client.predict(seed_a=3, seed_b=4, t=0.5, method="slerp", api_name="/interpolate"))
            for _ in range(5)
        ]

    with ThreadPoolExecutor(len(clients)) as pool:
        answers = [image for batch in pool.map(ask, clients) for image in batch]
    assert len(answers) == 30 and len(set(answers)) == 1 and len(answers[0]) > 100


# --------------------------------------------------------------------------------------------- #
# What the answers mean: the digits of the bundled generator, computed here from the formulas     #
# --------------------------------------------------------------------------------------------- #

GENERATOR = load_generator(ROOT / "weights")[0]


def expected_digits(latents: torch.Tensor) -> np.ndarray:
    """(N, 28, 28) uint8: what the bundled generator draws for these latents."""
    with torch.inference_mode():
        return to_uint8_digits(GENERATOR(latents))


def grid_cells(path, scale: int, count: int, columns: int, padding: int = 2) -> np.ndarray:
    """The 28x28 cells of a grid image, undoing the nearest-neighbour upscaling."""
    canvas = np.asarray(Image.open(path).convert("L"))[::scale, ::scale]
    cell = 28 + padding
    return np.stack(
        [
            canvas[padding + (i // columns) * cell :][:28, padding + (i % columns) * cell :][:, :28]
            for i in range(count)
        ]
    )


def assert_same_digits(shown: np.ndarray, expected: np.ndarray) -> None:
    # One grey level of slack: the app's process may sum in another order (threads).
    assert shown.shape == expected.shape
    assert np.abs(shown.astype(int) - expected.astype(int)).max() <= 1


@pytest.mark.parametrize("count", [1, 3, 8, 11, 64])
def test_count_gives_that_many_digits_of_that_seed(client, count):
    path = client.predict(seed=7, count=count, api_name="/generate")
    columns, rows = min(count, 8), math.ceil(count / 8)
    assert Image.open(path).size == ((columns * 30 + 2) * 4, (rows * 30 + 2) * 4)
    cells = grid_cells(path, 4, rows * columns, columns)
    assert_same_digits(cells[:count], expected_digits(seeded_noise(7, count, GENERATOR.latent_size)))
    assert not cells[count:].any()  # the rest of the last row is empty


def lerp_formula(a, b, t):
    return a + t * (b - a)


def slerp_formula(a, b, t):
    omega = torch.arccos((a / a.norm() * b / b.norm()).sum())
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def test_lerp_and_slerp_each_follow_their_formula_and_differ(client):
    a, b = (seeded_noise(seed, 1, GENERATOR.latent_size) for seed in (5, 9))
    shown = {}
    for method, formula in (("lerp", lerp_formula), ("slerp", slerp_formula)):
        for t in (0.25, 0.5):
            path = client.predict(seed_a=5, seed_b=9, t=t, method=method, api_name="/interpolate")
            shown[method, t] = grid_cells(path, 12, 1, 1, padding=0)
            assert_same_digits(shown[method, t], expected_digits(formula(a, b, t)))
    assert np.abs(shown["lerp", 0.5].astype(int) - shown["slerp", 0.5].astype(int)).max() > 10


@pytest.mark.parametrize("method", ["lerp", "slerp"])
def test_the_strip_frames_are_the_digits_interpolate_gives(client, method):
    strip, _ = client.predict(seed_a=3, seed_b=8, frames=5, method=method, api_name="/interpolation_strip")
    frames = grid_cells(strip, 3, 5, 5)
    for index, t in enumerate((0, 0.25, 0.5, 0.75, 1)):
        single = client.predict(seed_a=3, seed_b=8, t=t, method=method, api_name="/interpolate")
        assert np.array_equal(frames[index], grid_cells(single, 12, 1, 1, padding=0)[0])


def test_downloads_are_named_for_what_they_hold(client):
    grid = client.predict(seed=42, count=16, api_name="/generate")
    digit = client.predict(seed_a=1, seed_b=2, t=0.25, method="lerp", api_name="/interpolate")
    strip, gif = client.predict(seed_a=1, seed_b=2, frames=5, method="slerp", api_name="/interpolation_strip")
    names = [path.rsplit("/", 1)[-1] for path in (grid, digit, strip, gif)]
    assert names == [
        "mnist-gan_seed42_16.png",
        "mnist-gan_1-to-2_lerp_t0.25.png",
        "mnist-gan_1-to-2_slerp_5.png",
        "mnist-gan_1-to-2_slerp.gif",
    ]


TUTORIAL = load_generator(ROOT / "weights" / "tutorial")[0]


def test_compare_draws_the_same_seed_through_both_generators(client):
    improved, tutorial = client.predict(seed=7, count=16, api_name="/compare")
    for path, generator in ((improved, GENERATOR), (tutorial, TUTORIAL)):
        shown = grid_cells(path, scale=4, count=16, columns=8)
        with torch.inference_mode():
            assert_same_digits(shown, to_uint8_digits(generator(seeded_noise(7, 16, 64))))
    assert not np.array_equal(np.asarray(Image.open(improved)), np.asarray(Image.open(tutorial)))


def test_the_model_parameter_picks_the_generator_and_defaults_to_the_served_one(client):
    default = read(client.predict(seed=3, count=8, api_name="/generate"))
    assert read(client.predict(seed=3, count=8, model="improved", api_name="/generate")) == default
    tutorial_grid = client.predict(seed=3, count=8, model="tutorial", api_name="/generate")
    assert read(tutorial_grid) != default and "tutorial" in tutorial_grid.rsplit("/", 1)[-1]
    improved, tutorial = client.predict(seed=3, count=8, api_name="/compare")
    assert read(tutorial) == read(tutorial_grid) and read(improved) == default
    for method in ("slerp", "lerp"):
        arguments = dict(seed_a=3, seed_b=8, t=0.4, method=method)
        improved_digit = read(client.predict(**arguments, api_name="/interpolate"))
        tutorial_digit = read(client.predict(**arguments, model="tutorial", api_name="/interpolate"))
        assert improved_digit != tutorial_digit
    strip, gif = client.predict(seed_a=3, seed_b=8, frames=5, method="lerp", model="tutorial",
                                api_name="/interpolation_strip")  # fmt: skip
    assert gif.endswith("mnist-gan-tutorial_3-to-8_lerp.gif")


def test_find_digit_shows_only_that_digit_most_confident_first(client):
    from gan_core.demo.digits import DRAWS
    from gan_core.training.quality import load_classifier

    classifier = load_classifier()
    path, summary = client.predict(digit=2, count=12, seed=5, api_name="/find_digit")
    cells = grid_cells(path, scale=4, count=12, columns=8)
    with torch.inference_mode():
        probabilities = classifier(torch.from_numpy(cells).float().div(255).mul(2).sub(1)).softmax(dim=1)
    confidence, label = probabilities.max(dim=1)
    assert label.tolist() == [2] * 12  # the classifier reads every digit shown as a 2
    # Most confident first (read again from the 8-bit picture, so within a hair), and the sentence
    # gives the range as the captions would (99% at most).
    sureness = confidence.tolist()
    assert all(first >= then - 0.005 for first, then in zip(sureness, sureness[1:], strict=False))
    stated = [int(x) for x in re.findall(r"(\d+)%", summary.split("confidence")[1])]
    assert 1 <= len(stated) <= 2, summary
    assert all(
        abs(s - min(100 * c, 99)) <= 1 for s, c in zip(stated, (sureness[0], sureness[-1]), strict=False)
    )
    # Brute force: the share in the sentence is the share of all the seed's draws read as a 2.
    with torch.inference_mode():
        drawn = GENERATOR(seeded_noise(5, DRAWS, 64))
        matches = int((classifier(drawn).argmax(dim=1) == 2).sum())
    assert f"reads {matches} ({100 * matches / DRAWS:.1f}%) as a 2" in summary
    tutorial_path, tutorial_summary = client.predict(
        digit=1, count=4, seed=5, model="tutorial", api_name="/find_digit"
    )
    assert "tutorial" in tutorial_path and "as a 1" in tutorial_summary


def test_the_latent_map_has_the_four_seeds_at_its_corners(client):
    size = 5
    path = client.predict(seed_a=11, seed_b=12, seed_c=13, seed_d=14, size=size, api_name="/latent_grid")
    cells = grid_cells(path, scale=3, count=size * size, columns=size)
    corners = [cells[0], cells[size - 1], cells[size * (size - 1)], cells[-1]]
    for cell, seed in zip(corners, (11, 12, 13, 14), strict=True):
        assert_same_digits(cell[None], expected_digits(seeded_noise(seed, 1, 64)))
    a, b, c, d = (seeded_noise(seed, 1, 64) for seed in (11, 12, 13, 14))
    middle = slerp(slerp(a, c, 0.5), slerp(b, d, 0.5), 0.5)
    assert_same_digits(cells[size * (size // 2) + size // 2][None], expected_digits(middle))
    with pytest.raises(Exception, match="size must be between 3 and 12, got 13"):
        client.predict(seed_a=1, seed_b=2, seed_c=3, seed_d=4, size=13, api_name="/latent_grid")


def classifier_reading(latents: torch.Tensor) -> tuple[list[int], list[float]]:
    """What the bundled classifier reads in the bundled generator's digits for these latents."""
    from gan_core.training.quality import load_classifier

    with torch.inference_mode():
        confidence, label = load_classifier()(GENERATOR(latents)).softmax(dim=1).max(dim=1)
    return label.tolist(), confidence.tolist()


@pytest.mark.parametrize("count", [5, 16])
def test_captions_say_what_the_classifier_reads_under_each_digit(client, count):
    from gan_core.demo.digits import CAPTION_SIZE, caption
    from gan_core.images import captioned_grid

    plain = Image.open(client.predict(seed=42, count=count, api_name="/generate"))
    path = client.predict(seed=42, count=count, captions=True, api_name="/generate")
    assert path.endswith(f"mnist-gan_seed42_{count}_captioned.png")
    served = Image.open(path)
    rows, columns = math.ceil(count / 8), min(count, 8)
    assert served.size == (plain.width, plain.height + rows * (CAPTION_SIZE + 7))
    labels, confidences = classifier_reading(seeded_noise(42, count, 64))
    expected = captioned_grid(plain, [caption(d, c) for d, c in zip(labels, confidences, strict=True)],
                              columns=columns, scale=4, font_size=CAPTION_SIZE)  # fmt: skip
    assert np.array_equal(np.asarray(served), np.asarray(expected))
    # Not the same caption everywhere: seed 42's digits read as different digits.
    assert len(set(labels)) >= 2
    assert caption(7, 0.996) == "7 · 99%" and caption(2, 0.7861) == "2 · 79%" and caption(1, 1.0) == "1 · 99%"
    # A web form's 5.0 is 5, captioned or not.
    assert read(client.predict(seed=42.0, count=float(count), captions=True, api_name="/generate")) == read(
        path
    )


def test_the_tinted_map_colours_each_cell_by_the_digit_read_there(client):
    from gan_core.images import DIGIT_COLOURS

    size, corners = 6, dict(seed_a=1, seed_b=2, seed_c=3, seed_d=4)
    plain = np.asarray(Image.open(client.predict(**corners, size=size, api_name="/latent_grid")).convert("L"))
    path = client.predict(**corners, size=size, tint=True, api_name="/latent_grid")
    assert path.endswith("map_1-2-3-4_6_tinted.png")
    tinted = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert tinted.shape[1] == plain.shape[1] and tinted.shape[0] > plain.shape[0]  # a legend below
    a, b, c, d = (seeded_noise(seed, 1, 64) for seed in (1, 2, 3, 4))
    steps = [i / (size - 1) for i in range(size)]
    latents = torch.cat([slerp(slerp(a, c, v), slerp(b, d, v), u) for v in steps for u in steps])
    labels, _ = classifier_reading(latents)
    assert len(set(labels)) >= 2  # the map crosses a border between digits
    cell = 30 * 3
    for index, label in enumerate(labels):
        top, left = 6 + (index // size) * cell, 6 + (index % size) * cell
        block, grey = tinted[top : top + 84, left : left + 84], plain[top : top + 84, left : left + 84]
        dark, white = grey == 0, grey == 255
        # Where the digit is black the cell takes its digit's colour (darkened); strokes stay white.
        assert np.abs(block[dark] - np.array(DIGIT_COLOURS[label]) * 0.6).max() <= 1
        assert (block[white] == 255).all()
    legend = tinted[plain.shape[0] + 4, :, :]  # one line through the ten swatches
    swatches = {tuple(legend[round((digit + 0.5) * tinted.shape[1] / 10)]) for digit in range(10)}
    assert swatches == set(DIGIT_COLOURS)


def test_the_training_film_is_every_saved_grid_in_epoch_order(client):
    from gan_core.runs.layout import sample_path

    path = client.predict(api_name="/training_film")
    assert path.endswith("mnist-gan_training-film.gif")
    film = Image.open(path)
    epochs = sorted(int(p.stem.split("_")[1]) for p in (ROOT / "weights" / "samples").glob("epoch_*.png"))
    assert film.n_frames == len(epochs) == 12
    durations = []
    for index, epoch in enumerate(epochs):
        film.seek(index)
        frame = np.asarray(film.convert("L"))
        grid = np.asarray(Image.open(sample_path(ROOT / "weights", epoch)).convert("L"))
        # Below the title band: the epoch's own grid, 2x enlarged, pixel for pixel.
        assert np.array_equal(frame[-grid.shape[0] * 2 :][::2, ::2], grid), epoch
        durations.append(film.info["duration"])
    assert durations[-1] > durations[0]  # the trained result stays up before the loop restarts
