"""What a user would notice, tested where the user meets it: `python train.py` runs and the files
they write, a push to the test Hub read back over HTTP, and the app's answer to a request.

Each test here stands for a bug that once passed the rest of the suite unseen: an EMA that never
moved, a stacked resume whose Adam restarted, a --seeds resume that mixed up its seeds, a run
without its last grid, a --private push that came out public, and a body limit checked per chunk.
The runs are tiny (5 steps an epoch) and shared by the tests through module-scoped fixtures.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import torch
from huggingface_hub import HfApi
from huggingface_hub.errors import RepositoryNotFoundError
from safetensors.torch import load_file

from gan_core.config import TrainConfig
from gan_core.models import Generator
from gan_core.runs.checkpoint import read_training_state
from gan_core.runs.layout import sample_epochs
from gan_core.training.state import build_state
from tests.helpers import TOKEN, run_script, start_hub, stop, train_args

LATENT, HIDDEN = 8, 16
TINY = ("--latent-size", LATENT, "--hidden-size", HIDDEN, "--batch-size", 20, "--subset", 100,
        "--recipe", "tutorial")  # fmt: skip
EMA = ("--ema-decay", 0.9)  # over 5 steps an epoch, an average that moves visibly
SEEDS = (0, 1)
ADDED_SEED = 2  # given only to the resuming command, first: it starts afresh beside the resumed ones
SEEDS_FLAGS = (*EMA, "--engine", "fused", "--sample-every", 3)  # 4 epochs: not a multiple of 3


def train(data, out, *flags) -> str | None:
    """train.py on the tiny data; None when it succeeded, else what it printed."""
    result = run_script(*train_args(data, out, *TINY, *flags))
    return None if result.returncode == 0 else f"exit {result.returncode}: {result.stdout}{result.stderr}"


def stop_and_resume(data, out) -> str | None:
    """--seeds stopped after epoch 2 of 4 (a run of --epochs 2), then resumed to 4 with a seed added."""
    seeds = ",".join(map(str, SEEDS))
    stopped = train(data, out, *SEEDS_FLAGS, "--seeds", seeds, "--epochs", 2)
    seeds = ",".join(map(str, (ADDED_SEED, *SEEDS)))
    return stopped or train(data, out, *SEEDS_FLAGS, "--seeds", seeds, "--resume", "--epochs", 4)


@pytest.fixture(scope="module")
def runs(tiny_data, tmp_path_factory) -> dict[str, Path]:
    """Every run these tests read, one after the other in this process (about 10 s in all)."""
    root = tmp_path_factory.mktemp("runs")
    single = (*EMA, "--epochs", 3, "--sample-every", 2)  # 3 epochs: not a multiple of the interval
    seeds = ",".join(map(str, SEEDS))
    jobs = {
        "autograd": lambda: train(tiny_data, root / "autograd", *single, "--engine", "autograd"),
        "fused": lambda: train(tiny_data, root / "fused", *single, "--engine", "fused"),
        "together": lambda: train(
            tiny_data, root / "together", *SEEDS_FLAGS, "--seeds", seeds, "--epochs", 4
        ),
        "resumed": lambda: stop_and_resume(tiny_data, root / "resumed"),
    }
    # A command that fails stops every test here, with its output: the first test to ask for the
    # runs is where it shows (and the one a mutation tool credits with the code the runs exercise).
    failed = {name: output for name, job in jobs.items() if (output := job()) is not None}
    assert not failed, f"train.py failed: {failed}"
    return {
        "autograd": root / "autograd",
        "fused": root / "fused",
        **{f"together seed-{seed}": root / "together" / f"seed-{seed}" for seed in SEEDS},
        **{f"resumed seed-{s}": root / "resumed" / f"seed-{s}" for s in (*SEEDS, ADDED_SEED)},
    }


def initial_generator(seed: int) -> dict[str, torch.Tensor]:
    """The generator a run of `seed` starts from: fit() seeds the global RNG and builds G first."""
    torch.manual_seed(seed)
    return Generator(latent_size=LATENT, hidden_size=HIDDEN).state_dict()


def differ(one: dict, other: dict) -> bool:
    assert one.keys() == other.keys()
    return any(not torch.equal(one[name], other[name]) for name in one)


# 1. An EMA that the fused step never updated published the initial weights, unseen.
@pytest.mark.parametrize("run", ["autograd", "fused", "together seed-0", "together seed-1"])
def test_an_ema_run_publishes_an_average_that_left_the_initial_and_the_raw_weights(runs, run):
    published = load_file(runs[run] / "model.safetensors")
    raw = load_file(runs[run] / "generator_raw.safetensors")
    seed = int(run[-1]) if "seed" in run else 0
    assert differ(published, raw), "model.safetensors holds the last step's weights, not their average"
    assert differ(published, initial_generator(seed)), "the average never moved from the initial weights"
    assert differ(raw, initial_generator(seed))  # (and the run trained at all)


def test_the_triton_engine_moves_the_average_too():
    """--engine triton asks for a GPU in train.py; here its kernels run in Triton's interpreter
    (conftest sets TRITON_INTERPRET on a machine without CUDA), inside the fused step it shares."""
    if torch.cuda.is_available():
        pytest.skip("with CUDA, Triton compiles for the GPU: tests/test_gpu.py trains --engine triton")
    from gan_core.training.engines.ops import TritonOps  # deferred as registry.py defers it

    config = TrainConfig(
        latent_size=LATENT, hidden_size=HIDDEN, batch_size=20, recipe="tutorial", ema_decay=0.9
    )
    torch.manual_seed(0)
    state = build_state(config, torch.device("cpu"))
    state.ops = TritonOps()  # what select_engine gives --engine triton
    start = {name: value.clone() for name, value in state.ema.state_dict().items()}
    for _ in range(2):
        state.run_step(torch.rand(20, 784) * 2 - 1)
    assert differ(state.ema.state_dict(), state.generator.state_dict())
    assert differ(state.ema.state_dict(), start)


# 2. The stacked engine restarted Adam's step count on resume: a resumed --seeds run drifted off.
def rows_without_timing(run_dir: Path) -> list[dict]:
    rows = json.loads((run_dir / "history.json").read_text())["epochs"]
    return [{key: value for key, value in row.items() if key != "seconds"} for row in rows]


def assert_same_tensors(one, other, where: str) -> None:
    """Equal bit for bit, through nested dicts and lists (a state dict, an optimizer's state)."""
    if torch.is_tensor(one):
        assert torch.is_tensor(other) and torch.equal(one, other), where
    elif isinstance(one, dict):
        assert one.keys() == other.keys(), where
        for key in one:
            assert_same_tensors(one[key], other[key], f"{where}/{key}")
    elif isinstance(one, (list, tuple)):
        assert len(one) == len(other), where
        for index, (mine, theirs) in enumerate(zip(one, other, strict=True)):
            assert_same_tensors(mine, theirs, f"{where}/{index}")
    else:
        assert one == other, where


@pytest.mark.parametrize("seed", SEEDS)
def test_seeds_stopped_and_resumed_together_end_where_the_uninterrupted_seeds_end(runs, seed):
    # The same stacked math on the same numbers in the same order: bit for bit, not to rounding.
    resumed, straight = runs[f"resumed seed-{seed}"], runs[f"together seed-{seed}"]
    got, expected = read_training_state(resumed), read_training_state(straight)
    assert got["epoch"] == expected["epoch"] == 4
    for part in ("g_optimizer", "d_optimizer"):  # Adam's step count and both moments of every weight
        steps = {int(param["step"]) for param in expected[part]["state"].values()}
        assert steps == {4 * 5}, steps  # 4 epochs of 100 images in batches of 20
        assert_same_tensors(got[part], expected[part], part)
    for part in ("generator", "discriminator", "ema", "cpu_rng"):
        assert_same_tensors(got[part], expected[part], part)
    assert rows_without_timing(resumed) == rows_without_timing(straight)
    for name in ("model.safetensors", "generator_raw.safetensors", "discriminator.safetensors"):
        assert_same_tensors(load_file(resumed / name), load_file(straight / name), name)


# 3. --seeds --resume with its per-seed flags out of line: folders missing files or naming another seed.
@pytest.mark.parametrize("seed", [*SEEDS, ADDED_SEED])
def test_every_seed_resumed_together_is_a_complete_run_of_its_own_seed(runs, seed):
    run = runs[f"resumed seed-{seed}"]
    single = runs["fused"]  # what a single run writes, grids aside (they follow --epochs)
    names = lambda folder: {path.name for path in folder.iterdir() if path.is_file()}
    assert names(run) == names(single), f"{run} lacks or adds files: {names(run) ^ names(single)}"
    history = json.loads((run / "history.json").read_text())
    assert history["config"]["seed"] == seed and [row["epoch"] for row in history["epochs"]] == [1, 2, 3, 4]
    state = read_training_state(run)
    assert state["epoch"] == 4 and state["history"]["config"]["seed"] == seed
    assert json.loads((run / "config.json").read_text()) == {
        "latent_size": LATENT,
        "hidden_size": HIDDEN,
        "image_size": 784,
    }
    assert f"| seed | {seed} |" in (run / "README.md").read_text()
    # Resumed seeds keep the grid of the epoch they stopped at; the added seed started at epoch 1.
    assert sample_epochs(run) == ([3, 4] if seed == ADDED_SEED else [2, 3, 4])
    # and each is its own run: the same flags from another seed give other weights
    others = [runs[f"resumed seed-{other}"] for other in (*SEEDS, ADDED_SEED) if other != seed]
    for other in others:
        assert differ(load_file(run / "model.safetensors"), load_file(other / "model.safetensors"))


# 4. The last epoch's grid went missing where --epochs is not a multiple of --sample-every.
@pytest.mark.parametrize(
    "run, grids",
    [
        ("autograd", [2, 3]),  # --epochs 3 --sample-every 2
        ("fused", [2, 3]),
        ("together seed-0", [3, 4]),  # --epochs 4 --sample-every 3, trained together
        ("together seed-1", [3, 4]),
    ],
)
def test_the_last_epoch_always_has_its_grid(runs, run, grids):
    assert sample_epochs(runs[run]) == grids


# 5. --private lost on the way to create_repo: a run meant to be private was public.
@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    storage = tmp_path_factory.mktemp("hub-storage")
    process, url = start_hub(storage)
    env = {"HF_ENDPOINT": url, "HF_TOKEN": TOKEN, "HF_HOME": str(tmp_path_factory.mktemp("hf-home")),
           "HF_HUB_DISABLE_TELEMETRY": "1"}  # fmt: skip
    yield env, storage
    stop(process)


def test_a_private_push_creates_a_repo_only_its_owner_can_see(tiny_data, hub, tmp_path):
    env, storage = hub
    flags = ("--epochs", 2, "--sample-every", 3, "--push", "--private", "--repo-id", "tester/x")
    result = run_script(*train_args(tiny_data, tmp_path / "run", *TINY, *flags), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((storage / "repos.json").read_text())["tester/x"]["private"] is True
    owner = HfApi(endpoint=env["HF_ENDPOINT"], token=TOKEN)
    assert owner.model_info("tester/x").private is True
    assert "samples/epoch_0002.png" in owner.list_repo_files("tester/x")  # the last epoch's grid, pushed
    with pytest.raises(RepositoryNotFoundError):  # anyone else is told there is no such repo
        HfApi(endpoint=env["HF_ENDPOINT"], token=False).model_info("tester/x")


# 6. The request-size limit applied to each chunk: a body streamed in small pieces got through whole.
def test_a_body_streamed_in_small_chunks_is_refused_by_its_total_size(app_url):
    limit = 64 * 1024  # ui/app.py's MAX_REQUEST_BYTES
    piece = b" " * 1024
    body = [b'{"data": [1, 2], "filler": "', *[piece] * (limit // len(piece) + 16), b'"}']
    assert max(map(len, body)) < limit < sum(map(len, body))
    response = httpx.post(  # a generator body: sent chunked, one chunk per piece, with no length declared
        f"{app_url}gradio_api/call/generate", content=iter(body), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert f"Request bodies are limited to {limit} bytes" in response.text
