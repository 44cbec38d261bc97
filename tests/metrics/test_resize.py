"""MATLAB-compatible imresize: an independent direct implementation, PIL in the interior,
and the properties MATLAB's kernel guarantees."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from salloss.errors import DataError
from salloss.metrics.resize import imresize, resize_matrix, resize_to


def keys_cubic(x: float) -> float:
    x = abs(x)
    if x <= 1:
        return 1.5 * x**3 - 2.5 * x**2 + 1
    if x <= 2:
        return -0.5 * x**3 + 2.5 * x**2 - 4 * x + 2
    return 0.0


def direct_resize_1d(v: np.ndarray, out_len: int, scale: float) -> np.ndarray:
    """Per-output-pixel evaluation of MATLAB's rule, symmetric padding via np.pad."""
    n = v.size
    aa = scale < 1
    width = 4 / scale if aa else 4
    pad = int(math.ceil(width)) + 4
    padded = np.pad(v, pad, mode="symmetric")
    out = np.empty(out_len)
    for i in range(out_len):
        u = (i + 1) / scale + 0.5 * (1 - 1 / scale)  # 1-based input coordinate
        left = math.floor(u - width / 2)
        ks = np.arange(left, left + int(math.ceil(width)) + 2)
        w = np.array([scale * keys_cubic(scale * (u - k)) if aa else keys_cubic(u - k) for k in ks])
        w /= w.sum()
        out[i] = sum(wj * padded[k - 1 + pad] for wj, k in zip(w, ks, strict=True))
    assert n > 0
    return out


def direct_resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    sr, sc = size[0] / img.shape[0], size[1] / img.shape[1]
    tmp = np.stack([direct_resize_1d(img[:, j], size[0], sr) for j in range(img.shape[1])], 1)
    return np.stack([direct_resize_1d(tmp[i], size[1], sc) for i in range(size[0])], 0)


@pytest.mark.parametrize(
    "shape,size",
    [((9, 13), (20, 7)), ((12, 10), (5, 23)), ((70, 40), (3, 2)), ((4, 5), (4, 11))],
)
def test_matches_direct_implementation_including_borders(shape, size):
    img = np.random.default_rng(1).random(shape)
    np.testing.assert_allclose(imresize(img, size=size), direct_resize(img, size), atol=1e-12)


@pytest.mark.parametrize("size", [(40, 55), (200, 301), (24, 32)])
def test_interior_matches_pil_bicubic(size):
    # PIL's BICUBIC is the same Keys a=-0.5 antialiased kernel but clips at the border, so
    # only the interior (away from the kernel's reach of the border) must agree.
    img = np.random.default_rng(2).random((97, 131))
    ours = imresize(img, size=size)
    pil = Image.fromarray(img.astype(np.float32), mode="F").resize(
        (size[1], size[0]), Image.BICUBIC
    )
    m = 10
    np.testing.assert_allclose(ours[m:-m, m:-m], np.asarray(pil)[m:-m, m:-m], atol=1e-6)


def test_scalar_scale_output_is_ceil_and_uses_given_scale():
    img = np.random.default_rng(3).random((683, 1024))
    out = imresize(img, scale=1 / 32)
    assert out.shape == (22, 32)  # ceil(683/32), 1024/32
    # The row axis uses scale 1/32 exactly (not 22/683): compare with the explicit matrix.
    rows = resize_matrix(683, 22, 1 / 32) @ img
    np.testing.assert_allclose(out, (resize_matrix(1024, 32, 1 / 32) @ rows.T).T, atol=1e-13)
    assert not np.allclose(resize_matrix(683, 22, 1 / 32).toarray(),
                           resize_matrix(683, 22, 22 / 683).toarray())


def test_same_size_is_identity_and_weights_sum_to_one():
    img = np.random.default_rng(4).random((17, 23))
    np.testing.assert_array_equal(imresize(img, size=img.shape), img)
    for args in [(17, 40, 40 / 17), (100, 7, 0.07), (33, 1, 1 / 33)]:
        np.testing.assert_allclose(np.asarray(resize_matrix(*args).sum(axis=1)).ravel(), 1.0)


def test_constant_and_ramp_preserved():
    const = np.full((31, 45), 2.5)
    np.testing.assert_allclose(imresize(const, size=(13, 91)), 2.5, atol=1e-12)
    # The cubic kernel reproduces linear functions away from the (mirrored) border.
    ramp = np.tile(np.arange(64, dtype=float), (8, 1))
    up = imresize(ramp, size=(8, 128))
    x = (np.arange(1, 129) / 2 + 0.25) - 1  # 0-based input coordinate of each output column
    np.testing.assert_allclose(up[:, 4:-4], np.tile(x[4:-4], (8, 1)), atol=1e-12)


def test_mirror_symmetry():
    img = np.random.default_rng(5).random((15, 20))
    a = imresize(img[:, ::-1], size=(9, 33))
    b = imresize(img, size=(9, 33))[:, ::-1]
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_three_channels_and_integer_input():
    img = np.random.default_rng(6).integers(0, 256, (10, 12, 3)).astype(np.uint8)
    out = imresize(img, size=(5, 7))
    assert out.shape == (5, 7, 3) and out.dtype == np.float64
    np.testing.assert_allclose(out[:, :, 1], imresize(img[:, :, 1].astype(float), size=(5, 7)))


def test_resize_to_skips_same_shape():
    img = np.random.default_rng(7).random((5, 6))
    assert resize_to(img, (5, 6)) is img
    assert resize_to(img, (10, 12)).shape == (10, 12)


@pytest.mark.parametrize(
    "kwargs,msg",
    [({}, "exactly one"), ({"size": (3, 4), "scale": 0.5}, "exactly one"),
     ({"scale": -1.0}, "positive"), ({"size": (0, 4)}, "positive"), ({"size": "ab"}, "rows")],
)
def test_bad_arguments(kwargs, msg):
    with pytest.raises(DataError, match=msg):
        imresize(np.ones((4, 4)), **kwargs)


def test_bad_arrays():
    with pytest.raises(DataError, match="2-D"):
        imresize(np.ones(5), size=(2, 2))
    with pytest.raises(DataError, match="empty"):
        imresize(np.ones((0, 3)), size=(2, 2))
