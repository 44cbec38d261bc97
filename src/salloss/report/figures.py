"""Figure plumbing shared by the report's figures: a consistent style, PNG + PDF output written
atomically and reproducibly (no creation date in the PDF, so a re-run gives the same files),
and Figure 2 (the centre bias, drawn by `salloss.data.centerbias.plot_center_bias`).

Figures are built with `matplotlib.figure.Figure` directly (no pyplot, no GUI backend).
"""

from __future__ import annotations

import contextlib
import logging
import os
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from salloss.io import atomic_path

log = logging.getLogger(__name__)

FORMATS = ("png", "pdf")
DPI = 200
STYLE = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "pdf.fonttype": 42,  # TrueType in PDFs: editable text, accepted by publishers
    "svg.hashsalt": "salloss",
}


@contextlib.contextmanager
def reproducible() -> Iterator[None]:
    """While saving: fix the PDF creation date (matplotlib honours SOURCE_DATE_EPOCH), so a
    re-run writes identical files, and silence fontTools' per-table INFO lines of PDF font
    subsetting; the environment and the logger level are restored afterwards."""
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = old or "0"
    fonttools = logging.getLogger("fontTools")
    level = fonttools.level
    fonttools.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        fonttools.setLevel(level)
        if old is None:
            del os.environ["SOURCE_DATE_EPOCH"]


def style() -> Any:
    """Context manager applying the report style; build AND save a figure inside it (it
    changes matplotlib's settings only while open)."""
    import matplotlib

    return matplotlib.rc_context(STYLE)


def new_figure(width: float, height: float) -> Any:
    """A Figure of `width` × `height` inches (constrained layout); call inside `style()`."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def save(fig: Any, stem: Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write `fig` as `stem`.png and `stem`.pdf (atomically); return the paths."""
    written = []
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        metadata = {"CreationDate": None} if fmt == "pdf" else None
        with reproducible(), atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=DPI, metadata=metadata)
        written.append(path)
    return written


def wrap(text: str, width: int = 22) -> str:
    """Wrap a long label (e.g. 'KLD + CC + NSS + DF + GM + SIG-MSE + R') onto short lines."""
    return "\n".join(textwrap.wrap(text, width=width, break_long_words=False)) or text


def normalise(sal: np.ndarray) -> np.ndarray:
    """Min-max normalise a map to [0, 1] for display (a constant map becomes zeros)."""
    sal = np.asarray(sal, dtype=np.float64)
    lo, hi = np.nanmin(sal), np.nanmax(sal)
    return (sal - lo) / (hi - lo) if hi > lo else np.zeros_like(sal)


def figure2(bias: np.ndarray, stem: Path, title: str) -> list[Path]:
    """Figure 2: the centre-bias map with its horizontal and vertical marginals."""
    from salloss.data.centerbias import plot_center_bias

    with style(), reproducible():
        return plot_center_bias(bias, [stem.with_suffix(f".{f}") for f in FORMATS], title=title)
