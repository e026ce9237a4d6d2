"""The CUDA paths against the eager path, wherever a GPU is lent (skipped without CUDA).

benchmarks/gpu_session.sh runs this file too. Each check trains the same run twice on the GPU, once
through the path under test and once eagerly, and compares the per-epoch means.
"""

import json

import pytest
import torch

from tests.helpers import run_script, train_args

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
STATS = ("d_loss", "g_loss", "d_x", "d_g_z")


def cuda_run(data, out, *flags):
    arguments = [arg if arg != "cpu" else "cuda" for arg in train_args(data, out, "--epochs", "3", *flags)]
    result = run_script(*arguments, timeout=600)
    assert result.returncode == 0, result.stderr
    return json.loads((out / "history.json").read_text())


@pytest.mark.parametrize("recipe", ["tutorial", "improved"])
@pytest.mark.parametrize("path", ["cuda-graphs", "compile", "autograd-engine", "triton-engine"])
def test_a_cuda_path_trains_like_the_eager_loop(tiny_data, tmp_path, recipe, path):
    """Graphs of the fused step, of the compiled autograd step, of the autograd step and of the
    fused step with Triton kernels, each against the fused step run eagerly."""
    flags = ["--recipe", recipe, "--batch-size", "40"]
    eager = cuda_run(tiny_data, tmp_path / "eager", *flags, "--no-cuda-graphs", "--engine", "fused")
    path_flags = {"cuda-graphs": ["--engine", "fused"], "compile": ["--compile"],
                  "autograd-engine": ["--engine", "autograd"],
                  "triton-engine": ["--engine", "triton"]}  # fmt: skip
    other = cuda_run(tiny_data, tmp_path / path, *flags, *path_flags[path])
    assert other["meta"]["path"] == "cuda-graphs" and eager["meta"]["path"] == "eager"
    engines = {"cuda-graphs": "fused", "compile": "compiled", "autograd-engine": "autograd",
               "triton-engine": "triton"}  # fmt: skip
    assert eager["meta"]["engine"] == "fused" and other["meta"]["engine"] == engines[path]
    for ours, reference in zip(other["epochs"], eager["epochs"], strict=True):
        # TF32 matmuls and another summation order: close, not equal.
        assert [ours[name] for name in STATS] == pytest.approx([reference[name] for name in STATS], abs=2e-2)


def test_seeds_trained_together_on_the_gpu_are_each_the_run_of_their_seed(tiny_data, tmp_path):
    flags = ["--batch-size", "40", "--no-cuda-graphs"]
    arguments = train_args(tiny_data, tmp_path / "many", "--epochs", "3", *flags, "--seeds", "1,2")
    together = run_script(*[arg if arg != "cpu" else "cuda" for arg in arguments], timeout=600)
    assert together.returncode == 0, together.stderr
    alone = cuda_run(tiny_data, tmp_path / "alone", *flags, "--seed", "2")
    stacked = json.loads((tmp_path / "many" / "seed-2" / "history.json").read_text())
    for ours, reference in zip(stacked["epochs"], alone["epochs"], strict=True):
        assert [ours[name] for name in STATS] == pytest.approx([reference[name] for name in STATS], abs=2e-2)
