"""Compare a regenerated demo report with the committed one, each number at the noise it has.

Why not number for number: a trained cell is the mean over the preset's seeds of chaotic
trainings; another CPU (another vendor's MKL paths: `salloss.numerics` cannot remove those)
changes the last bits of the first update, and the runs then diverge like new seeds do. So:

- **Trained cells** (a table row with a loss, one metric): the committed and the regenerated
  mean over n seeds may differ by at most ``K`` standard errors of a difference of two such
  means, ``K · s · sqrt(2 / n)``, where s is the larger of the cell's seed-to-seed SD in
  either report and the median SD of that metric over the block's losses (report.json keeps
  every run's test-set means, so both are measured, not assumed); never below `FLOOR`.
- **Everything that is not trained** — the centre-bias, uniform and true-density baselines
  (per image), the published rows, the row labels, specs, seeds and image counts — must be
  equal: the synthetic data and the metric code are machine-independent under the portable
  numerics profile, so a metric bug shows up there exactly.
- Ranks, ▲/▼ marks, CI half-widths, p-values and the seed-stability tables follow from the
  means; they are checked for the same rows and columns and their changes are counted, not
  failed on.

`K` was calibrated on a report regenerated under ``SALLOSS_CPU_NUMERICS=native`` on an
AVX-512 host (other last bits from the first step on, i.e. "another CPU"): README, "CPU
numerics", gives the measured largest |Δ| / SE.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

K = 6.0  # allowed |Δ| in standard errors of the difference of two n-seed means
FLOOR = 1.5e-4  # below the tables' printed precision
BASELINE_TOL = 1e-9  # per-image scores of the untrained baselines (relative and absolute)
# columns that follow from the means (changes are counted, not failed on)
DERIVED_SUFFIXES = ("_ci95", "_ci95_low", "_ci95_high", "_rank", "_sig", "_gap")
DERIVED = {"training_marks", "reference_map"}  # (and every column with a suffix above)
# files that hold only derived numbers: every column but these keys is derived
DERIVED_FILES = ("_significance.csv", "_ranks.csv", "_seeds.csv")
KEYS = {"table", "block", "metric", "model_a", "model_b", "kind", "dataset", "arch", "loss",
        "label", "arch_b", "level"}
# MIT/Tübingen names of the conventions table → the tables' metric (for its noise scale)
TUEBINGEN = {"KLDiv": "KL", "AUC": "AUC-J", "sAUC": "sAUC", "NSS": "NSS", "CC": "CC",
             "SIM": "SIM"}


@dataclass
class Comparison:
    """Outcome: `failures` (empty = same report within noise) and what was compared."""

    failures: list[str] = field(default_factory=list)
    cells: int = 0
    identical_cells: int = 0
    worst: list[tuple[float, str]] = field(default_factory=list)  # (|Δ|/SE, where)
    derived_changes: int = 0
    exact_values: int = 0

    def summary(self) -> str:
        top = ", ".join(f"{z:.2f} SE at {w}" for z, w in sorted(self.worst, reverse=True)[:3])
        return (f"{self.cells} trained cells ({self.identical_cells} bit-identical; largest "
                f"|Δ|: {top or 'none'}; K = {K}), {self.exact_values} untrained values equal, "
                f"{self.derived_changes} derived values (ranks, marks, CIs, p) changed, "
                f"{len(self.failures)} failure(s)")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def seed_means(report: Path) -> dict[tuple[str, str, str], dict[str, list[float]]]:
    """(dataset, arch, loss) → metric → the finite test-set means of its seeds (report.json)."""
    runs = json.loads((report / "report.json").read_text(encoding="utf-8"))["runs"]
    seen: dict[tuple[str, str, str, int], dict[str, float | None]] = {}
    for r in runs:
        seen[(r["dataset"], r["arch"], r["loss"], r["seed"])] = r["means"]
    out: dict[tuple[str, str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for (d, a, loss, _), means in sorted(seen.items()):
        for m, v in means.items():
            if v is not None and math.isfinite(v):
                out[(d, a, loss)][m].append(float(v))
    return out


def _sd(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) >= 2 else 0.0


def _noise(cell: tuple[str, str, str], metric: str, new: dict, old: dict) -> tuple[float, int]:
    """(s, n): the noise scale of a cell's metric and its seed count (module docstring)."""
    a, b = new.get(cell, {}).get(metric, []), old.get(cell, {}).get(metric, [])
    block = [_sd(v[metric]) for c, v in old.items() if c[:2] == cell[:2] and metric in v]
    median = statistics.median(block) if block else 0.0
    return max(_sd(a), _sd(b), median), max(1, min(len(a), len(b)))


