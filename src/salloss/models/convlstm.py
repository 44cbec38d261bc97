"""SAM's Attentive ConvLSTM (Cornia et al. 2018, §3.2; Keras layer ``AttentiveConvLSTM``).

The same feature map X (B×C×H×W) is fed for T steps; h and c start at zero. At each step:

    e  = V_a * tanh(W_a * h + U_a * X)        (V_a: 1 output channel, no bias)
    a  = softmax of e over all H·W positions  (one distribution per image)
    X̃  = X ⊙ a
    i  = σ(W_i * X̃ + U_i * h),  f = σ(W_f * X̃ + U_f * h),  o = σ(W_o * X̃ + U_o * h)
    c  = f ⊙ c + i ⊙ tanh(W_c * X̃ + U_c * h),  h = o ⊙ tanh(c)

``*`` is a k×k 'same' convolution; all but V_a have biases. Output: the last h. Initialisation
follows Keras 1: W_* (W_a, U_a — both use the layer's ``init`` — and W_i,f,c,o) N(0, 0.05²);
U_i,f,c,o orthogonal ×1.1; V_a zeros (so the first attention is uniform); biases zero.

Each convolution is its own module (so parameters are named and counted as in Keras), but the
forward pass concatenates the five convs applied to h and the four applied to X̃ into two
convolutions, and computes U_a * X once (X does not change between steps): the same numbers,
fewer and larger kernels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from salloss.errors import ConfigError
from salloss.models import options as opt
from salloss.models.keras_ops import keras_normal_, keras_orthogonal_

GATES = ("i", "f", "c", "o")


class AttentiveConvLSTM(nn.Module):
    """Attentive ConvLSTM refining a feature map over ``timesteps`` steps (see module doc)."""

    def __init__(
        self,
        in_channels: int = 512,
        out_channels: int = 512,
        att_channels: int = 512,
        kernel_size: int = 3,
        timesteps: int = 4,
    ) -> None:
        super().__init__()
        in_channels = opt.positive_int("in_channels", in_channels)
        out_channels = opt.positive_int("out_channels", out_channels)
        att_channels = opt.positive_int("att_channels", att_channels)
        timesteps = opt.positive_int("timesteps", timesteps)
        if opt.positive_int("kernel_size", kernel_size) % 2 == 0:
            raise ConfigError(f"kernel_size must be odd ('same' padding), got {kernel_size}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.att_channels, self.timesteps = att_channels, timesteps
        pad = kernel_size // 2

        def conv(cin: int, cout: int, bias: bool = True) -> nn.Conv2d:
            return nn.Conv2d(cin, cout, kernel_size, padding=pad, bias=bias)

        self.W_a = conv(out_channels, att_channels)  # applied to h
        self.U_a = conv(in_channels, att_channels)  # applied to X
        self.V_a = conv(att_channels, 1, bias=False)
        for g in GATES:
            setattr(self, f"W_{g}", conv(in_channels, out_channels))  # applied to X̃
            setattr(self, f"U_{g}", conv(out_channels, out_channels))  # applied to h
        self.padding = pad
        # Attention maps of the last forward pass (B×T×1×H×W, detached), for inspection.
        self.last_attention: Tensor | None = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Keras-1 initialisation (module docstring)."""
        for name in ("W_a", "U_a", *(f"W_{g}" for g in GATES)):
            keras_normal_(getattr(self, name).weight)
        for g in GATES:
            keras_orthogonal_(getattr(self, f"U_{g}").weight)
        nn.init.zeros_(self.V_a.weight)
        for m in self.modules():
            if isinstance(m, nn.Conv2d) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def _fused(self, names: list[str]) -> tuple[Tensor, Tensor]:
        convs = [getattr(self, n) for n in names]
        return torch.cat([c.weight for c in convs]), torch.cat([c.bias for c in convs])

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """X (B×C×H×W) → (last h: B×out×H×W, attention maps: B×T×1×H×W, each summing to 1)."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"expected B×{self.in_channels}×H×W features, got shape {tuple(x.shape)}"
            )
        b, _, height, width = x.shape
        w_h, b_h = self._fused(["W_a", *(f"U_{g}" for g in GATES)])
        w_x, b_x = self._fused([f"W_{g}" for g in GATES])
        ux = self.U_a(x)
        splits = [self.att_channels] + [self.out_channels] * 4
        h: Tensor | None = None
        c: Tensor | None = None
        attention = []
        for _ in range(self.timesteps):
            if h is None:  # h = 0: every conv of h is its bias
                hh = b_h.to(ux.dtype).view(1, -1, 1, 1).expand(b, -1, height, width)
            else:
                hh = F.conv2d(h, w_h, b_h, padding=self.padding)
            h_a, h_i, h_f, h_c, h_o = hh.split(splits, dim=1)
            e = self.V_a(torch.tanh(h_a + ux))
            # softmax over positions in float32 (a sum of H·W terms), then back to x's dtype
            a = torch.softmax(e.reshape(b, -1).float(), dim=1).reshape(b, 1, height, width)
            attention.append(a)
            xx = F.conv2d(x * a.to(x.dtype), w_x, b_x, padding=self.padding)
            x_i, x_f, x_c, x_o = xx.chunk(4, dim=1)
            i = torch.sigmoid(x_i + h_i)
            f = torch.sigmoid(x_f + h_f)
            o = torch.sigmoid(x_o + h_o)
            g = i * torch.tanh(x_c + h_c)
            c = g if c is None else f * c + g  # c starts at zero
            h = o * torch.tanh(c)
        att = torch.stack(attention, dim=1)
        self.last_attention = att.detach()
        assert h is not None
        return h, att
