"""Does a loss ranking hold across architectures? Kendall's τ-b between the rankings of the
same losses on two architectures, with a bootstrap confidence interval over test images.

Definitions:

- `kendall_tau`: Kendall's τ-b of two paired samples, ties allowed,
  τ_b = (n_c − n_d) / √((n_0 − n_1)(n_0 − n_2)), over the n_0 = n(n − 1)/2 pairs of items:
  n_c concordant pairs (both samples order them the same way), n_d discordant ones, n_1 the
  pairs tied in x, n_2 the pairs tied in y (a pair tied in both counts in n_1 and n_2 and in
  neither n_c nor n_d). It equals ``scipy.stats.kendalltau(x, y).statistic`` (variant 'b')
  to the last bit of rounding (here identical rankings give exactly 1, SciPy's 1 − 2⁻⁵³);
  NaN when n < 2, when a value is NaN, or when one sample is constant (zero denominator).
- `loss_ranking`: rank 1 = the best mean (direction-aware: the highest for CC, NSS, …; the
  lowest for EMD, KL), ties share the average of the ranks they span (`rank_blocks`); a loss
  whose mean is NaN (the metric is undefined on every image) has no rank.
- `rank_stability`: per architecture, each loss's mean over the images where it is defined
  (NaN images left out, as the report's tables do) and its ranking; for every pair of
  architectures, τ between their rankings over the losses both have (at least `MIN_LOSSES`,
  else NaN with a reason). τ is computed on the means themselves: it depends only on their
  order, and both architectures are ranked in the same direction, so it is τ between the
  rankings. Its confidence interval is the percentile bootstrap over TEST IMAGES: each
  resample draws n image indices with replacement, the SAME indices for every architecture and
  loss (they are scored on the same test images, so their errors are paired), recomputes
  every mean and both rankings, and takes τ; the interval is the (1 − ci)/2 and (1 + ci)/2
  quantiles (``np.quantile``, linear) of the resampled τ that are defined. The resampled image
  sets are a pure function of (seed, n images, n_boot), so two calls with the same seed (e.g.
  one per metric) resample the same images and their replicates can be averaged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from numpy.typing import ArrayLike

from salloss.errors import ConfigError, DataError
from salloss.stats.intervals import _CHUNK_ELEMENTS, check_level
from salloss.stats.ranks import rank_blocks

__all__ = [
    "MIN_LOSSES",
    "PairTau",
    "RankStability",
    "kendall_tau",
    "loss_ranking",
    "rank_stability",
]

MIN_LOSSES = 3  # fewer common losses: τ is too coarse (n = 2 gives only ±1) to mean anything


def _tau_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """τ-b of each row pair of two R × k arrays (NaN for a row with a NaN or a constant one)."""
    rows, k = a.shape
    out = np.full(rows, np.nan)
    if k < 2:
        return out
    i, j = np.triu_indices(k, 1)
    with np.errstate(invalid="ignore"):
        sa = np.sign(a[:, i] - a[:, j])
        sb = np.sign(b[:, i] - b[:, j])
    ok = np.all(np.isfinite(sa), axis=1) & np.all(np.isfinite(sb), axis=1)
    n0 = float(i.size)
    s = np.sum(sa * sb, axis=1)  # n_c − n_d
    left = n0 - np.sum(sa == 0, axis=1)  # n_0 − n_1
    right = n0 - np.sum(sb == 0, axis=1)  # n_0 − n_2
    ok &= (left > 0) & (right > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        # √(left · right), not scipy's √left · √right: identical rankings give exactly 1
        tau = s / np.sqrt(left * right)
    out[ok] = np.clip(tau[ok], -1.0, 1.0)
    return out


def kendall_tau(x: ArrayLike, y: ArrayLike) -> float:
    """Kendall's τ-b of paired samples `x` and `y` (module docstring); O(n²) pairs, meant for
    rankings of tens of items."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise DataError(f"kendall_tau needs two 1-D samples of one length; got shapes "
                        f"{a.shape} and {b.shape}")
    return float(_tau_rows(a[None, :], b[None, :])[0])


