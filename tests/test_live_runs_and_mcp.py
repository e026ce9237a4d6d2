"""Live runs end when nobody watches them, and MCP clients are visitors like any other: a real app
(tiny MNIST) over HTTP, MCP's JSON-RPC over HTTP, and Chromium. Each run is measured by its child
process, found under the app's process in /proc."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import types
import typing
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from playwright.sync_api import expect, sync_playwright

from tests.helpers import launch_chromium, open_app_page, serving
from ui.sections import ANSWER, GAME

PROTOCOL = "2025-06-18"


@pytest.fixture(scope="module")
def app(tiny_data, tmp_path_factory):
    """The app's process (this one, where it is served), its URL and its log."""
    log = tmp_path_factory.mktemp("live-app") / "app.log"
    with serving({"MNIST_DIR": str(tiny_data), "LIVE_RUNS_WAITING": "2"}, log_path=log) as url:
        yield types.SimpleNamespace(pid=os.getpid()), url, log  # what live_children reads of it


def live_children(process) -> list[int]:
    """The process ids of the app's live-training children, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent == process.pid and b"gan_core.demo.live" in (stat.parent / "cmdline").read_bytes():
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def wait_for(condition, timeout: float, step: float = 0.1) -> float:
    """Seconds until condition() held; fails past timeout (generous: the machine is shared)."""
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < timeout, f"not within {timeout} s"
        time.sleep(step)
    return time.monotonic() - began


def no_live_run_after(process, timeout: float) -> float:
    return wait_for(lambda: not live_children(process), timeout)


def cancel_once_it_streams(job, process) -> None:
    """Cancel a live call once its first update has come: its children end within 10 s."""
    wait_for(lambda: job.status().code.name == "ITERATING", 90)
    job.cancel()
    assert no_live_run_after(process, 10) < 10


class McpClient:
    """An MCP client over streamable HTTP, by hand: initialize (the answer names the session),
    then JSON-RPC requests carrying that session id."""

    def __init__(self, url: str):
        self.url, self.count = f"{url}gradio_api/mcp/", 0
        self.headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
        info = {"protocolVersion": PROTOCOL, "capabilities": {},
                "clientInfo": {"name": "test", "version": "1"}}  # fmt: skip
        answer, response = self.request("initialize", info)
        assert answer["result"]["protocolVersion"]
        self.session = response.headers["mcp-session-id"]
        self.headers.update({"mcp-session-id": self.session, "mcp-protocol-version": PROTOCOL})
        notification = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert httpx.post(self.url, json=notification, headers=self.headers).status_code == 202

    def request(self, method: str, params: dict, timeout: float = 120) -> tuple[dict, httpx.Response]:
        self.count += 1
        body = {"jsonrpc": "2.0", "id": self.count, "method": method, "params": params}
        response = httpx.post(self.url, json=body, headers=self.headers, timeout=timeout)
        data = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
        return json.loads(data[-1]), response

    def call(self, tool: str, arguments: dict, timeout: float = 120) -> dict:
        return self.request("tools/call", {"name": tool, "arguments": arguments}, timeout)[0]["result"]


def text_of(result: dict) -> str:
    return " ".join(part.get("text", "") for part in result["content"])


def test_a_call_whose_result_is_never_read_never_trains(app):
    process, url, _ = app
    began = time.monotonic()
    event = httpx.post(f"{url}gradio_api/call/train_live", json={"data": ["tutorial", 60, 1]}).json()
    # Three more with made-up sessions: none of them holds the one slot either.
    for index in range(3):
        body = {"data": ["tutorial", 60, index], "session_hash": f"made-up-{index}"}
        httpx.post(f"{url}gradio_api/call/train_live", json=body)
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        seen += live_children(process)
        time.sleep(0.1)
    assert not seen  # no child was started for calls nobody reads
    answer = httpx.get(f"{url}gradio_api/call/train_live/{event['event_id']}", timeout=30).text
    assert "nobody read its messages within 3 s of its start" in answer
    # Meanwhile and after, a visitor who reads gets a turn at once and a whole run.
    client = Client(url, verbose=False)
    updates = list(client.submit(recipe="tutorial", seconds=5, seed=3, api_name="/train_live"))
    assert "**done** (tutorial)" in updates[-1][2]
    assert time.monotonic() - began < 150


def test_a_cancelled_api_run_ends_its_child_at_once(app):
    process, url, _ = app
    client = Client(url, verbose=False)
    for wait in (0.5, 2.0):  # waiting its turn, starting its child, or training
        job = client.submit(recipe="tutorial", seconds=60, seed=1, api_name="/train_live")
        time.sleep(wait)
        job.cancel()
        assert no_live_run_after(process, 15) < 15
    job = client.submit(recipe="tutorial", seconds=60, seed=1, api_name="/train_live")
    cancel_once_it_streams(job, process)


def test_stop_in_the_browser_says_stopped_keeps_what_was_drawn_and_ends_the_child(app):
    from tests.test_browser import open_tab

    process, url, _ = app
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = open_app_page(browser, url)
        open_tab(page, "Live training")
        status = page.locator("#live-status")
        seed = page.locator("#live-seed input")
        for run, wait in enumerate((0.0, 0.2, 0.5)):  # a Stop at once: before, while or as the child starts
            seed.fill(str(run))
            seed.press("Enter")
            page.locator("#live-start").click()
            time.sleep(wait)
            page.locator("#live-stop").click()
            expect(status).to_contain_text(f"stopped (tutorial, seed {run})", timeout=30_000)
            assert no_live_run_after(process, 10) < 10
        # A Stop while it trains: "stopped", and the grid and the curves drawn so far stay.
        page.locator("#live-start").click()
        expect(status).to_contain_text("training", timeout=90_000)
        page.locator("#live-stop").click()
        expect(status).to_contain_text("stopped (tutorial, seed 2). What it learned by step", timeout=30_000)
        assert no_live_run_after(process, 10) < 10
        expect(page.locator("#live-grid img").first).to_be_visible()
        expect(page.locator("#live-plot img").first).to_be_visible()
        assert page.get_by_text("Error", exact=True).count() == 0  # no red badge, no error toast
        browser.close()


def test_every_mcp_tool_answers_a_json_rpc_call(app):
    _, url, _ = app
    client = McpClient(url)
    tools = {tool["name"]: tool for tool in client.request("tools/list", {})[0]["result"]["tools"]}
    arguments = {
        "generate": {"seed": 1, "count": 4, "model": "tutorial", "captions": True},
        "find_digit": {"digit": "7", "count": 2, "seed": 1},
        "interpolate": {"seed_a": 1, "seed_b": 2, "t": 0.5, "method": "lerp"},
        "interpolation_strip": {"seed_a": 1, "seed_b": 2, "frames": 3, "method": "slerp"},
        "latent_grid": {"seed_a": 1, "seed_b": 2, "seed_c": 3, "seed_d": 4, "size": 3, "tint": True},
        "compare": {"seed": 1, "count": 2},
        "training_scores": {},
        "training_film": {},
        "nearest": {"seed": 1, "index": 0, "k": 2},
        "nearest_frame": {"seed_a": 1, "seed_b": 2, "t": 0.3, "method": "slerp", "k": 2},
        "train_live": {"recipe": "tutorial", "seconds": 5, "seed": 0},
        "race": {"seconds": 5, "seed": 0},
        "d_score": {"seed": 1, "index": 2, "model": "tutorial"},
        "game_round": {"round_number": 3},
        "game_reveal": {"round_number": 3, "real_ones": ["1", "4"]},
        "train_steps": {"recipe": "improved", "seed": 1, "steps": 3},
    }
    assert set(tools) == set(arguments)
    images = {}
    for name, values in arguments.items():
        result = client.call(name, values)
        assert not result.get("isError"), (name, text_of(result))
        # Every output is there, each image inline, and nothing names a folder of the server.
        # (The images' base64 is left out of the search: "/tmp" is four base64 characters, and a
        # race's pictures, new each run, held them once.)
        parts = [{key: value for key, value in part.items() if key != "data"} for part in result["content"]]
        shown = json.dumps({**result, "content": parts})
        assert not re.search(r"/tmp|gradio_api/file|'path'", shown), (name, text_of(result))
        images[name] = [part["mimeType"] for part in result["content"] if part["type"] == "image"]
    assert images["compare"] == ["image/png"] * 2
    assert images["interpolation_strip"] == ["image/png", "image/gif"]  # the GIF keeps its frames
    assert len(images["race"]) == 3  # both grids and the plot
    assert images["game_round"] == images["game_reveal"] == images["train_steps"] == ["image/png"]
    assert len(images["train_live"]) == 2 and len(images["generate"]) == len(images["find_digit"]) == 1
    assert "as a 7" in text_of(client.call("find_digit", {"digit": "7", "count": 2, "seed": 1}))
    # The schema says what find_digit takes, and what it takes is what the schema says.
    digit = tools["find_digit"]["inputSchema"]["properties"]["digit"]
    assert digit["type"] == "string" and digit["enum"] == [str(d) for d in range(10)]
    refused = client.call("find_digit", {"digit": 7, "count": 2, "seed": 1})
    assert refused["isError"] and "is not one of" in text_of(refused)


def test_find_digit_takes_the_type_view_api_states_and_the_number(app):
    _, url, _ = app
    client = Client(url, verbose=False)
    parameters = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/find_digit"]
    stated = parameters["parameters"][0]["python_type"]["type"]
    assert stated == "Literal[" + ", ".join(f"'{d}'" for d in range(10)) + "]"
    for digit in typing.get_args(eval(stated, {"Literal": typing.Literal})):  # every stated value
        assert f"as a {digit}" in client.predict(digit=digit, count=1, seed=3, api_name="/find_digit")[1]
    assert "as a 7" in client.predict(digit=7, count=1, seed=3, api_name="/find_digit")[1]
    for bad in ("10", " 7", "seven", 10, 7.5):
        with pytest.raises(Exception, match="digit must be"):
            client.predict(digit=bad, count=1, seed=3, api_name="/find_digit")


def start_tool_call_and_leave_later(client: McpClient, tool: str, arguments: dict) -> socket.socket:
    """A tools/call sent over a socket of its own: closing the socket is the client leaving."""
    body = json.dumps({"jsonrpc": "2.0", "id": 99, "method": "tools/call",
                       "params": {"name": tool, "arguments": arguments}}).encode()  # fmt: skip
    address = httpx.URL(client.url)
    connection = socket.create_connection((address.host, address.port))
    headers = "".join(f"{name}: {value}\r\n" for name, value in client.headers.items())
    request = (f"POST {address.raw_path.decode()} HTTP/1.1\r\nhost: {address.host}\r\n{headers}"
               f"content-length: {len(body)}\r\n\r\n")  # fmt: skip
    connection.sendall(request.encode() + body)
    return connection


def test_mcp_clients_are_each_a_visitor_and_a_client_that_leaves_ends_its_run(app):
    process, url, _ = app
    first, second = McpClient(url), McpClient(url)
    assert first.session != second.session
    leaving = start_tool_call_and_leave_later(
        first, "train_live", {"recipe": "tutorial", "seconds": 60, "seed": 1}
    )
    wait_for(lambda: live_children(process), 60)
    (child,) = live_children(process)
    # Another MCP client is not refused as "the same visitor": it waits its turn.
    answers = {}
    run = {"recipe": "tutorial", "seconds": 5, "seed": 2}
    staying = threading.Thread(target=lambda: answers.update(second=second.call("train_live", run, 240)))
    staying.start()
    time.sleep(3)
    assert not answers and live_children(process) == [child]
    leaving.close()  # the first client goes away mid-run
    assert wait_for(lambda: child not in live_children(process), 10) < 10  # not the 60 s it asked for
    staying.join(timeout=200)
    assert "**done** (tutorial)" in text_of(answers["second"])  # the second client's turn came


@pytest.mark.parametrize("path", ["gradio_api/queue/join", "gradio_api/call/generate", "gradio_api/mcp/"])
def test_deeply_nested_json_is_a_400_without_a_traceback(app, path):
    process, url, log = app
    for body in (b"[" * 20_000 + b"]" * 20_000, b'{"data": ' + b'{"a": ' * 5_000 + b"1" + b"}" * 5_001):
        response = httpx.post(url + path, content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400 and "nested deeper than 32 levels" in response.text
    assert "Traceback" not in log.read_text() and "RecursionError" not in log.read_text()
    assert Client(url, verbose=False).predict(seed=1, count=2, api_name="/generate")  # still serving


def test_without_mnist_the_tabs_say_what_they_need_before_any_press(app_url):
    from tests.test_browser import open_tab

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = open_app_page(browser, app_url)
        for tab, box, button in (
            ("Live training", "#live-unavailable", "#live-start"),
            (ANSWER, "#race-unavailable", "#race-start"),
            ("Nearest images", "#nearest-status", "#nearest-button"),
            (GAME, "#game-unavailable", "#game-reveal"),
        ):
            open_tab(page, tab)
            expect(page.locator(box)).to_contain_text("set MNIST_DIR to a folder holding MNIST/raw/")
            expect(page.locator(button)).to_be_disabled()
        assert page.get_by_text("Error", exact=True).count() == 0
        browser.close()
