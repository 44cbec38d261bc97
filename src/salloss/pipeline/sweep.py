"""Random search over the coefficients of a combined loss (issue 7: "optimised combinations").

A sweep names the terms to combine (e.g. kld, cc, nss, sigmse(lam=0.55), df, gm, r) and a list of
candidate indices. Candidate k's coefficients are drawn log-uniformly from `coef_range` with a
generator seeded by (sweep seed, k) — a pure function, so a candidate's spec never depends on
which other candidates exist, and adding candidates to the list leaves the old ones unchanged.
The sign of each term comes from the loss registry: similarities (cc, nss) are maximised, so
they get a negative coefficient, as in the paper's LC1 = 10*kld - 2*cc - nss.

Each candidate is one training on the TRAIN split (early stopping on VAL) at the sweep's OWN
seed (`sweeps.<id>.seed`, the one that draws the coefficients), then scored on the VAL split;
the candidate with the best validation score of `select` wins. Nothing in the search reads the
test split. The winner's spec is then retrained at every seed of the params' `seeds`
(`sweep_seed`) and each of those models is scored once on the TEST split (`sweep_test`), so
its table row has one result per seed like every other row. Selecting on trainings at a seed
the table does not report keeps the row free of winner's-curse bias (a candidate that won
partly by a lucky training draw is not reported with that same draw) — provided the sweep's
seed is not one of `seeds`.
"""

from __future__ import annotations

import hashlib
import math
import re

import numpy as np

from salloss.errors import ConfigError


def candidate_coefficients(seed: int, index: int, n_terms: int,
                           coef_range: tuple[float, float]) -> list[float]:
    """Magnitudes of candidate `index`: log-uniform in `coef_range`, 3 significant digits."""
    lo, hi = coef_range
    digest = hashlib.sha256(f"salloss-sweep:{seed}:{index}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    values = np.exp(rng.uniform(math.log(lo), math.log(hi), size=n_terms))
    return [float(f"{v:.3g}") for v in values]


def term_sign(term: str) -> float:
    """-1 for a similarity (maximised, e.g. cc, nss), +1 for a loss; from the loss registry."""
    from salloss.losses.registry import REGISTRY

    match = re.match(r"\s*([A-Za-z_]\w*)", term)
    name = match.group(1) if match else term
    if name not in REGISTRY:
        raise ConfigError(f"unknown loss term {name!r}; valid terms: {', '.join(REGISTRY)}")
    return -1.0 if REGISTRY[name].higher_is_better else 1.0


def candidate_spec(terms: list[str], coefficients: list[float]) -> str:
    """The loss spec of one candidate: `c1*t1 ± c2*t2 …` with similarity terms negated."""
    from salloss.losses.spec import canonical

    pieces = [f"{term_sign(t) * c:+g}*{t}" for t, c in zip(terms, coefficients, strict=True)]
    return canonical(" ".join(pieces).lstrip("+"))


def check_terms(terms: list[str], where: str) -> None:
    """Each entry must be ONE term without coefficient or sign (e.g. 'sigmse(lam=0.55)')."""
    from salloss.losses.spec import parse

    if not isinstance(terms, list) or len(terms) < 2:
        raise ConfigError(f"{where}: give a list of at least two terms to weight")
    for i, term in enumerate(terms):
        if not isinstance(term, str) or term.strip().startswith(("-", "+")) or "*" in term:
            raise ConfigError(f"{where}[{i}]: {term!r} must be a single term without a "
                              "coefficient or sign (the sweep sets both)")
        try:
            sign = term_sign(term)
            parsed = parse(("-" if sign < 0 else "") + term)
        except ConfigError as exc:
            raise ConfigError(f"{where}[{i}]: {exc}") from None
        if len(parsed) != 1:
            raise ConfigError(f"{where}[{i}]: {term!r} must be a single term")


def spec_of(sweep, candidate: int) -> str:
    """The loss spec of `candidate` of a `SweepCfg`."""
    coefs = candidate_coefficients(sweep.seed, candidate, len(sweep.terms), sweep.coef_range)
    return candidate_spec(list(sweep.terms), coefs)


def select_best(cfg, sweep) -> dict:
    """Read every candidate's val_metrics.json and return best.json's content: the winner by
    the validation mean of `sweep.select` (direction from the metric registry), its spec and
    coefficients, and every candidate's score (ties: the lowest candidate index wins)."""
    import json

    from salloss.errors import DataError
    from salloss.metrics.scoring import higher_is_better
    from salloss.pipeline.plan import candidate_dir

    higher = higher_is_better(sweep.select)
    table = []
    for k in sweep.candidates:
        path = candidate_dir(cfg, sweep.key, k) / "val_metrics.json"
        if not path.is_file():
            raise DataError(f"missing {path}: validate candidate {k} first")
        content = json.loads(path.read_text(encoding="utf-8"))
        if content.get("split") != "val":
            raise DataError(f"{path}: scored on split {content.get('split')!r}, not 'val'")
        score = content["metrics"][sweep.select]["mean"]
        score = math.nan if score is None else float(score)
        table.append({"candidate": k, "spec": content["spec"], "val_score": score})
    usable = [row for row in table if math.isfinite(row["val_score"])]
    if not usable:
        raise DataError(f"sweep {sweep.key!r}: no candidate has a finite validation "
                        f"{sweep.select}")
    best = (max if higher else min)(usable, key=lambda r: (r["val_score"] if higher
                                                           else r["val_score"]))
    coefs = candidate_coefficients(sweep.seed, best["candidate"], len(sweep.terms),
                                   sweep.coef_range)
    signed = {t: term_sign(t) * c for t, c in zip(sweep.terms, coefs, strict=True)}
    return {"sweep": sweep.key, "candidate": best["candidate"], "spec": best["spec"],
            "coefficients": signed, "select": sweep.select, "select_split": "val",
            "higher_is_better": higher, "val_score": best["val_score"],
            "method": f"random search, log-uniform coefficients in {list(sweep.coef_range)}, "
                      f"seed {sweep.seed}",
            "candidates": table}
