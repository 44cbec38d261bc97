"""Figures that show saliency maps: Figure 3 (stimulus, ground truth with fixations, predictions
of several losses) and Figure 4 (one architecture trained with a single loss vs a combination:
per-image scores paired, plus the images where the combination gains most).

Predictions come from each run's ``preview.npz`` (original size); stimuli from the prepared
dataset (resized back to the image's original aspect for display); ground truth is the
original density map with the fixated pixels as dots. Each prediction panel carries its
per-image score from scores.csv.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from salloss.data import PreparedDataset
from salloss.errors import DataError
from salloss.report.collect import PREVIEW, RunResult, read_preview
from salloss.report.figures import new_figure, normalise, save, style, wrap
from salloss.report.stats import paired_test

log = logging.getLogger(__name__)

PANEL = 1.3  # inches per map panel
DISPLAY_LONG_SIDE = 360  # pixels of a displayed stimulus


@dataclass
class Column:
    """A prediction column: its title and its run (one seed)."""

    title: str
    run: RunResult
    short: str = ""  # e.g. the paper's 'LC 2' for axis labels; defaults to the title

    @property
    def name(self) -> str:
        return self.short or self.title


def display_stimulus(prepared: PreparedDataset, size: tuple[int, int], image_id: str) -> Any:
    """The stimulus at its original aspect ratio (from the prepared input-size copy)."""
    i = prepared.index(image_id)
    h, w = prepared.original_size(i)
    scale = DISPLAY_LONG_SIDE / max(h, w)
    img = Image.fromarray(np.asarray(prepared.stimuli(size)[i]))
    return np.asarray(img.resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                 Image.Resampling.BICUBIC))


def _show(ax: Any, image: np.ndarray, cmap: str | None = None, aspect: str = "auto") -> None:
    ax.imshow(image, cmap=cmap, vmin=0 if cmap else None, vmax=1 if cmap else None,
              interpolation="antialiased", aspect=aspect)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _ground_truth(ax: Any, prepared: PreparedDataset, image_id: str,
                  aspect: str = "auto") -> None:
    i = prepared.index(image_id)
    h, w = prepared.original_size(i)
    _show(ax, normalise(prepared.density(i)), "gray", aspect)
    pts = prepared.fixations(i)
    ax.scatter(pts[:, 1], pts[:, 0], s=2.5, c="#ff3b30", linewidths=0, alpha=0.9)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)


def _score_label(ax: Any, metric: str, value: float) -> None:
    if math.isfinite(value):
        ax.text(0.03, 0.04, f"{metric} {value:.3f}", transform=ax.transAxes, fontsize=6.5,
                color="white", va="bottom",
                bbox={"boxstyle": "round,pad=0.15", "fc": "black", "alpha": 0.55, "lw": 0})


def _previews(columns: Sequence[Column]) -> list[dict[str, np.ndarray]]:
    return [read_preview(c.run.dir / PREVIEW) for c in columns]


def common_ids(previews: Sequence[dict[str, np.ndarray]]) -> list[str]:
    """Image ids present in every preview, in the first preview's order."""
    if not previews:
        return []
    return [i for i in previews[0] if all(i in p for p in previews[1:])]


def figure3(prepared: PreparedDataset, size: tuple[int, int], columns: Sequence[Column],
            n_images: int, metric: str | None, stem: Path) -> list[Path]:
    """Figure 3: rows = test images; columns = stimulus, ground truth (density + fixations),
    then each column's prediction (min-max normalised), labelled with its per-image score."""
    previews = _previews(columns)
    ids = common_ids(previews)[:n_images]
    if not ids:
        raise DataError("Figure 3: the previews of "
                        f"{', '.join(str(c.run.dir / PREVIEW) for c in columns)} share no image")
    aspects = [prepared.original_size(prepared.index(i)) for i in ids]
    heights = [PANEL * h / w for h, w in aspects]
    ncols = 2 + len(columns)
    with style():
        fig = new_figure(PANEL * ncols, sum(heights) + 0.55)
        axes = fig.subplots(len(ids), ncols, squeeze=False,
                            gridspec_kw={"height_ratios": heights, "wspace": 0.02,
                                         "hspace": 0.02})
        titles = ["Stimulus", "Ground truth\n+ fixations", *(wrap(c.title) for c in columns)]
        for r, image_id in enumerate(ids):
            _show(axes[r, 0], display_stimulus(prepared, size, image_id))
            _ground_truth(axes[r, 1], prepared, image_id)
            for c, (col, preview) in enumerate(zip(columns, previews, strict=True)):
                ax = axes[r, 2 + c]
                _show(ax, normalise(preview[image_id]), "gray")
                if metric is not None:
                    _score_label(ax, metric, col.run.score_of(metric, image_id))
            axes[r, 0].set_ylabel(image_id, fontsize=6.5)
        for c, title in enumerate(titles):
            axes[0, c].set_title(title, fontsize=7)
        return save(fig, stem)


