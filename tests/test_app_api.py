"""The app over real HTTP, as gradio_client users call it."""

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from gradio_client import Client
from PIL import Image

ENDPOINTS = {
    "/generate": ["seed", "count"],
    "/interpolate": ["seed_a", "seed_b", "t", "method"],
    "/interpolation_strip": ["seed_a", "seed_b", "frames", "method"],
    "/training_scores": [],
}


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_view_api_lists_exactly_the_four_endpoints_with_their_parameter_names(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {
        name: [p["parameter_name"] for p in info["parameters"]] for name, info in endpoints.items()
    } == ENDPOINTS
    assert client.view_api(return_format="dict", print_info=False)["unnamed_endpoints"] == {}


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


def test_interpolation_strip_gives_frames_in_a_row_and_a_gif(client):
    strip, gif = client.predict(seed_a=5, seed_b=9, frames=6, method="lerp", api_name="/interpolation_strip")
    assert Image.open(strip).size == ((6 * 30 + 2) * 3, 32 * 3)
    animation = Image.open(gif)
    assert animation.format == "GIF" and animation.n_frames == 6 + 4  # forward, then back


def test_training_scores_is_the_per_epoch_table(client):
    table = client.predict(api_name="/training_scores")
    assert table["headers"] == [
        "epoch",
        "d_loss",
        "g_loss",
        "d_x",
        "d_g_z",
        "seconds",
        "mnist_fd",
        "inception_score",
        "kl_to_uniform",
        "mean_confidence",
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
