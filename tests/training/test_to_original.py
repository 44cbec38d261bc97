"""Predictions brought to the original size are MATLAB-bicubic resized and clipped at 0, as the
benchmark's uint8 pipeline does; without the clip KL would be undefined on ringing pixels."""

import math

import numpy as np

from salloss.metrics import kl_div
from salloss.metrics.resize import resize_to
from salloss.training.predict import to_original


def test_ringing_is_clipped_and_the_rest_kept():
    small = np.zeros((8, 8))
    small[3:5, 3:5] = 1.0  # a sharp blob: bicubic upsampling overshoots below 0 around it
    raw = resize_to(small, (37, 41))
    assert raw.min() < 0
    full = to_original(small, (37, 41))
    assert full.shape == (37, 41) and full.min() == 0.0
    np.testing.assert_array_equal(full[raw > 0], raw[raw > 0])
    density = np.ones((37, 41))
    assert math.isnan(kl_div(raw, density))
    assert math.isfinite(kl_div(full, density))
