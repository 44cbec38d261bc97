"""A coefficient sweep's winner as a row of its group's table (issue 7).

The winner (``sweeps/<id>/best.json``, selected on the validation split among candidates
trained at the sweep's own seed) was retrained at every seed of the params' `seeds`
(``sweeps/<id>/seeds/seed<s>/``) and each of those models scored once on the test split
(``sweeps/<id>/seeds/seed<s>/test/``); here each seed becomes a `RunResult` of grid group
``sweep.group`` with loss id = the sweep id, the winning spec and that seed, and the config
seen by the tables gains that loss id in the group, so every table, mark, statistic over
seeds and figure treats it like a run.
"""

from __future__ import annotations

import dataclasses
import json

from salloss.errors import DataError
from salloss.pipeline.config import PipelineConfig
from salloss.pipeline.plan import Run, sweep_dir, sweep_test_dir
from salloss.report.collect import (
    SCORES,
    SUMMARY,
    TRAIN,
    RunResult,
    _read_json,
    _require,
    check_summary,
    history_curves,
    read_scores,
)

LABEL = "Random-search LC: {spec}"


def sweep_results(cfg: PipelineConfig) -> tuple[PipelineConfig, list[RunResult]]:
    """(cfg with each sweep id added to its group's losses, the sweeps' winner results: one
    per sweep and seed of `cfg.seeds`)."""
    if not cfg.sweeps:
        return cfg, []
    metrics = tuple(cfg.evaluation["metrics"])
    losses, grid, results = dict(cfg.losses), {k: dict(v) for k, v in cfg.grid.items()}, []
    for sid, sw in cfg.sweeps.items():
        folder = sweep_dir(cfg, sid)
        best = json.loads(_require(folder / "best.json").read_text(encoding="utf-8"))
        for seed in cfg.seeds:
            test = sweep_test_dir(cfg, sid, seed)
            ids, scores = read_scores(test / SCORES, metrics)
            check_summary(test / SUMMARY, _read_json(test / SUMMARY), scores)
            train = _read_json(test / TRAIN)
            if train.get("status", "finished") != "finished":
                raise DataError(f"{test / TRAIN}: the sweep's seed-{seed} training is not "
                                f"finished (status {train.get('status')!r})")
            tested = train.get("sweep") or {}
            trained = train.get("params") or {}
            if (tested.get("spec"), trained.get("seed")) != (best["spec"], seed):
                raise DataError(f"{test / TRAIN}: spec {tested.get('spec')!r} at seed "
                                f"{trained.get('seed')!r}, but {folder / 'best.json'} selected "
                                f"{best['spec']!r} and this is seed {seed}; rerun the sweep's "
                                f"sweep_seed and sweep_test for seed {seed}")
            run = Run(sw.group, sw.dataset, sw.arch, sid, seed)
            results.append(RunResult(run, best["spec"], test, ids, scores, train,
                                     history_curves(train.get("history") or []),
                                     [folder / "best.json", test / SCORES, test / SUMMARY,
                                      test / TRAIN]))
        losses[sid] = best["spec"]
        grid[sw.group]["losses"] = (*grid[sw.group]["losses"], sid)
    return dataclasses.replace(cfg, losses=losses, grid=grid), results


def label(cfg: PipelineConfig, loss_id: str, spec: str) -> str | None:
    """The table label of a sweep's row (None for ordinary losses)."""
    return LABEL.format(spec=spec) if loss_id in cfg.sweeps else None
