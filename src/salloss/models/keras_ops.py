"""Keras-1 layer semantics SAM's released code depends on, for either Keras backend.

SAM (marcellacornia/sam) was written for Keras 1 on Theano. Two of its layers behave
differently depending on the backend's idea of 'same' padding, so both are offered:

``backend='tensorflow'`` (default, SPEC.md §3): a 2×2 'same' max-pool pads right/bottom by what
is missing, so stride 1 gives ``out[i] = max(x[i], x[i+1])`` (the last row sees itself only)
and stride 2 on an odd size keeps a last, partial window (ceil). ×r upsampling is plain bilinear
interpolation with half-pixel centres (``align_corners=False``).

``backend='theano'`` (what the released code actually ran): Keras-1's Theano ``pool2d`` pads
one pixel on EVERY side and then keeps the first ``ceil(n / stride)`` outputs, so windows start
one pixel before the image: stride 1 gives ``out[i] = max(x[i-1], x[i])`` (top/left padding)
and stride 2 gives ``out[i] = max(x[2i-1], x[2i])`` (on an even size the last row is never
seen). Theano's ``bilinear_upsampling`` replicates the border once and applies a transposed
convolution with the triangular kernel ``[1, 2, …, r, …, 2, 1] / r``, which puts input pixel
``i`` at output ``r·i + 2r - 1 - pad`` with ``pad = 2r - (r-1)//2 - 1`` (for r = 16:
``16i + 7`` instead of bilinear's ``16i + 7.5``: half an output pixel up/left).

Padded pooling values are −inf (Theano pads with zeros, which is the same after a ReLU).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

BACKENDS = ("tensorflow", "theano")


def same_max_pool2x2(x: Tensor, stride: int, backend: str = "tensorflow") -> Tensor:
    """2×2 max-pool with Keras 'same' padding; output ``ceil(H/stride) × ceil(W/stride)``."""
    if stride not in (1, 2):
        raise ValueError(f"stride must be 1 or 2, got {stride}")
    h, w = x.shape[-2:]
    if backend == "tensorflow":
        if stride == 1:
            return F.max_pool2d(x, 2, 1, padding=1)[..., 1:, 1:]
        return F.max_pool2d(x, 2, 2, ceil_mode=True)
    if backend == "theano":
        out = F.max_pool2d(x, 2, stride, padding=1)
        return out[..., : math.ceil(h / stride), : math.ceil(w / stride)]
    raise ValueError(f"unknown Keras backend {backend!r}; choose one of {BACKENDS}")


class SameMaxPool2x2(nn.Module):
    """Module form of `same_max_pool2x2` (no parameters), so it sits in a VGG ``Sequential``."""

    def __init__(self, stride: int, backend: str = "tensorflow") -> None:
        super().__init__()
        if backend not in BACKENDS:
            raise ValueError(f"unknown Keras backend {backend!r}; choose one of {BACKENDS}")
        self.stride = stride
        self.backend = backend

    def forward(self, x: Tensor) -> Tensor:
        """Pool ``x`` (B×C×H×W)."""
        return same_max_pool2x2(x, self.stride, self.backend)

    def extra_repr(self) -> str:
        return f"kernel_size=2, stride={self.stride}, padding='same' ({self.backend})"


def theano_bilinear_kernel(ratio: int) -> Tensor:
    """Theano's 1-D bilinear kernel ``[1, 2, …, r, …, 2, 1] / r`` (length 2r − 1, float32)."""
    up = torch.arange(1, ratio + 1, dtype=torch.float32)
    return torch.cat([up, up.flip(0)[1:]]) / ratio


def theano_bilinear_upsample(x: Tensor, ratio: int) -> Tensor:
    """Theano's ``bilinear_upsampling(x, ratio)``: B×C×H×W → B×C×(rH)×(rW)."""
    if ratio == 1:
        return x
    b, c, h, w = x.shape
    y = F.pad(x.reshape(b * c, 1, h, w), (1, 1, 1, 1), mode="replicate")
    kern = theano_bilinear_kernel(ratio).to(device=x.device, dtype=x.dtype)
    pad = 2 * ratio - (ratio - 1) // 2 - 1
    k = 2 * ratio - 1

    def extra(n: int) -> int:
        # output_padding making the transposed conv exactly n·r long (Theano passes the shape)
        return n * ratio - ((n + 1) * ratio - 2 * pad + k)

    y = F.conv_transpose2d(
        y, kern.view(1, 1, k, 1), stride=(ratio, 1), padding=(pad, 0), output_padding=(extra(h), 0)
    )
    y = F.conv_transpose2d(
        y, kern.view(1, 1, 1, k), stride=(1, ratio), padding=(0, pad), output_padding=(0, extra(w))
    )
    return y.reshape(b, c, h * ratio, w * ratio)


def upsample(
    x: Tensor, ratio: int, size: tuple[int, int] | None = None, backend: str = "tensorflow"
) -> Tensor:
    """×``ratio`` bilinear upsampling (or to ``size`` when given; tensorflow backend only)."""
    if backend == "theano":
        if size is not None:
            raise ValueError("backend='theano' upsamples by an integer ratio only, not to a size")
        return theano_bilinear_upsample(x, ratio)
    if size is None:
        size = (x.shape[-2] * ratio, x.shape[-1] * ratio)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def keras_normal_(weight: Tensor, std: float = 0.05) -> Tensor:
    """Keras-1 'normal' initialisation: N(0, 0.05²)."""
    return nn.init.normal_(weight, 0.0, std)


def keras_orthogonal_(weight: Tensor, gain: float = 1.1) -> Tensor:
    """Keras-1 'orthogonal' initialisation: the (out, in·k·k) matrix has orthonormal rows
    (or columns, whichever are fewer), times 1.1.

    Same distribution as ``nn.init.orthogonal_`` (the Q of a Gaussian matrix with R's diagonal
    positive) but computed by Cholesky-QR in float64: two matrix products instead of a
    Householder QR, which is 10–30× slower on a busy 2-core machine.
    """
    rows = weight.shape[0]
    cols = weight.numel() // rows
    tall = torch.randn(max(rows, cols), min(rows, cols), dtype=torch.float64)
    chol = torch.linalg.cholesky(tall.T @ tall)  # tall = Q · cholᵀ
    q = torch.linalg.solve_triangular(chol.T, tall, upper=True, left=False)
    if rows < cols:
        q = q.T
    with torch.no_grad():
        weight.copy_((gain * q).reshape(weight.shape))
    return weight
