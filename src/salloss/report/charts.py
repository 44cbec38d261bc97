"""Overview figures: a heat map of every loss × metric of a table block, and the learning
curves (train/val loss per epoch) of every run, as small multiples.

Heat map colours are direction-aware z-scores within each column (green = better than the
column's average, red = worse; EMD and KL are flipped because lower is better), so columns with
different scales compare at a glance; each cell is annotated with its value, the best in bold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from salloss.report.collect import RunResult
from salloss.report.figures import new_figure, save, style, wrap
from salloss.report.tables import Block, higher_is_better

Z_CLIP = 2.0


def direction_z(values: np.ndarray, higher_better: bool) -> np.ndarray:
    """Column z-scores oriented so that positive = better; NaN stays NaN; a column without
    spread is all zeros."""
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v)
    z = np.full(v.shape, np.nan)
    if ok.sum() == 0:
        return z
    sd = v[ok].std()
    z[ok] = 0.0 if sd == 0 else (v[ok] - v[ok].mean()) / sd
    return z if higher_better else -z


def heatmap(block: Block, metrics: Sequence[str], title: str, stem: Path) -> list[Path]:
    """Heat map of our entries of `block` (rows = losses in table order, columns = metrics)."""
    rows = [r for s in block.sections for r in s.rows if r.ours is not None]
    labels = [r.label for r in rows]
    values = np.array([[r.ours.stats[m].mean for m in metrics] for r in rows], dtype=np.float64)
    z = np.column_stack([direction_z(values[:, j], higher_is_better(m))
                         for j, m in enumerate(metrics)])
    label_w = 0.055 * max(len(s) for s in labels)
    with style():
        fig = new_figure(1.2 + label_w + 0.72 * len(metrics), 1.1 + 0.24 * len(rows))
        ax = fig.add_subplot()
        image = ax.imshow(np.clip(z, -Z_CLIP, Z_CLIP), cmap="RdYlGn", vmin=-Z_CLIP,
                          vmax=Z_CLIP, aspect="auto", interpolation="nearest")
        ax.set_xticks(range(len(metrics)),
                      [f"{m} {'↑' if higher_is_better(m) else '↓'}" for m in metrics])
        ax.xaxis.tick_top()
        ax.set_yticks(range(len(rows)), labels)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        edge = 0
        for section in block.sections[:-1]:
            edge += sum(1 for r in section.rows if r.ours is not None)
            ax.axhline(edge - 0.5, color="white", lw=2)
        for i, row in enumerate(rows):
            for j, m in enumerate(metrics):
                v = values[i, j]
                text = "n/a" if math.isnan(v) else f"{v:.3f}"
                weight = "bold" if row.ours.ranks.get(m) == 1 else "normal"
                ax.text(j, i, text, ha="center", va="center", fontsize=6.5, fontweight=weight,
                        color="0.35" if math.isnan(v) else "black")
        bar = fig.colorbar(image, ax=ax, shrink=min(1.0, 6 / max(len(rows), 1)), pad=0.02)
        bar.set_label("z-score in column (+ = better)")
        ax.set_title(title, loc="left")
        return save(fig, stem)


def _log_scale(series: Sequence[np.ndarray]) -> bool:
    """Log y when every value is positive and they span more than a factor 20."""
    vals = np.concatenate([s for s in series if s.size]) if series else np.array([])
    return bool(vals.size and np.all(vals > 0) and vals.max() / vals.min() > 20)


def learning_curves(panels: Sequence[tuple[str, Sequence[RunResult]]], title: str,
                    stem: Path, ncols: int = 6) -> list[Path]:
    """Small multiples, one panel per loss: train (solid) and validation (dashed) loss per
    epoch for each seed, the best validation epoch marked; log y where useful."""
    n = len(panels)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    with style():
        fig = new_figure(1.75 * ncols + 0.3, 1.45 * nrows + 0.5)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for k, (label, runs) in enumerate(panels):
            ax = axes[k // ncols, k % ncols]
            shown = []
            for s, run in enumerate(runs):
                alpha = 1.0 if s == 0 else 0.45
                for name, colour, ls in (("train/loss", "tab:blue", "-"),
                                         ("val/loss", "tab:orange", "--")):
                    if name in run.curves:
                        epochs, values = run.curves[name]
                        ax.plot(epochs, values, color=colour, ls=ls, lw=1.1, alpha=alpha)
                        shown.append(values)
                best = run.train.get("best_epoch")
                if best is not None and "val/loss" in run.curves:
                    epochs, values = run.curves["val/loss"]
                    hit = np.flatnonzero(epochs == best)
                    if hit.size:
                        ax.plot(best, values[hit[0]], "o", color="tab:orange", ms=3.5,
                                alpha=alpha)
            if _log_scale(shown):
                ax.set_yscale("log")
            ax.set_title(wrap(label, 28), fontsize=7)
            ax.grid(alpha=0.25)
            ax.xaxis.get_major_locator().set_params(integer=True)
            if k % ncols == 0:
                ax.set_ylabel("loss")
            if k // ncols == nrows - 1 or k + ncols >= n:
                ax.set_xlabel("epoch")
        for k in range(n, nrows * ncols):
            axes[k // ncols, k % ncols].set_visible(False)
        handles = [
            axes[0, 0].plot([], [], color="tab:blue", lw=1.1, label="train")[0],
            axes[0, 0].plot([], [], color="tab:orange", lw=1.1, ls="--", label="validation")[0],
            axes[0, 0].plot([], [], "o", color="tab:orange", ms=3.5, label="best epoch")[0],
        ]
        fig.legend(handles=handles, loc="outside upper right", ncols=3, frameon=False)
        fig.suptitle(title, x=0.01, ha="left")
        return save(fig, stem)
