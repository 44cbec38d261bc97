"""Fixtures of the loss tests: random maps and the (random-init, offline) VGG-16 pyramid."""

from __future__ import annotations

import pytest
import torch

from salloss.losses import REGISTRY, load_extractor


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Tiny convolutions run 10× slower with 2 intra-op threads on a busy 2-core machine
    (oversubscription); one thread keeps this part's suite fast. Restored after each module."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def extractor():
    """The perceptual VGG-16 with weights='none' (no download possible in tests); cached, so
    every `build(..., vgg_weights='none')` in the session shares it."""
    return load_extractor("none")


def random_maps(b: int = 3, h: int = 16, w: int = 20, seed: int = 0, dtype=torch.float64):
    """(pred in (0.01, 0.99), density ≥ 0 with max ≈ 5 — not normalised on purpose —,
    fixations 0/1 with at least one per image)."""
    g = torch.Generator().manual_seed(seed)
    pred = 0.01 + 0.98 * torch.rand(b, 1, h, w, generator=g, dtype=dtype)
    density = 5 * torch.rand(b, 1, h, w, generator=g, dtype=dtype) ** 2
    fix = (torch.rand(b, 1, h, w, generator=g) < 0.1).to(dtype)
    fix[:, 0, 0, 0] = 1
    return pred, density, fix


def single_spec(name: str) -> str:
    """A valid one-term spec for `name` (similarities negated, required params filled)."""
    info = REGISTRY[name]
    args = {"lam": "0.55", "w": "0.7"}
    params = [f"{k}={args[k]}" for k in info.required]
    body = f"{name}({', '.join(params)})" if params else name
    return f"-{body}" if info.higher_is_better else body


@pytest.fixture
def make_maps():
    """Factory of random (pred, density, fixations); see `random_maps`."""
    return random_maps


@pytest.fixture
def spec_for():
    """Factory of one-term specs; see `single_spec`."""
    return single_spec