def compare_reports(new: Path, old: Path) -> Comparison:
    """Compare report folder `new` with `old` (the committed one); see the module docstring."""
    out = Comparison()
    means_new, means_old = seed_means(new), seed_means(old)
    tables = sorted(p.relative_to(old).as_posix() for p in (old / "tables").glob("*.csv"))
    produced = sorted(p.relative_to(new).as_posix() for p in (new / "tables").glob("*.csv"))
    if tables != produced:
        out.failures.append(f"table files differ: committed {sorted(set(tables) - set(produced))}"
                            f" vs produced {sorted(set(produced) - set(tables))}")
    for rel in tables:
        if (new / rel).is_file():
            _compare_table(rel, _rows(new / rel), _rows(old / rel), means_new, means_old, out)
    for path in sorted((old / "baselines").glob("*.csv")):
        _compare_exact(path.relative_to(old).as_posix(), new / path.relative_to(old), path, out)
    return out


def _compare_table(rel: str, new: list[dict], old: list[dict], means_new: dict,
                   means_old: dict, out: Comparison) -> None:
    if len(new) != len(old) or (new and list(new[0]) != list(old[0])):
        out.failures.append(f"{rel}: {len(new)} rows/{len(new[0]) if new else 0} columns vs "
                            f"committed {len(old)}/{len(old[0]) if old else 0}")
        return
    conventions = rel.endswith("conventions.csv")
    for i, (a, b) in enumerate(zip(new, old, strict=True)):
        cell = (b.get("dataset", ""), b.get("arch", ""), b.get("loss_id", ""))
        if conventions:
            run = b["run"].split(" · ")
            cell = (b["dataset"], run[1], run[0])
        trained = cell in means_old or conventions
        for col, text in b.items():
            where = f"{rel} row {i} ({b.get('label') or b.get('run') or ''}) {col}"
            derived = (col in DERIVED or col.endswith(DERIVED_SUFFIXES)
                       or (rel.endswith(DERIVED_FILES) and col not in KEYS))
            if derived:
                out.derived_changes += a[col] != text
                continue
            x, y = _float(a[col]), _float(text)
            metric = (TUEBINGEN.get(b["tuebingen_metric"], b["mit_metric"])
                      if conventions and col == "tuebingen" else
                      b["mit_metric"] if conventions and col == "mit" else col)
            if trained and x is not None and y is not None and col not in (
                    "n_images", "seeds") and (conventions and col in ("mit", "tuebingen")
                                              or metric in means_old.get(cell, {})):
                s, n = _noise(cell, metric, means_new, means_old)
                single = conventions  # the conventions table shows one seed's run
                se = s * math.sqrt(2.0 if single else 2.0 / n)
                out.cells += 1
                out.identical_cells += x == y
                if math.isnan(x) or math.isnan(y):
                    if math.isnan(x) != math.isnan(y):
                        out.failures.append(f"{where}: {a[col]} vs committed {text}")
                    continue
                z = abs(x - y) / se if se > 0 else (0.0 if x == y else math.inf)
                out.worst.append((z, where))
                if abs(x - y) > max(K * se, FLOOR):
                    out.failures.append(f"{where}: {x:.6g} vs committed {y:.6g}: |Δ| = "
                                        f"{abs(x - y):.3g} > {K} × SE {se:.3g} (seed SD {s:.3g},"
                                        f" {n} seeds)")
            elif a[col] != text:
                out.failures.append(f"{where}: {a[col]!r} vs committed {text!r}")
            else:
                out.exact_values += 1


def _compare_exact(rel: str, new: Path, old: Path, out: Comparison) -> None:
    if not new.is_file():
        out.failures.append(f"{rel} is committed but not produced")
        return
    a, b = _rows(new), _rows(old)
    if len(a) != len(b):
        out.failures.append(f"{rel}: {len(a)} rows vs committed {len(b)}")
        return
    for i, (ra, rb) in enumerate(zip(a, b, strict=True)):
        for col, text in rb.items():
            x, y = _float(ra.get(col, "")), _float(text)
            same = (ra.get(col) == text if x is None or y is None else
                    (math.isnan(x) and math.isnan(y)) or
                    math.isclose(x, y, rel_tol=BASELINE_TOL, abs_tol=BASELINE_TOL))
            if same:
                out.exact_values += 1
            else:
                out.failures.append(f"{rel} row {i} {col}: {ra.get(col)!r} vs committed "
                                    f"{text!r} (an untrained baseline: must not change)")
