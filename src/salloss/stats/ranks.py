"""Ranking many models at once: Friedman test, mean ranks, Nemenyi critical difference.

Following Demšar (2006, JMLR 7:1–30), the k models are ranked within each of N blocks (a block
is one test image for one metric, or one (dataset, metric) cell of a results table): rank 1 is
the best model in that block, ties share the average of the ranks they span. Ranking is
direction-aware: for a higher-is-better metric (CC, NSS, …) the highest score gets rank 1, for
a lower-is-better one (KL, EMD) the lowest does. The mean rank R_j of model j over the blocks
summarises it on a scale every metric shares.

- Friedman: χ²_F = [12 N / (k (k+1))] · [Σ_j R_j² − k (k+1)² / 4], divided by the tie
  correction 1 − Σ_blocks Σ_ties (t³ − t) / (N k (k² − 1)) (as ``scipy.stats.friedmanchisquare``),
  p from χ² with k − 1 degrees of freedom; plus Iman–Davenport's
  F_F = (N − 1) χ²_F / (N (k − 1) − χ²_F) with (k − 1, (k − 1)(N − 1)) degrees of freedom,
  which Demšar recommends as less conservative.
- Nemenyi: two models differ significantly when their mean ranks differ by at least
  CD = q_α · sqrt(k (k+1) / (6 N)), q_α the (1 − α) quantile of the studentized range of k
  means with infinite degrees of freedom, divided by √2 (Demšar's Table 5).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from salloss.errors import ConfigError, DataError
from salloss.stats.intervals import check_level

__all__ = [
    "FriedmanResult",
    "rank_blocks",
    "mean_ranks",
    "friedman",
    "friedman_table",
    "nemenyi_q",
    "critical_difference",
    "cd_groups",
]


def _directions(higher_is_better: bool | Sequence[bool], n_blocks: int) -> np.ndarray:
    if isinstance(higher_is_better, bool | np.bool_):
        return np.full(n_blocks, bool(higher_is_better))
    hib = np.asarray(list(higher_is_better), dtype=bool)
    if hib.shape != (n_blocks,):
        raise DataError(f"higher_is_better needs one flag per block ({n_blocks}); got "
                        f"{hib.size}")
    return hib


def _matrix(scores: ArrayLike) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise DataError(f"scores must be a 2-D array blocks × models; got shape {s.shape}")
    return s


def rank_blocks(scores: ArrayLike, higher_is_better: bool | Sequence[bool]) -> np.ndarray:
    """Within-block ranks of a blocks × models score matrix (N × k), 1 = best, ties averaged.

    `higher_is_better` is one flag for all blocks or one per block (row). Rows containing a
    non-finite score raise `DataError` (drop incomplete blocks first, as `friedman` does).
    """
    from scipy import stats

    s = _matrix(scores)
    if not np.all(np.isfinite(s)):
        raise DataError("rank_blocks needs finite scores; drop blocks with NaN first")
    hib = _directions(higher_is_better, s.shape[0])
    signed = np.where(hib[:, None], -s, s)
    return stats.rankdata(signed, method="average", axis=1)


def mean_ranks(scores: ArrayLike, higher_is_better: bool | Sequence[bool]) -> np.ndarray:
    """Mean over blocks of `rank_blocks` (length k); 1 would be best in every block."""
    return rank_blocks(scores, higher_is_better).mean(axis=0)


def nemenyi_q(k: int, alpha: float = 0.05) -> float:
    """Nemenyi's q_α for k models: studentized-range (1 − α) quantile (k means, df = ∞) / √2.

    For α = 0.05 and k = 2…10 this gives Demšar (2006) Table 5a: 1.960, 2.343, 2.569, 2.728,
    2.850, 2.949, 3.031, 3.102, 3.164.
    """
    from scipy import stats

    if int(k) < 2:
        raise ConfigError(f"the Nemenyi test needs at least 2 models; got k={k}")
    alpha = check_level(alpha, "alpha")
    return float(stats.studentized_range.ppf(1.0 - alpha, int(k), np.inf) / math.sqrt(2.0))


def critical_difference(k: int, n_blocks: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of mean ranks: q_α · sqrt(k (k+1) / (6 N))."""
    if int(n_blocks) < 1:
        raise ConfigError(f"the critical difference needs at least one block; got N={n_blocks}")
    k = int(k)
    return nemenyi_q(k, alpha) * math.sqrt(k * (k + 1) / (6.0 * int(n_blocks)))


