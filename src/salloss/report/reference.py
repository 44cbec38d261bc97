"""The paper's published values (``results/paper_reference/table{1,2,3,4}.csv``), looked up by
loss SPEC, never by loss id.

A run's spec is matched to a paper row through `spec_key`: the canonical text of each term
(`salloss.losses.spec`), sorted, so ``10 * kld-2*cc - nss`` and ``-2*cc + 10*kld - nss`` both
find the paper's "KLD + CC + NSS". Values keep the text the paper prints (e.g. ``0.28`` in
Table 1) for display, and a float for ranking.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from salloss.errors import ConfigError, DataError
from salloss.losses import paper
from salloss.losses.registry import REGISTRY
from salloss.losses.spec import format_terms, parse

PAPER_TABLES = ("table1", "table2", "table3", "table4")
# The paper's dataset of each table (Table 3 has two: the row's `dataset` column says which).
TABLE_DATASET = {"table1": "MIT1003", "table2": "MIT1003", "table4": "MIT1003"}
PAPER_DATASETS = ("MIT1003", "CAT2000", "FiWi")
COMBINATION_GROUP = "Linear combinations"
OTHER_GROUP = "Other losses"
CITATION = ("Bruckert, Tavakoli, Liu, Christie, Le Meur, \"Deep saliency models: the quest for "
            "the loss function\", arXiv:1907.02336 (Neurocomputing 453, 2021)")


@dataclass(frozen=True)
class PaperValue:
    """One published number: as printed (`text`) and as a float (`value`)."""

    text: str
    value: float


@dataclass(frozen=True)
class PaperRow:
    """One row of a published table: its label, its group/dataset, and metric -> value."""

    table: str
    row: int
    name: str
    group: str
    values: dict[str, PaperValue]


def spec_key(spec: str) -> str:
    """Order-free canonical form of a loss spec: its canonical terms, sorted, joined by ' + '.

    A sum does not depend on term order, so neither does the paper row it matches.
    """
    try:
        terms = parse(spec)
    except (ConfigError, ValueError) as exc:
        raise ConfigError(f"loss spec {spec!r}: {exc}") from None
    return " + ".join(sorted(format_terms((t,)) for t in terms))


def spec_category(spec: str) -> str:
    """'pixel' | 'distribution' | 'saliency' | 'perceptual' for a one-term spec (the registry's
    category), 'combination' for several terms (the regularizer `r` counts as a term)."""
    terms = parse(spec)
    return REGISTRY[terms[0].name].category if len(terms) == 1 else "combination"


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise DataError(f"paper reference file not found: {path} (set report.reference in the "
                        "params to the folder holding table1.csv … table4.csv)")
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _value(path: Path, row: dict[str, str], metric: str) -> PaperValue | None:
    text = (row.get(metric) or "").strip()
    if not text:
        return None
    try:
        return PaperValue(text, float(text))
    except ValueError:
        raise DataError(f"{path}: row {row.get('row')!r}, column {metric}: not a number "
                        f"({text!r})") from None


class PaperReference:
    """The four published tables, read from a folder (see ``results/paper_reference``)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.rows: dict[str, list[PaperRow]] = {t: self._load(t) for t in PAPER_TABLES}
        self._check_table2()
        self._by_key: dict[str, dict[str, int]] = {
            t: {spec_key(s): i for i, (_, s) in enumerate(paper.TABLES[t])} for t in PAPER_TABLES
        }
        self._groups = self._category_groups()

    def _load(self, table: str) -> list[PaperRow]:
        path = self.folder / f"{table}.csv"
        out = []
        for raw in _read_csv(path):
            metrics = [k for k in raw if k not in ("row", "group", "dataset", "name")]
            values = {m: v for m in metrics if (v := _value(path, raw, m)) is not None}
            try:
                number = int(raw["row"])
            except (KeyError, TypeError, ValueError):
                raise DataError(f"{path}: every row needs an integer 'row' column") from None
            group = raw.get("group") or raw.get("dataset") or TABLE_DATASET.get(table, "")
            out.append(PaperRow(table, number, raw.get("name", ""), group, values))
        return out

    def _check_table2(self) -> None:
        """table2.csv must list salloss.losses.paper.TABLE2's rows in the same order."""
        names = [r.name for r in self.rows["table2"]]
        expected = [n for n, _ in paper.TABLE2]
        if names != expected:
            raise DataError(f"{self.folder / 'table2.csv'}: its row names {names} differ from "
                            f"salloss.losses.paper.TABLE2 {expected}")

    def _category_groups(self) -> dict[str, str]:
        """Loss category -> the paper's Table 2 group name, learnt from its one-term rows."""
        groups: dict[str, str] = {}
        for (_, spec), row in zip(paper.TABLE2, self.rows["table2"], strict=True):
            groups.setdefault(spec_category(spec), row.group)
        return groups

    def group_of(self, spec: str) -> str:
        """The paper's Table 2 group of a spec: its own row's group if it is one of the 27,
        else the group of its category ('Linear combinations' for several terms)."""
        row = self.table2_row(spec)
        if row is not None:
            return row.group
        category = spec_category(spec)
        if category == "combination":
            return self._groups.get(category, COMBINATION_GROUP)
        return self._groups.get(category, OTHER_GROUP)

    @property
    def group_order(self) -> list[str]:
        """Table 2's group names in the paper's order (then the catch-all group)."""
        return list(dict.fromkeys(r.group for r in self.rows["table2"])) + [OTHER_GROUP]

    def table2_row(self, spec: str) -> PaperRow | None:
        """The Table 2 row of `spec`, or None if the paper did not train it."""
        i = self._by_key["table2"].get(spec_key(spec))
        return None if i is None else self.rows["table2"][i]

    def lookup(self, table: str, spec: str, dataset: str | None) -> PaperRow | None:
        """The published row of `table` for a run with `spec` on paper dataset `dataset`
        ('MIT1003', 'CAT2000', 'FiWi' or None when unknown), or None.

        Table 1's row is "Our model" (the baseline with MSE); Tables 3 and 4 list three losses
        per dataset in `salloss.losses.paper.TABLE3` order.
        """
        if table not in PAPER_TABLES:
            return None
        i = self._by_key[table].get(spec_key(spec))
        if i is None:
            return None
        if table == "table3":
            if dataset is None:
                return None
            rows = [r for r in self.rows[table] if r.group == dataset]
        else:
            if dataset not in (None, TABLE_DATASET[table]):
                return None
            rows = self.rows[table]
            if table == "table1":
                rows = [r for r in rows if r.name == paper.TABLE1[0][0]]
        return rows[i] if i < len(rows) else None

    def published_models(self) -> list[PaperRow]:
        """Table 1's rows of OTHER models (everything but the paper's own baseline)."""
        return [r for r in self.rows["table1"] if r.name != paper.TABLE1[0][0]]
