"""The centre-bias map (SPEC.md §1, `r`) and the paper's Figure 2.

C = mean over the TRAINING images of their density maps, each max-normalised and resized to
a common grid (area-aware bilinear, aspect ratio not kept, as the network sees every image
squashed to its input grid), then max-normalised itself. The grid is a parameter;
`prepare_dataset` uses 300×400 (H×W, the paper's input size) unless told otherwise; users of
the map resize it to their output grid.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from salloss.data.maps import normalize_map, resize_map
from salloss.errors import DataError
from salloss.io import atomic_path


class CenterBiasAccumulator:
    """Running mean of max-normalised maps on a fixed (height, width) grid."""

    def __init__(self, grid: tuple[int, int]) -> None:
        self.grid = (int(grid[0]), int(grid[1]))
        self.total = np.zeros(self.grid, dtype=np.float64)
        self.count = 0

    def add(self, density: np.ndarray) -> None:
        self.total += resize_map(normalize_map(density, "max"), self.grid)
        self.count += 1

    def result(self) -> np.ndarray:
        """The max-normalised mean (float32, max 1)."""
        if self.count == 0:
            raise DataError("centre bias: no training images (the training split is empty)")
        return normalize_map(self.total / self.count, "max").astype(np.float32)


def center_bias(densities: Iterable[np.ndarray], grid: tuple[int, int]) -> np.ndarray:
    """Centre-bias map of `densities` on `grid` = (height, width); float32, max 1."""
    acc = CenterBiasAccumulator(grid)
    for density in densities:
        acc.add(density)
    return acc.result()


def plot_center_bias(
    bias: np.ndarray, paths: Iterable[str | Path], *, title: str = "", cmap: str = "jet"
) -> list[Path]:
    """Figure 2: the mean map with its horizontal (top) and vertical (right) marginals.

    Marginals are the map summed over the other axis and normalised to sum 1 (distributions
    over x and y). Each path's suffix (.png, .pdf, .svg) picks the format; written atomically.
    """
    from matplotlib.figure import Figure  # lazy: matplotlib is slow to import
    from matplotlib.gridspec import GridSpec

    bias = np.asarray(bias, dtype=np.float64)
    height, width = bias.shape
    main_w = 5.0
    main_h = main_w * height / width
    fig = Figure(figsize=(main_w + 2.3, main_h + 1.9), layout="constrained")
    grid = GridSpec(2, 3, figure=fig, width_ratios=[main_w, 1.1, 0.18],
                    height_ratios=[1.1, main_h])
    ax = fig.add_subplot(grid[1, 0])
    top = fig.add_subplot(grid[0, 0], sharex=ax)
    right = fig.add_subplot(grid[1, 1], sharey=ax)
    cax = fig.add_subplot(grid[1, 2])
    image = ax.imshow(bias, cmap=cmap, vmin=0, vmax=1, origin="upper", interpolation="bilinear",
                      extent=(-0.5, width - 0.5, height - 0.5, -0.5))
    ax.set_xlabel(f"x (pixels on the {height}×{width} grid)")
    ax.set_ylabel("y (pixels)")
    total = bias.sum() or 1.0
    x_marginal = bias.sum(axis=0) / total
    y_marginal = bias.sum(axis=1) / total
    xs, ys = np.arange(width), np.arange(height)
    top.fill_between(xs, x_marginal, color="tab:red", alpha=0.25, linewidth=0)
    top.plot(xs, x_marginal, color="tab:red", linewidth=1.5)
    top.set_ylabel("p(x)")
    top.set_ylim(bottom=0)
    top.tick_params(labelbottom=False)
    top.grid(alpha=0.3)
    right.fill_betweenx(ys, y_marginal, color="tab:blue", alpha=0.25, linewidth=0)
    right.plot(y_marginal, ys, color="tab:blue", linewidth=1.5)
    right.set_xlabel("p(y)")
    right.set_xlim(left=0)
    right.tick_params(labelleft=False)
    right.grid(alpha=0.3)
    fig.colorbar(image, cax=cax, label="mean saliency (max-normalised)")
    if title:
        fig.suptitle(title)
    written = []
    for path in paths:
        path = Path(path)
        fmt = path.suffix.lstrip(".").lower() or "png"
        with atomic_path(path) as tmp:  # no PDF creation date: a rerun writes the same bytes
            fig.savefig(tmp, format=fmt, dpi=150,
                        metadata={"CreationDate": None} if fmt == "pdf" else None)
        written.append(path)
    return written
