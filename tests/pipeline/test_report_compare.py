"""The demo test's comparison (`report_compare`) passes training noise and fails regressions."""

import csv
import json
import shutil

import numpy as np
from report_compare import K, compare_reports

METRICS = ("CC", "KL")
LOSSES = ("mse", "kld", "cc")
SEEDS = (0, 1, 2)


def _write(folder, means, baseline=0.5):
    """A minimal report: report.json runs with test-set means, table2.csv with the seed means
    and one baseline CSV. `means[(loss, seed)] = {metric: value}`."""
    (folder / "tables").mkdir(parents=True)
    (folder / "baselines").mkdir()
    runs = [{"group": "table2", "dataset": "mit1003", "arch": "baseline", "loss": loss,
             "seed": seed, "means": means[(loss, seed)]} for loss in LOSSES for seed in SEEDS]
    (folder / "report.json").write_text(json.dumps({"runs": runs}))
    with (folder / "tables" / "table2.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["table", "label", "loss_id", "dataset", "arch", "seeds", *METRICS,
                    *(f"{m}_rank" for m in METRICS)])
        for loss in LOSSES:
            row = [float(np.mean([means[(loss, s)][m] for s in SEEDS])) for m in METRICS]
            w.writerow(["table2", loss.upper(), loss, "mit1003", "baseline", "0 1 2",
                        *map(repr, row), "1", "2"])
    with (folder / "baselines" / "mit1003_oracle.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows([["id", "CC"], ["a", repr(baseline)], ["b", "0.75"]])


def _means(rng, shift=None):
    base = {"mse": (0.70, 2.0), "kld": (0.65, 0.9), "cc": (0.72, 3.0)}
    out = {}
    for loss in LOSSES:
        for seed in SEEDS:
            cc, kl = base[loss]
            out[(loss, seed)] = {"CC": cc + rng.normal(0, 0.01), "KL": kl + rng.normal(0, 0.2)}
            if shift and loss == shift[0]:
                out[(loss, seed)][shift[1]] += shift[2]
    return out


def test_a_rerun_with_other_training_noise_passes(tmp_path):
    """New seeds' worth of noise (what another CPU's last bits amount to) is within K SE."""
    _write(tmp_path / "old", _means(np.random.default_rng(0)))
    _write(tmp_path / "new", _means(np.random.default_rng(1)))
    result = compare_reports(tmp_path / "new", tmp_path / "old")
    assert result.failures == [], result.failures
    assert result.cells == len(LOSSES) * len(METRICS)
    assert 0 < max(z for z, _ in result.worst) < K


def test_a_changed_loss_fails_on_its_row(tmp_path):
    """One loss trained differently (a formula change): its CC moves by 0.1 = 10 seed SDs."""
    _write(tmp_path / "old", _means(np.random.default_rng(0)))
    _write(tmp_path / "new", _means(np.random.default_rng(1), shift=("kld", "CC", -0.1)))
    failures = compare_reports(tmp_path / "new", tmp_path / "old").failures
    assert len(failures) == 1 and "KLD" in failures[0] and "CC" in failures[0], failures


def test_a_metric_bug_fails_on_the_untrained_baselines(tmp_path):
    """A baseline's per-image score must not move at all (data and metric code are
    machine-independent): a change in the 7th digit fails."""
    means = _means(np.random.default_rng(0))
    _write(tmp_path / "old", means)
    _write(tmp_path / "new", means, baseline=0.5 + 1e-7)
    failures = compare_reports(tmp_path / "new", tmp_path / "old").failures
    assert len(failures) == 1 and "baselines/mit1003_oracle.csv" in failures[0], failures


def test_derived_columns_and_missing_tables(tmp_path):
    """Ranks may change (counted, not failed); a table that is no longer produced fails."""
    means = _means(np.random.default_rng(0))
    _write(tmp_path / "old", means)
    _write(tmp_path / "new", means)
    path = tmp_path / "new" / "tables" / "table2.csv"
    path.write_text(path.read_text().replace(",1,2\n", ",2,1\n"))
    result = compare_reports(tmp_path / "new", tmp_path / "old")
    assert result.failures == [] and result.derived_changes == 2 * len(LOSSES)
    assert result.identical_cells == result.cells
    shutil.copy(path, tmp_path / "old" / "tables" / "table3.csv")
    assert any("table files differ" in f
               for f in compare_reports(tmp_path / "new", tmp_path / "old").failures)
