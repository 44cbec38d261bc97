"""Attentive ConvLSTM: the fused forward equals the step-by-step equations; Keras init."""

import pytest
import torch

from salloss.errors import ConfigError
from salloss.models.convlstm import AttentiveConvLSTM


def reference_forward(m: AttentiveConvLSTM, x: torch.Tensor):
    """SAM's step() written out with one call per convolution and explicit zero states."""
    b, _, h, w = x.shape
    hs = torch.zeros(b, m.out_channels, h, w, dtype=x.dtype)
    cs = torch.zeros_like(hs)
    atts = []
    for _ in range(m.timesteps):
        e = m.V_a(torch.tanh(m.W_a(hs) + m.U_a(x)))
        a = torch.softmax(e.flatten(1), dim=1).view(b, 1, h, w)
        atts.append(a)
        xt = x * a
        i = torch.sigmoid(m.W_i(xt) + m.U_i(hs))
        f = torch.sigmoid(m.W_f(xt) + m.U_f(hs))
        c_new = f * cs + i * torch.tanh(m.W_c(xt) + m.U_c(hs))
        o = torch.sigmoid(m.W_o(xt) + m.U_o(hs))
        hs, cs = o * torch.tanh(c_new), c_new
    return hs, torch.stack(atts, 1)


@pytest.fixture
def small():
    torch.manual_seed(0)
    m = AttentiveConvLSTM(in_channels=4, out_channels=5, att_channels=3, timesteps=3).double()
    with torch.no_grad():  # non-trivial attention and biases, unlike the Keras init
        for p in m.parameters():
            p.normal_(0, 0.3)
    return m


def test_fused_forward_matches_step_equations(small):
    x = torch.randn(2, 4, 6, 7, dtype=torch.float64)
    h, att = small(x)
    h_ref, att_ref = reference_forward(small, x)
    torch.testing.assert_close(h, h_ref)
    torch.testing.assert_close(att.double(), att_ref)
    assert h.shape == (2, 5, 6, 7) and att.shape == (2, 3, 1, 6, 7)


def test_attention_is_a_distribution_over_positions(small):
    x = torch.randn(3, 4, 5, 8, dtype=torch.float64)
    _, att = small(x)
    sums = att.sum(dim=(-2, -1))
    torch.testing.assert_close(sums, torch.ones_like(sums))
    assert att.min() > 0
    assert not torch.allclose(att, torch.full_like(att, 1 / 40))  # V_a ≠ 0: not uniform
    torch.testing.assert_close(small.last_attention, att)
    assert not small.last_attention.requires_grad


def test_keras_initialisation():
    torch.manual_seed(0)
    m = AttentiveConvLSTM(64, 64, 64, timesteps=2)
    assert torch.all(m.V_a.weight == 0) and m.V_a.bias is None
    for name in ("W_a", "U_a", "W_i", "W_f", "W_c", "W_o"):
        std = getattr(m, name).weight.std().item()
        assert std == pytest.approx(0.05, rel=0.05), name
    eye = torch.eye(64)
    for g in "ifco":
        u = getattr(m, f"U_{g}").weight.reshape(64, -1)
        torch.testing.assert_close(u @ u.T, 1.21 * eye, atol=1e-4, rtol=0)  # orthogonal ×1.1
    u_a = m.U_a.weight.reshape(64, -1)
    assert not torch.allclose(u_a @ u_a.T, 1.21 * eye, atol=1e-2)  # U_a is 'normal', not orthogonal
    assert all(torch.all(c.bias == 0) for c in m.modules() if getattr(c, "bias", None) is not None)
    # V_a = 0 → the first attention map is uniform
    _, att = m(torch.randn(1, 64, 3, 4))
    torch.testing.assert_close(att, torch.full_like(att, 1 / 12))


def test_parameter_bookkeeping_matches_keras():
    m = AttentiveConvLSTM()  # 512 channels, 3×3
    conv = 512 * 512 * 9 + 512
    assert sum(p.numel() for p in m.parameters()) == 10 * conv + 512 * 9 == 23_602_688
    assert sum(p.numel() for p in m.V_a.parameters()) == 4608


def test_gradients_reach_every_convolution(small):
    h, _ = small(torch.randn(1, 4, 5, 5, dtype=torch.float64))
    h.sum().backward()
    for name, p in small.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_bad_arguments():
    with pytest.raises(ConfigError, match="timesteps"):
        AttentiveConvLSTM(4, 4, 4, timesteps=0)
    with pytest.raises(ConfigError, match="kernel_size"):
        AttentiveConvLSTM(4, 4, 4, kernel_size=2)
    with pytest.raises(ValueError, match="B×4×H×W"):
        AttentiveConvLSTM(4, 4, 4)(torch.randn(1, 3, 5, 5))
