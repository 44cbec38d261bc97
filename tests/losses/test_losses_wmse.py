"""W-MSE's dead optimum (SPEC.md §1 decision): ML-Net's max-normalisation must never make a dead
(all-zero) or fading ReLU map an attractive, finite minimum.

With P / max(P) and the max clamped at a tiny epsilon, the all-zero map scored 0.064 on the demo's
training images — BELOW the centre-bias map (0.080) and a trained map (0.108) — with zero
gradient, so training drifted there and early stopping kept it. The liveness offset κ sends a
fading map towards the uniform map instead: dying costs, and the gradient pushes back.
"""

from __future__ import annotations

import math

import pytest
import torch

from salloss import losses as L

H, W = 48, 64


def _gauss(cy, cx, sigma):
    y, x = torch.meshgrid(torch.arange(H, dtype=torch.float64),
                          torch.arange(W, dtype=torch.float64), indexing="ij")
    return torch.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * sigma**2))


def _density():
    """A sparse density like a fixation map's: two objects off the centre."""
    return (_gauss(14, 18, 3.0) + 0.6 * _gauss(30, 47, 4.0)).view(1, 1, H, W)


def _center_bias():
    return _gauss(H / 2, W / 2, 12.0).view(1, 1, H, W)


def test_dead_map_scores_worse_than_the_center_bias_map():
    density = _density()
    dead = float(L.wmse(torch.zeros(1, 1, H, W, dtype=torch.float64), density))
    center = float(L.wmse(_center_bias(), density))
    truth = float(L.wmse(density * 3.0, density))
    assert truth < 1e-6 < center < dead
    # the dead map is scored as the uniform map would be: W-MSE's worst case of a flat guess
    uniform = float(L.wmse(torch.ones(1, 1, H, W, dtype=torch.float64), density))
    assert dead == pytest.approx(uniform, rel=1e-12)


def test_fading_map_loss_rises_towards_the_dead_map():
    """Scaling a live map down to nothing raises the loss monotonically (no valley at 0)."""
    density, pred = _density(), _center_bias()
    values = [float(L.wmse(c * pred, density)) for c in (1.0, 0.1, 1e-2, 1e-3, 1e-4, 0.0)]
    assert values == sorted(values)
    assert values[-1] - values[0] > 0.3


def test_gradient_of_a_near_dead_map_pushes_it_back_up():
    density = _density()
    pred = (1e-4 * _center_bias()).requires_grad_(True)
    L.wmse(pred, density).backward()
    # lowering the loss = raising the map: the step −grad is positive at the peak
    assert float(-pred.grad.flatten()[torch.argmax(pred.detach())]) > 0


def test_live_maps_are_normalised_as_ml_net_does():
    """For a live map (max ≫ κ) the value is ML-Net's P/max(P) loss to ~κ/max(P)."""
    density, pred = _density(), _center_bias() * 0.7
    ml_net = float(L.wmse(pred, density, kappa=0.0))
    assert float(L.wmse(pred, density)) == pytest.approx(ml_net, rel=5e-3)
    assert float(L.wmse(10 * pred, density)) == pytest.approx(ml_net, rel=5e-4)


def test_kappa_zero_is_ml_nets_unguarded_division():
    """kappa=0: a dead map is NaN, as in ML-Net's Keras code (the trainer then stops, naming
    the term), never a finite minimum."""
    value = L.wmse(torch.zeros(1, 1, H, W), _density().float(), kappa=0.0)
    assert math.isnan(float(value))
    assert L.build("wmse(kappa=0)").terms == {"wmse(kappa=0)": 1.0}


def test_kappa_rule():
    param = L.REGISTRY["wmse"].params["kappa"]
    assert param.default == 1e-3 and param.rule == "kappa >= 0"
    assert param.valid(0.0) and param.valid(0.5) and not param.valid(-1e-3)