def cd_groups(mean_rank: Mapping[str, float], cd: float) -> list[list[str]]:
    """Maximal groups of models whose mean ranks all lie within less than `cd` of each other.

    Models are sorted by mean rank; each group is a run of consecutive models whose extreme
    ranks differ by < cd (so no pair inside is significantly different by Nemenyi), and no group
    is contained in another. Singletons are left out. These are the bars of a CD diagram.
    """
    items = sorted(mean_rank.items(), key=lambda kv: (kv[1], kv[0]))
    names = [n for n, _ in items]
    r = np.array([v for _, v in items], dtype=np.float64)
    groups: list[list[str]] = []
    last_end = -1
    for i in range(len(r)):
        j = i
        while j + 1 < len(r) and r[j + 1] - r[i] < cd:
            j += 1
        if j > i and j > last_end:
            groups.append(names[i:j + 1])
            last_end = j
    return groups


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman test over N complete blocks × k models, with the mean ranks.

    `mean_ranks` maps model → mean rank (1 = best) in the input model order; `blocks` lists the
    blocks used and `dropped_blocks` those left out because some model's score was missing or
    NaN. `statistic` is the tie-corrected χ²_F, `pvalue` its χ²(k − 1) p-value; `iman_davenport`
    and `iman_davenport_p` the F_F statistic and its p-value (NaN when undefined: k < 2 or
    every model tied in every block).
    """

    statistic: float
    pvalue: float
    iman_davenport: float
    iman_davenport_p: float
    k: int
    n_blocks: int
    mean_ranks: dict[str, float]
    blocks: list[Hashable] = field(default_factory=list)
    dropped_blocks: list[Hashable] = field(default_factory=list)

    def cd(self, alpha: float = 0.05) -> float:
        """Nemenyi critical difference for these k and N."""
        return critical_difference(self.k, self.n_blocks, alpha)

    def groups(self, alpha: float = 0.05) -> list[list[str]]:
        """Groups of models not significantly different (Nemenyi at `alpha`)."""
        return cd_groups(self.mean_ranks, self.cd(alpha))


def friedman(scores: ArrayLike, higher_is_better: bool | Sequence[bool],
             models: Sequence[str] | None = None,
             blocks: Sequence[Hashable] | None = None) -> FriedmanResult:
    """Friedman test and mean ranks of a blocks × models score matrix (N × k).

    Blocks (rows) with any non-finite score are dropped (listed in ``dropped_blocks``). Needs at
    least 2 models and 2 complete blocks. `models` names the columns (default "0", "1", …),
    `blocks` the rows (default their indices); `higher_is_better` is one flag or one per row.
    """
    from scipy import stats

    s = _matrix(scores)
    n_all, k = s.shape
    hib = _directions(higher_is_better, n_all)
    names = [str(j) for j in range(k)] if models is None else [str(m) for m in models]
    labels: list[Hashable] = list(range(n_all)) if blocks is None else list(blocks)
    if len(names) != k or len(set(names)) != k:
        raise DataError(f"models must name the {k} columns uniquely; got {list(names)}")
    if len(labels) != n_all:
        raise DataError(f"blocks must name the {n_all} rows; got {len(labels)} labels")
    if k < 2:
        raise DataError(f"the Friedman test needs at least 2 models; got {k}")
    complete = np.all(np.isfinite(s), axis=1)
    s, hib = s[complete], hib[complete]
    n = int(s.shape[0])
    if n < 2:
        raise DataError(f"the Friedman test needs at least 2 blocks where every model has a "
                        f"score; {n} of {n_all} are complete")
    ranks = rank_blocks(s, hib)
    r = ranks.mean(axis=0)
    ties = 0.0
    for row in ranks:
        _, counts = np.unique(row, return_counts=True)
        ties += float(np.sum(counts.astype(np.float64) ** 3 - counts))
    correction = 1.0 - ties / (n * k * (k * k - 1))
    chi2 = (12.0 * n / (k * (k + 1)) * (float(np.sum(r ** 2)) - k * (k + 1) ** 2 / 4.0))
    if correction <= 0:
        chi2_c, p, f, pf = math.nan, math.nan, math.nan, math.nan
    else:
        chi2_c = chi2 / correction
        p = float(stats.chi2.sf(chi2_c, k - 1))
        denom = n * (k - 1) - chi2_c
        if denom <= 0:
            f, pf = math.inf, 0.0
        else:
            f = (n - 1) * chi2_c / denom
            pf = float(stats.f.sf(f, k - 1, (k - 1) * (n - 1)))
    used = [b for b, c in zip(labels, complete, strict=True) if c]
    dropped = [b for b, c in zip(labels, complete, strict=True) if not c]
    return FriedmanResult(float(chi2_c), p, float(f), pf, k, n,
                          {m: float(v) for m, v in zip(names, r, strict=True)}, used, dropped)


def friedman_table(table: Mapping[str, Mapping[Hashable, float]],
                   higher_is_better: bool | Mapping[Hashable, bool]) -> FriedmanResult:
    """`friedman` on a mapping model → {block → score} (e.g. loss → {(dataset, metric): mean}
    for the CD diagram of all losses across metrics, or loss → {image id: score} for one metric).

    Blocks are the union of the models' keys, in first-seen order; a block some model lacks
    counts as incomplete and is dropped. `higher_is_better` is one flag or block → flag (for
    blocks that are metrics, or tuples whose last element is a metric, a mapping metric → flag
    is also accepted).
    """
    models = list(table)
    blocks: list[Hashable] = list(dict.fromkeys(b for m in models for b in table[m]))
    s = np.array([[table[m].get(b, math.nan) for m in models] for b in blocks],
                 dtype=np.float64).reshape(len(blocks), len(models))
    if isinstance(higher_is_better, Mapping):
        flags = []
        for b in blocks:
            key = b if b in higher_is_better else (b[-1] if isinstance(b, tuple) else b)
            if key not in higher_is_better:
                raise ConfigError(f"no direction (higher_is_better) for block {b!r}; known: "
                                  f"{sorted(map(str, higher_is_better))}")
            flags.append(bool(higher_is_better[key]))
        return friedman(s, flags, models, blocks)
    return friedman(s, bool(higher_is_better), models, blocks)
