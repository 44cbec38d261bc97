"""Keras-1 'same' pooling and Theano upsampling, checked against plain NumPy definitions."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from salloss.models.keras_ops import (
    SameMaxPool2x2,
    same_max_pool2x2,
    theano_bilinear_kernel,
    theano_bilinear_upsample,
    upsample,
)


def window_starts(n: int, stride: int, backend: str) -> list[int]:
    """First index of each 2-wide pooling window along an axis of length n."""
    out = math.ceil(n / stride)
    if backend == "tensorflow":  # TF 'same': pad what is missing, the smaller half first
        total = max((out - 1) * stride + 2 - n, 0)
        first = -(total // 2)
    else:  # Keras-1 Theano: pad 1 everywhere, keep the first `out` windows
        first = -1
    return [first + k * stride for k in range(out)]


def pool_reference(x: np.ndarray, stride: int, backend: str) -> np.ndarray:
    h, w = x.shape
    rows, cols = window_starts(h, stride, backend), window_starts(w, stride, backend)
    out = np.empty((len(rows), len(cols)))
    for a, r in enumerate(rows):
        for b, c in enumerate(cols):
            patch = x[max(r, 0) : r + 2, max(c, 0) : c + 2]
            out[a, b] = patch.max()
    return out


@pytest.mark.parametrize("backend", ["tensorflow", "theano"])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("size", [(6, 8), (7, 9), (5, 4), (1, 3)])
def test_same_max_pool_matches_definition(backend, stride, size):
    x = torch.randn(2, 3, *size, dtype=torch.float64)
    got = same_max_pool2x2(x, stride, backend)
    assert got.shape[-2:] == (math.ceil(size[0] / stride), math.ceil(size[1] / stride))
    for b in range(2):
        for c in range(3):
            np.testing.assert_array_equal(
                got[b, c].numpy(), pool_reference(x[b, c].numpy(), stride, backend)
            )


def test_pool_conventions_differ_as_documented():
    x = torch.arange(4.0).view(1, 1, 4, 1).expand(1, 1, 4, 2).contiguous()
    # stride 1: tensorflow looks down (max(x[i], x[i+1])), theano looks up (max(x[i-1], x[i]))
    assert same_max_pool2x2(x, 1, "tensorflow")[0, 0, :, 0].tolist() == [1, 2, 3, 3]
    assert same_max_pool2x2(x, 1, "theano")[0, 0, :, 0].tolist() == [0, 1, 2, 3]
    # stride 2 on an even size: theano's windows are [-1,0], [1,2] — row 3 is never seen
    assert same_max_pool2x2(x, 2, "tensorflow")[0, 0, :, 0].tolist() == [1, 3]
    assert same_max_pool2x2(x, 2, "theano")[0, 0, :, 0].tolist() == [0, 2]


def test_pool_module_and_bad_arguments():
    x = torch.randn(1, 2, 5, 5)
    torch.testing.assert_close(SameMaxPool2x2(1)(x), same_max_pool2x2(x, 1))
    assert "stride=1" in repr(SameMaxPool2x2(1))
    with pytest.raises(ValueError, match="backend"):
        SameMaxPool2x2(1, "caffe")
    with pytest.raises(ValueError, match="stride"):
        same_max_pool2x2(x, 3)


def test_pool_keeps_low_precision_dtype():
    x = torch.randn(1, 2, 5, 7, dtype=torch.bfloat16)
    for backend in ("tensorflow", "theano"):
        assert same_max_pool2x2(x, 1, backend).dtype == torch.bfloat16


def theano_upsample_reference(x: np.ndarray, r: int) -> np.ndarray:
    """Edge-replicate, then the transpose of a stride-r conv with Theano's triangular kernel."""
    k = np.concatenate([np.arange(1, r + 1), np.arange(r - 1, 0, -1)]) / r
    pad = 2 * r - (r - 1) // 2 - 1

    def along_rows(a: np.ndarray) -> np.ndarray:
        n = a.shape[0] - 2
        out = np.zeros((n * r, a.shape[1]))
        for o in range(n * r):
            for j in range(a.shape[0]):
                t = o + pad - j * r
                if 0 <= t < len(k):
                    out[o] += k[t] * a[j]
        return out

    p = np.pad(x, 1, mode="edge")
    return along_rows(along_rows(p).T).T


@pytest.mark.parametrize("ratio", [2, 3, 4, 16])
def test_theano_upsampling_matches_definition(ratio):
    x = torch.rand(1, 2, 3, 5, dtype=torch.float64)
    got = theano_bilinear_upsample(x, ratio)
    assert got.shape == (1, 2, 3 * ratio, 5 * ratio)
    for c in range(2):
        np.testing.assert_allclose(
            got[0, c].numpy(), theano_upsample_reference(x[0, c].numpy(), ratio), atol=1e-12
        )


def test_theano_upsampling_places_pixels_half_a_pixel_early():
    # A ramp along x: bilinear (align_corners=False) puts x[i] at 16i + 7.5, Theano at 16i + 7.
    x = torch.arange(6.0, dtype=torch.float64).view(1, 1, 1, 6).expand(1, 1, 2, 6)
    up = theano_bilinear_upsample(x, 16)[0, 0, 0]
    for i in range(1, 5):
        assert up[16 * i + 7].item() == pytest.approx(i)
    ref = F.interpolate(x, scale_factor=16, mode="bilinear", align_corners=False)[0, 0, 0]
    assert ref[16 * 2 + 7].item() == pytest.approx(2 - 1 / 32)
    assert theano_bilinear_kernel(3).tolist() == pytest.approx([1 / 3, 2 / 3, 1, 2 / 3, 1 / 3])


def test_upsampling_keeps_constants_and_sizes():
    x = torch.full((2, 1, 4, 5), 0.7)
    torch.testing.assert_close(upsample(x, 16, backend="theano"), torch.full((2, 1, 64, 80), 0.7))
    assert upsample(x, 16).shape == (2, 1, 64, 80)
    assert upsample(x, 16, size=(30, 41)).shape == (2, 1, 30, 41)
    with pytest.raises(ValueError, match="ratio"):
        upsample(x, 16, size=(30, 41), backend="theano")
    assert theano_bilinear_upsample(x, 1) is x
    assert theano_bilinear_upsample(x.to(torch.bfloat16), 4).dtype == torch.bfloat16
