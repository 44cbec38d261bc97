"""Both models under CUDA autocast (fp16, bf16) with channels_last: finite, close to fp32."""

import pytest
import torch

from salloss.models import build

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", ["baseline", "sam_vgg"])
def test_autocast_channels_last_forward_and_backward(name, dtype):
    torch.manual_seed(0)
    model = build(name, weights="none").cuda().to(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 96, 128, device="cuda").contiguous(memory_format=torch.channels_last)
    model.eval()
    with torch.no_grad():
        ref = model(x)
        with torch.autocast("cuda", dtype=dtype):
            out = model(x)
    assert out.shape == ref.shape and torch.isfinite(out).all()
    torch.testing.assert_close(out.float(), ref, rtol=0.05, atol=0.05 * ref.abs().max().item())
    if name == "sam_vgg":
        att = model.last_attention
        assert att.dtype == torch.float32
        torch.testing.assert_close(att.sum(dim=(-2, -1)), torch.ones_like(att[..., 0, 0]))
    model.train()
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    with torch.autocast("cuda", dtype=dtype):
        loss = model(x).float().mean()
    scaler.scale(loss).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