def pick_pair(specs: dict[str, str]) -> tuple[str, str]:
    """(single, combination) loss ids of a group: the first one-term loss (else the first) and
    the loss with the most terms (else the last)."""
    from salloss.losses.spec import parse

    n_terms = {k: len(parse(s)) for k, s in specs.items()}
    ids = list(specs)
    single = next((k for k in ids if n_terms[k] == 1), ids[0])
    combo = max((k for k in ids if k != single), key=lambda k: n_terms[k], default=ids[-1])
    return single, combo


def figure4(prepared: PreparedDataset, size: tuple[int, int], single: Column, combo: Column,
            metric: str, stem: Path, n_examples: int = 2) -> tuple[list[Path], dict[str, float]]:
    """Figure 4: per-image `metric` of the single loss (x) vs the combination (y) on the same
    images, with the paired statistics; beside it the preview images where the combination
    gains most (stimulus, ground truth, combination, single). Returns the paths and stats."""
    ids = [i for i in combo.run.ids if i in set(single.run.ids)]
    x = np.array([single.run.score_of(metric, i) for i in ids])
    y = np.array([combo.run.score_of(metric, i) for i in ids])
    test = paired_test(x, y)
    previews = _previews([combo, single])
    shown = common_ids(previews)
    gain = {i: combo.run.score_of(metric, i) - single.run.score_of(metric, i) for i in shown}
    examples = sorted(shown, key=lambda i: -gain[i] if math.isfinite(gain[i]) else math.inf)
    examples = examples[:n_examples]
    with style():
        fig = new_figure(2.9 + PANEL * 4, max(2.9, 1.2 * len(examples) + 0.6))
        grid = fig.add_gridspec(max(1, len(examples)), 5, width_ratios=[2.6, 1, 1, 1, 1])
        ax = fig.add_subplot(grid[:, 0])
        ok = np.isfinite(x) & np.isfinite(y)
        better = ok & (y > x)
        ax.scatter(x[better], y[better], s=9, c="tab:green", alpha=0.75, linewidths=0,
                   label="combination better")
        ax.scatter(x[ok & ~better], y[ok & ~better], s=9, c="tab:red", alpha=0.75,
                   linewidths=0, label="single loss better or equal")
        if ok.any():
            lo = float(min(x[ok].min(), y[ok].min()))
            hi = float(max(x[ok].max(), y[ok].max()))
            pad = 0.05 * (hi - lo or 1.0)
            ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.5", lw=0.8, ls="--")
            ax.set_xlim(lo - pad, hi + pad)
            ax.set_ylim(lo - pad, hi + pad)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel(wrap(f"{metric} per image: {single.name} (single loss)", 44))
        ax.set_ylabel(wrap(f"{metric} per image: {combo.name} (combination)", 44))
        p = test["p_wilcoxon"]
        ax.set_title(f"{metric}: combination better on {int(better.sum())}/{test['n']} images\n"
                     f"mean Δ = {test['mean_diff']:+.3f}, Wilcoxon p = "
                     f"{'n/a' if math.isnan(p) else f'{p:.2g}'}")
        ax.legend(loc="lower right", frameon=False)
        titles = ["Stimulus", "Ground truth", wrap(combo.title), wrap(single.title)]
        for r, image_id in enumerate(examples):
            axes = [fig.add_subplot(grid[r, 1 + c]) for c in range(4)]
            _show(axes[0], display_stimulus(prepared, size, image_id), aspect="equal")
            _ground_truth(axes[1], prepared, image_id, aspect="equal")
            for ax_map, col, preview in ((axes[2], combo, previews[0]),
                                         (axes[3], single, previews[1])):
                _show(ax_map, normalise(preview[image_id]), "gray", aspect="equal")
                _score_label(ax_map, metric, col.run.score_of(metric, image_id))
            axes[0].set_ylabel(image_id, fontsize=6.5)
            if r == 0:
                for a, t in zip(axes, titles, strict=True):
                    a.set_title(t, fontsize=7)
        return save(fig, stem), test