def loss_ranking(means: Mapping[str, float], higher_is_better: bool) -> dict[str, float]:
    """Loss → rank (1 = best, ties averaged) of the finite `means`; NaN for a NaN mean."""
    names = list(means)
    values = np.array([means[n] for n in names], dtype=np.float64)
    ok = np.isfinite(values)
    out = dict.fromkeys(names, math.nan)
    if ok.any():
        ranked = rank_blocks(values[ok][None, :], bool(higher_is_better))[0]
        for name, rank in zip([n for n, f in zip(names, ok, strict=True) if f], ranked,
                              strict=True):
            out[name] = float(rank)
    return out


@dataclass(frozen=True)
class PairTau:
    """τ between the loss rankings of two architectures.

    `losses`: the losses both rank (finite means on both), in the order of `arch_a`'s input;
    `tau`: τ-b of the two rankings over them (NaN when undefined, `reason` says why);
    (`low`, `high`): the bootstrap percentile interval at `level`; `n_boot`: resamples where τ
    was defined (the interval's sample); `boot`: the τ of every resample (NaN where undefined),
    in resample order, so replicates of several metrics drawn with one seed can be combined.
    """

    arch_a: str
    arch_b: str
    losses: tuple[str, ...]
    tau: float
    low: float
    high: float
    level: float
    n_boot: int
    reason: str | None = None
    boot: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False, compare=False)

    @property
    def n_losses(self) -> int:
        return len(self.losses)


@dataclass(frozen=True)
class RankStability:
    """`means[arch][loss]` and `ranks[arch][loss]` (1 = best) per architecture, and `pairs`:
    one `PairTau` for every pair of architectures, in input order ((a0, a1), (a0, a2), …)."""

    archs: tuple[str, ...]
    means: dict[str, dict[str, float]]
    ranks: dict[str, dict[str, float]]
    pairs: tuple[PairTau, ...]
    n_images: int
    higher_is_better: bool
    n_boot: int
    seed: int
    level: float

    def pair(self, a: str, b: str) -> PairTau:
        """The τ of archs `a` and `b` (either order)."""
        for p in self.pairs:
            if {p.arch_a, p.arch_b} == {a, b} and a != b:
                return p
        raise KeyError(f"no pair ({a!r}, {b!r}); archs: {', '.join(self.archs)}")

    def matrix(self) -> np.ndarray:
        """Symmetric archs × archs τ matrix (diagonal 1; NaN where undefined)."""
        k = len(self.archs)
        m = np.eye(k)
        for p in self.pairs:
            i, j = self.archs.index(p.arch_a), self.archs.index(p.arch_b)
            m[i, j] = m[j, i] = p.tau
        return m


def _check_ids(per_image: Mapping[str, Mapping[str, np.ndarray]],
               ids: Sequence[str] | Mapping[str, Mapping[str, Sequence[str]]] | None,
               n: int) -> None:
    if ids is None:
        return
    if not isinstance(ids, Mapping):
        if len(ids) != n:
            raise DataError(f"rank_stability: {len(ids)} image ids for {n} scores per run")
        return
    first: tuple[str, str, list[str]] | None = None
    for arch, losses in per_image.items():
        for loss in losses:
            try:
                these = list(ids[arch][loss])
            except KeyError:
                raise DataError(f"rank_stability: no image ids for {arch}/{loss}") from None
            if len(these) != len(per_image[arch][loss]):
                raise DataError(f"rank_stability: {arch}/{loss} has {len(these)} image ids for "
                                f"{len(per_image[arch][loss])} scores")
            if first is None:
                first = (arch, loss, these)
            elif these != first[2]:
                same_set = set(these) == set(first[2])
                raise DataError(
                    f"rank_stability: {arch}/{loss} and {first[0]}/{first[1]} are not aligned "
                    f"on the same test images ("
                    + ("same images in another order" if same_set else "different images")
                    + "); the joint bootstrap pairs image k of every run, so align them by id "
                    "first")


