"""The CD diagram writes a PNG and a PDF atomically, also for 30 long-named models."""

import numpy as np
import pytest

from salloss.errors import DataError
from salloss.stats import cd_diagram, friedman


def test_cd_diagram_writes_png_and_pdf_for_many_long_labels(tmp_path):
    rng = np.random.default_rng(0)
    k = 30
    names = [f"loss_{i:02d}_10*kld-2*cc-nss+df+gm+sigmse(lam=0.55)" if i % 3 == 0
             else f"loss_{i:02d}" for i in range(k)]
    scores = rng.normal(size=(14, k)) + np.linspace(0, 3, k)
    res = friedman(scores, True, names)
    paths = cd_diagram(res.mean_ranks, res.cd(), tmp_path / "figs" / "cd.png",
                       title="All losses", note=f"Friedman p = {res.pvalue:.1e}")
    assert [p.name for p in paths] == ["cd.png", "cd.pdf"]
    png, pdf = (p.read_bytes() for p in paths)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and pdf[:5] == b"%PDF-"
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["cd.pdf", "cd.png"]
    # The figure widens with label length (long labels must not be clipped).
    from PIL import Image

    wide = Image.open(paths[0]).size
    short = cd_diagram({f"m{i}": r for i, r in enumerate(res.mean_ranks.values())}, res.cd(),
                       tmp_path / "short")
    assert wide[0] > Image.open(short[0]).size[0]


def test_cd_diagram_refuses_non_finite_ranks(tmp_path):
    with pytest.raises(DataError, match="finite"):
        cd_diagram({"a": 1.0, "b": float("nan")}, 1.0, tmp_path / "x")
    assert not list(tmp_path.iterdir())
