"""The Triton kernels of --engine triton against the torch operations they replace, run by
Triton's interpreter on the CPU (TRITON_INTERPRET=1); tests/test_gpu.py runs them on a GPU."""

import os

import pytest
import torch

from gan_core.config import TrainConfig
from gan_core.training.engines.ops import LEAKY_RELU, NONE, RELU, SIGMOID, TANH, TorchOps, TritonOps
from gan_core.training.state import build_state

ACTS = {"none": NONE, "relu": RELU, "leaky_relu": LEAKY_RELU, "tanh": TANH, "sigmoid": SIGMOID}


@pytest.fixture
def triton_ops():
    if torch.cuda.is_available():
        pytest.skip("on a GPU, tests/test_gpu.py runs the kernels for real")
    assert os.environ.get("TRITON_INTERPRET") == "1"  # set by conftest.py before triton was imported
    return TritonOps()


@pytest.mark.parametrize("act", ACTS)
def test_a_layer_forward_is_its_product_bias_and_activation_in_one_kernel(triton_ops, act):
    torch.manual_seed(0)
    inputs, weight, bias = torch.randn(37, 50), torch.randn(20, 50) / 5, torch.randn(20)
    expected = TorchOps.linear_act(inputs, weight, bias, ACTS[act], 0.2)
    got = triton_ops.linear_act(inputs, weight, bias, ACTS[act], 0.2)
    assert got.shape == (37, 20) and torch.allclose(got, expected, atol=1e-5), (got - expected).abs().max()


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("act", ACTS)
def test_a_layer_backward_is_its_product_times_the_derivative_in_one_kernel(triton_ops, act, transposed):
    torch.manual_seed(1)
    grad = torch.randn(33, 40)
    weight = torch.randn(70, 40).t() if transposed else torch.randn(40, 70)  # strides either way
    activated = TorchOps.linear_act(torch.randn(33, 70), torch.eye(70), torch.zeros(70), ACTS[act], 0.2)
    expected = TorchOps.grad_through(grad, weight, activated, ACTS[act], 0.2)
    got = triton_ops.grad_through(grad, weight, activated, ACTS[act], 0.2)
    assert torch.allclose(got, expected, atol=1e-5), (got - expected).abs().max()


def test_the_fused_step_with_the_kernels_is_the_fused_step(triton_ops):
    """Two steps of --recipe improved (R1 included) through each set of operations."""
    config = TrainConfig(batch_size=16, latent_size=8, hidden_size=32, recipe="improved")
    states = []
    for ops in (None, triton_ops):
        torch.manual_seed(0)
        state = build_state(config, torch.device("cpu"))
        state.ops = ops
        states.append(state)
    for step in range(2):
        real = torch.rand(16, 784) * 2 - 1
        stats = []
        for state in states:
            torch.manual_seed(10 + step)
            stats.append(state.run_step(real))
        assert torch.allclose(stats[0], stats[1], atol=1e-5)
        for network in ("generator", "discriminator"):
            torch_params, triton_params = (getattr(state, network).parameters() for state in states)
            for torch_param, triton_param in zip(torch_params, triton_params, strict=True):
                assert torch.allclose(torch_param.grad, triton_param.grad, rtol=1e-3, atol=1e-6), network


def test_the_triton_engine_asks_for_a_gpu():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match="--engine triton runs Triton kernels on a CUDA GPU"):
        build_state(TrainConfig(engine="triton"), torch.device("cpu"))