def _boot_means(x: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """n_boot × m means over non-NaN images of the n × m matrix `x`, one shared resample of
    the n images per row."""
    n, m = x.shape
    finite = np.isfinite(x)
    filled = np.where(finite, x, 0.0)
    weight = finite.astype(np.float64)
    out = np.empty((n_boot, m))
    chunk = max(1, _CHUNK_ELEMENTS // max(n, 1))
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        rows = stop - start
        idx = rng.integers(0, n, size=(rows, n))
        flat = (np.arange(rows)[:, None] * n + idx).ravel()
        counts = np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start:stop] = (counts @ filled) / (counts @ weight)
    return out


def rank_stability(per_image: Mapping[str, Mapping[str, ArrayLike]], higher_is_better: bool,
                   n_boot: int = 1000, seed: int = 0, ci: float = 0.95,
                   ids: Sequence[str] | Mapping[str, Mapping[str, Sequence[str]]] | None = None,
                   ) -> RankStability:
    """Rankings of the losses per architecture and τ between every two of them, with a joint
    percentile bootstrap over test images (module docstring).

    `per_image[arch][loss]`: that run's per-image scores of one metric, image k of every array
    being the same test image (NaN where the metric is undefined). Arrays of different lengths
    raise `DataError`; so do `ids` (one id list for all, or one per arch and loss in the shape
    of `per_image`) that are not the same list in the same order for every run.
    """
    level = check_level(ci, "ci")
    if isinstance(n_boot, bool) or int(n_boot) < 1:
        raise ConfigError(f"n_boot must be a positive number of resamples; got {n_boot}")
    n_boot = int(n_boot)
    archs = tuple(per_image)
    columns: list[tuple[str, str]] = []
    arrays: list[np.ndarray] = []
    for arch in archs:
        for loss, values in per_image[arch].items():
            x = np.asarray(values, dtype=np.float64)
            if x.ndim != 1:
                raise DataError(f"rank_stability: {arch}/{loss}: expected 1-D per-image scores, "
                                f"got shape {x.shape}")
            columns.append((arch, loss))
            arrays.append(x)
    if not arrays:
        raise DataError("rank_stability: no scores (no architecture has a loss)")
    n = arrays[0].size
    for (arch, loss), x in zip(columns, arrays, strict=True):
        if x.size != n:
            a0, l0 = columns[0]
            raise DataError(f"rank_stability: {arch}/{loss} has {x.size} per-image scores, "
                            f"{a0}/{l0} has {n}: runs compared must share their test images")
    if n == 0:
        raise DataError("rank_stability: no images")
    _check_ids(per_image, ids, n)
    x = np.column_stack(arrays)
    col = {c: k for k, c in enumerate(columns)}
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(x)
        point = np.where(ok.any(axis=0),
                         np.where(ok, x, 0.0).sum(axis=0) / np.maximum(ok.sum(axis=0), 1),
                         np.nan)
    means = {a: {loss: float(point[col[(a, loss)]]) for loss in per_image[a]} for a in archs}
    ranks = {a: loss_ranking(means[a], higher_is_better) for a in archs}
    boot = _boot_means(x, n_boot, np.random.default_rng(seed))
    q = [(1.0 - level) / 2.0, (1.0 + level) / 2.0]
    pairs = []
    for a, b in combinations(archs, 2):
        common = tuple(loss for loss in per_image[a] if loss in per_image[b]
                       and math.isfinite(means[a][loss]) and math.isfinite(means[b][loss]))
        reason = None
        if len(common) < MIN_LOSSES:
            reason = (f"only {len(common)} loss(es) ranked on both (at least {MIN_LOSSES} "
                      "needed)")
            pairs.append(PairTau(a, b, common, math.nan, math.nan, math.nan, level, 0, reason,
                                 np.full(n_boot, np.nan)))
            continue
        ia = [col[(a, loss)] for loss in common]
        ib = [col[(b, loss)] for loss in common]
        tau = kendall_tau(point[ia], point[ib])
        reps = _tau_rows(boot[:, ia], boot[:, ib])
        good = reps[np.isfinite(reps)]
        if math.isnan(tau):
            reason = "a ranking is all ties (τ undefined)"
            low = high = math.nan
        elif good.size == 0:
            reason = "τ undefined on every resample"
            low = high = math.nan
        else:
            low, high = (float(v) for v in np.quantile(good, q))
        pairs.append(PairTau(a, b, common, tau, low, high, level, int(good.size), reason, reps))
    return RankStability(archs, means, ranks, tuple(pairs), n, bool(higher_is_better), n_boot,
                         int(seed), level)
