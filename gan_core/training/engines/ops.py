"""The fused step's two kinds of layer work, as plain torch operations or as Triton kernels.

The fused step (fused.py) does two things per layer besides the weight gradients:
  forward:   act(x @ W^T + b)                  a matrix product, its bias and its activation;
  backward:  (grad @ W) * act'(activated)      a product and the activation's derivative.
TorchOps runs each as a product plus one or two elementwise kernels. TritonOps runs each as one
Triton kernel, with the bias and the activation applied to the product's tile before it is
stored: on a GPU, where this model's step is bound by the number of kernels it launches, that
removes about a third of them (--engine triton; CUDA only).

The activation's derivative is read from its output, as autograd does for these functions:
relu and leaky_relu from the sign (a positive slope keeps it), tanh as 1 - y^2, sigmoid as
y (1 - y). tests/test_kernels.py checks the kernels against TorchOps in Triton's interpreter
(TRITON_INTERPRET=1, on the CPU), and tests/test_gpu.py on a GPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Activation codes, shared by both implementations and the kernels.
NONE, RELU, LEAKY_RELU, TANH, SIGMOID = range(5)


class TorchOps:
    """The layer work as torch operations: what the fused step runs on a CPU, and by default; for
    one run (2-D inputs) or N stacked runs (3-D, a leading run dimension)."""

    name = "torch"

    @staticmethod
    def linear_act(inputs, weight, bias, act: int, slope: float = 0.0):
        if inputs.dim() == 2:
            out = torch.addmm(bias, inputs, weight.t())  # what nn.Linear runs
        else:  # N runs stacked on a leading dimension: one batched product for all of them
            out = torch.baddbmm(bias.unsqueeze(-2), inputs, weight.transpose(-2, -1))
        if act == RELU:
            return out.relu_()
        if act == LEAKY_RELU:
            return F.leaky_relu(out, slope)
        if act == TANH:
            return out.tanh_()
        if act == SIGMOID:
            return out.sigmoid_()
        return out

    @staticmethod
    def grad_through(grad, weight, activated, act: int, slope: float = 0.0):
        grad = grad @ weight
        if act == RELU:
            return torch.ops.aten.threshold_backward(grad, activated, 0)
        if act == LEAKY_RELU:
            return torch.ops.aten.leaky_relu_backward(grad, activated, slope, True)
        if act == TANH:
            return grad * (1 - activated * activated)
        if act == SIGMOID:
            return grad * ((1 - activated) * activated)
        return grad


class TritonOps:
    """The same layer work, each a single Triton kernel (built on first use)."""

    name = "triton"
    BLOCK = 32  # tile side; tl.dot needs at least 16

    def __init__(self):
        self._kernels = _build_kernels()

    def linear_act(self, inputs, weight, bias, act: int, slope: float = 0.0):
        rows, cols = inputs.shape[0], weight.shape[0]
        out = torch.empty(rows, cols, device=inputs.device, dtype=inputs.dtype)
        self._launch(inputs, weight.t(), bias, None, out, act, slope, forward=True)
        return out

    def grad_through(self, grad, weight, activated, act: int, slope: float = 0.0):
        out = torch.empty_like(activated)
        self._launch(grad, weight, None, activated, out, act, slope, forward=False)
        return out

    def _launch(self, left, right, bias, activated, out, act, slope, forward: bool):
        """out = epilogue(left @ right): + bias and act (forward), or * act'(activated)."""
        import triton  # deferred: only --engine triton needs it

        rows, inner = left.shape
        cols = right.shape[1]
        grid = (triton.cdiv(rows, self.BLOCK), triton.cdiv(cols, self.BLOCK))
        extra = bias if forward else activated
        self._kernels["matmul_epilogue"][grid](
            left, right, extra, out, rows, cols, inner,
            left.stride(0), left.stride(1), right.stride(0), right.stride(1),
            extra.stride(0) if not forward else 0, extra.stride(-1),
            out.stride(0), out.stride(1),
            FORWARD=forward, ACT=act, SLOPE=float(slope),
            BLOCK_M=self.BLOCK, BLOCK_N=self.BLOCK, BLOCK_K=self.BLOCK,
        )  # fmt: skip


def _build_kernels() -> dict:
    """Decorated when first asked for, so that TRITON_INTERPRET set by then is honoured."""
    import triton  # deferred: Triton is needed only by --engine triton and its tests
    import triton.language as tl

    @triton.jit
    def matmul_epilogue(
        left_ptr, right_ptr, extra_ptr, out_ptr, M, N, K,
        stride_lm, stride_lk, stride_rk, stride_rn, stride_em, stride_en, stride_om, stride_on,
        FORWARD: tl.constexpr, ACT: tl.constexpr, SLOPE: tl.constexpr,
        BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
    ):  # fmt: skip
        rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
        cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
        inner = tl.arange(0, BLOCK_K)
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        for start in range(0, K, BLOCK_K):
            k = start + inner
            left = tl.load(
                left_ptr + rows[:, None] * stride_lm + k[None, :] * stride_lk,
                mask=(rows[:, None] < M) & (k[None, :] < K),
                other=0.0,
            )
            right = tl.load(
                right_ptr + k[:, None] * stride_rk + cols[None, :] * stride_rn,
                mask=(k[:, None] < K) & (cols[None, :] < N),
                other=0.0,
            )
            acc += tl.dot(left, right)
        inside = (rows[:, None] < M) & (cols[None, :] < N)
        if FORWARD:  # + bias, then the activation
            acc += tl.load(extra_ptr + cols * stride_en, mask=cols < N, other=0.0)[None, :]
            if ACT == 1:
                acc = tl.maximum(acc, 0.0)
            elif ACT == 2:
                acc = tl.where(acc > 0, acc, acc * SLOPE)
            elif ACT == 3:
                acc = 2.0 / (1.0 + tl.exp(-2.0 * acc)) - 1.0
            elif ACT == 4:
                acc = 1.0 / (1.0 + tl.exp(-acc))
        else:  # times the activation's derivative, read from its output
            y = tl.load(
                extra_ptr + rows[:, None] * stride_em + cols[None, :] * stride_en, mask=inside, other=0.0
            )
            if ACT == 1:
                acc = tl.where(y > 0, acc, 0.0)
            elif ACT == 2:
                acc = tl.where(y > 0, acc, acc * SLOPE)
            elif ACT == 3:
                acc = acc * (1.0 - y * y)
            elif ACT == 4:
                acc = acc * (y * (1.0 - y))
        tl.store(out_ptr + rows[:, None] * stride_om + cols[None, :] * stride_on, acc, mask=inside)

    return {"matmul_epilogue": matmul_epilogue}
