"""Critical-difference diagram (Demšar 2006, Fig. 1 style) of models' mean ranks.

A horizontal axis of mean ranks (1 = best, on the left); each model hangs from its rank by an
elbow line to its label, the better half labelled on the left, the worse half on the right;
thick bars join groups of models whose mean ranks differ by less than the critical difference
(not significantly different by Nemenyi); a scale bar above the axis shows the CD itself.
The figure grows with the number of models and the length of the labels, so 27+ losses with
long names stay readable. Written as PNG and PDF through `salloss.io.atomic_path`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from salloss.errors import DataError
from salloss.io import atomic_path
from salloss.stats.ranks import cd_groups

__all__ = ["cd_diagram"]

log = logging.getLogger(__name__)

_FONT = 9.0  # points
_ROW = 0.24  # inches between label rows
_LANE = 0.13  # inches between clique-bar lanes
_CHAR = 0.55 * _FONT / 72.0  # rough width of one character, inches
_DPI = 200


def _lanes(groups: list[tuple[float, float]]) -> list[int]:
    """Greedy lane for each [lo, hi] interval so that bars in one lane never overlap."""
    ends: list[float] = []
    out = []
    for lo, hi in groups:
        for lane, end in enumerate(ends):
            if lo > end + 0.25:
                ends[lane] = hi
                out.append(lane)
                break
        else:
            ends.append(hi)
            out.append(len(ends) - 1)
    return out


def cd_diagram(mean_ranks: Mapping[str, float], cd: float, path: str | Path,
               title: str | None = None, note: str | None = None,
               show_ranks: bool = True) -> list[Path]:
    """Draw the critical-difference diagram and write ``<path>.png`` and ``<path>.pdf``.

    `mean_ranks`: model → mean rank (e.g. ``FriedmanResult.mean_ranks``); `cd`: the critical
    difference in rank units (e.g. ``FriedmanResult.cd(0.05)``; NaN or ≤ 0 draws no bars);
    `path`: the output stem (a ``.png``/``.pdf`` suffix is replaced); `title` above the plot,
    `note` (e.g. "Friedman p = 1e-9, N = 14 blocks") below it; `show_ranks` appends each mean
    rank to its label. Returns the two written paths.
    """
    from matplotlib.figure import Figure

    if len(mean_ranks) < 2:
        raise DataError(f"a CD diagram needs at least 2 models; got {len(mean_ranks)}")
    items = sorted(mean_ranks.items(), key=lambda kv: (kv[1], kv[0]))
    ranks = np.array([float(v) for _, v in items])
    if not np.all(np.isfinite(ranks)):
        bad = [n for n, v in items if not math.isfinite(float(v))]
        raise DataError(f"mean ranks must be finite; not for {bad}")
    k = len(items)
    labels = [f"{n} ({v:.2f})" if show_ranks else str(n) for n, v in items]
    n_left = (k + 1) // 2
    left, right = list(range(n_left)), list(range(n_left, k))

    groups = cd_groups(mean_ranks, cd) if math.isfinite(cd) and cd > 0 else []
    spans = [(float(mean_ranks[g[0]]), float(mean_ranks[g[-1]])) for g in groups]
    lanes = _lanes(spans)
    n_lanes = max(lanes) + 1 if lanes else 0

    lo_axis = 1.0
    hi_axis = float(max(k, math.ceil(ranks.max())))
    # Each side as wide as its longest label, so one long name does not pad the other side.
    left_w = max(len(labels[i]) for i in left) * _CHAR + 0.25
    right_w = max(len(labels[i]) for i in right) * _CHAR + 0.25
    axis_w = max(3.5, 0.32 * (hi_axis - lo_axis))
    margin = 0.2
    width = left_w + right_w + 2 * margin + axis_w
    top = 0.35 + (0.3 if title else 0.0)  # above the CD scale bar
    y_cd = top + 0.25
    y_axis = y_cd + 0.45
    y_bars = y_axis + 0.22
    y_rows = y_bars + n_lanes * _LANE + 0.15
    rows = max(len(left), len(right))
    height = y_rows + rows * _ROW + 0.2 + (0.3 if note else 0.0)

    x0, x1 = margin + left_w, margin + left_w + axis_w

    def xr(rank: float) -> float:
        return x0 + (rank - lo_axis) / (hi_axis - lo_axis) * (x1 - x0)

    def yy(y_from_top: float) -> float:
        return height - y_from_top

    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    line = {"color": "black", "linewidth": 0.9}

    if title:
        ax.text(width / 2, yy(0.3), title, ha="center", va="center", fontsize=_FONT + 2)
    # Rank axis with integer ticks (every other label when crowded).
    ax.plot([x0, x1], [yy(y_axis)] * 2, **line)
    step = 1 if axis_w / (hi_axis - lo_axis) >= 0.22 else 2
    for t in range(int(lo_axis), int(hi_axis) + 1):
        ax.plot([xr(t)] * 2, [yy(y_axis), yy(y_axis - 0.08)], **line)
        if (t - 1) % step == 0:
            ax.text(xr(t), yy(y_axis - 0.12), str(t), ha="center", va="bottom", fontsize=_FONT)
    # CD scale bar above the axis, starting at rank 1.
    if math.isfinite(cd) and cd > 0:
        c1 = xr(lo_axis + min(cd, hi_axis - lo_axis))
        ax.plot([xr(lo_axis), c1], [yy(y_cd)] * 2, color="black", linewidth=1.5)
        for xc in (xr(lo_axis), c1):
            ax.plot([xc] * 2, [yy(y_cd - 0.05), yy(y_cd + 0.05)], **line)
        ax.text(xr(lo_axis) + (c1 - xr(lo_axis)) / 2, yy(y_cd - 0.08), f"CD = {cd:.2f}",
                ha="center", va="bottom", fontsize=_FONT)
    # Elbow lines and labels: best model closest to the axis on the left, worst on the right.
    for row, i in enumerate(left):
        y = yy(y_rows + row * _ROW)
        ax.plot([xr(ranks[i])] * 2 + [x0 - 0.1], [yy(y_axis), y, y], **line)
        ax.text(x0 - 0.15, y, labels[i], ha="right", va="center", fontsize=_FONT)
    for row, i in enumerate(reversed(right)):
        y = yy(y_rows + row * _ROW)
        ax.plot([xr(ranks[i])] * 2 + [x1 + 0.1], [yy(y_axis), y, y], **line)
        ax.text(x1 + 0.15, y, labels[i], ha="left", va="center", fontsize=_FONT)
    # Bars joining models not significantly different.
    for (lo, hi), lane in zip(spans, lanes, strict=True):
        y = yy(y_bars + lane * _LANE)
        ax.plot([xr(lo) - 0.05, xr(hi) + 0.05], [y, y], color="black", linewidth=3.0,
                solid_capstyle="butt")
    if note:
        ax.text(width / 2, 0.2, note, ha="center", va="center", fontsize=_FONT - 1,
                color="0.3")

    stem = Path(path)
    if stem.suffix.lower() in (".png", ".pdf"):
        stem = stem.with_suffix("")
    out = []
    for fmt in ("png", "pdf"):
        target = stem.parent / f"{stem.name}.{fmt}"
        with atomic_path(target) as tmp:
            # no creation date: a rerun writes the same bytes (DVC hashes the report)
            fig.savefig(tmp, format=fmt, dpi=_DPI,
                        metadata={"CreationDate": None} if fmt == "pdf" else None)
        out.append(target)
    log.info("CD diagram of %d models (%d groups) written to %s.{png,pdf}", k, len(groups), stem)
    return out
