"""``salloss evaluate`` / ``salloss metrics`` on generated folders in the datasets' layouts."""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys

import numpy as np
import pytest
from PIL import Image

from salloss.errors import SallossError
from salloss.metrics import PAPER_METRICS, score_records
from salloss.metrics import cli as metrics_cli
from salloss.metrics.files import index_folder, load_fixations, load_map


def main(argv: list[str]) -> int:
    """Our subcommands exactly as ``salloss.cli.main`` runs them, without importing the other
    parts' command modules (so these tests only fail for our own reasons)."""
    parser = argparse.ArgumentParser(prog="salloss")
    metrics_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SallossError as exc:
        print(f"salloss {args.command}: error: {exc}", file=sys.stderr)
        return 2


def _save_u8(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(path, quality=95)


@pytest.fixture
def mit_like(tmp_path, maker):
    """MIT1003 layout: ALLFIXATIONMAPS/<id>_fixMap.jpg + <id>_fixPts.jpg; predictions as
    PNG (smaller than the image) and .npy."""
    gt = tmp_path / "ALLFIXATIONMAPS"
    pred = tmp_path / "pred"
    ids = ["i05june05_static_street_boston_p1010764", "i1000", "i2_empty"]
    for k, image_id in enumerate(ids):
        sal, fix, density = maker(k, shape=(96, 128))
        if image_id.endswith("empty"):
            fix[:] = False
        _save_u8(gt / f"{image_id}_fixMap.jpg", 255 * density / max(density.max(), 1e-12))
        _save_u8(gt / f"{image_id}_fixPts.jpg", 255.0 * fix)
        if k == 0:
            _save_u8(pred / f"{image_id}.png", 255 * sal[::2, ::2] / sal.max())
        else:
            pred.mkdir(exist_ok=True)
            np.save(pred / f"{image_id}.npy", sal)
    return tmp_path, ids


def test_evaluate_mit_layout(mit_like, capsys):
    root, ids = mit_like
    out, summary = root / "res" / "scores.csv", root / "res" / "summary.json"
    rc = main(["evaluate", "--pred", str(root / "pred"),
               "--density", str(root / "ALLFIXATIONMAPS"), "--density-suffix", "_fixMap",
               "--fixations", str(root / "ALLFIXATIONMAPS"), "--fixations-suffix", "_fixPts",
               "--out", str(out), "--summary", str(summary), "--no-progress"])
    assert rc == 0
    with open(out) as fh:
        table = list(csv.DictReader(fh))
    assert [r["id"] for r in table] == sorted(ids)
    assert list(table[0]) == ["id", *PAPER_METRICS]
    # Same numbers as scoring the loaded arrays directly.
    gt = root / "ALLFIXATIONMAPS"
    pred_files = index_folder(root / "pred")
    records = [(i, load_map(pred_files[i]), load_map(gt / f"{i}_fixMap.jpg"),
                load_fixations(gt / f"{i}_fixPts.jpg")) for i in sorted(ids)]
    direct = score_records(records, PAPER_METRICS, progress=False)
    for row, ref in zip(table, direct, strict=True):
        for m in PAPER_METRICS:
            value = float(row[m])
            assert (math.isnan(value) and math.isnan(ref[m])) or value == ref[m]
    empty = next(r for r in table if r["id"] == "i2_empty")
    assert empty["NSS"] == "nan" and empty["AUC-J"] == "nan"
    data = json.loads(summary.read_text())
    assert data["NSS"]["n_nan"] == 1 and data["NSS"]["count"] == 2
    assert "AUC-B" in capsys.readouterr().out


def test_jpeg_fixations_thresholded_at_127(tmp_path):
    fix = np.zeros((40, 40))
    fix[10, 10] = fix[30, 5] = 255
    _save_u8(tmp_path / "f.jpg", fix)
    loaded = load_fixations(tmp_path / "f.jpg")
    raw = np.asarray(Image.open(tmp_path / "f.jpg"))
    assert (raw[~loaded] > 0).any()  # JPEG noise around the dots is not a fixation
    assert loaded[10, 10] and loaded[30, 5] and loaded.sum() <= 4


def test_metrics_alias_nested_ids_and_extra_metrics(tmp_path, maker):
    # CAT2000-style nested ids (Category/NNN), .npy ground truth, sAUC and IG.
    for k, image_id in enumerate(["Action/001", "Action/002", "Art/001"]):
        sal, fix, density = maker(10 + k, shape=(40, 50))
        for folder, arr in (("pred", sal), ("dens", density), ("fix", fix.astype(np.uint8))):
            path = tmp_path / folder / f"{image_id}.npy"
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, arr)
    np.save(tmp_path / "centre.npy", np.ones((9, 9)) + np.eye(9))
    out = tmp_path / "scores.csv"
    rc = main(["metrics", "--pred", str(tmp_path / "pred"), "--density", str(tmp_path / "dens"),
               "--fixations", str(tmp_path / "fix"), "--metrics", "CC,sAUC,IG",
               "--baseline", str(tmp_path / "centre.npy"), "--shuffled-m", "2",
               "--out", str(out), "--summary", str(tmp_path / "s.csv"), "--no-progress"])
    assert rc == 0
    with open(out) as fh:
        table = list(csv.DictReader(fh))
    assert [r["id"] for r in table] == ["Action/001", "Action/002", "Art/001"]
    assert all(0 <= float(r["sAUC"]) <= 1 and math.isfinite(float(r["IG"])) for r in table)


def test_missing_and_ambiguous_files_are_named(mit_like, capsys):
    root, ids = mit_like
    (root / "ALLFIXATIONMAPS" / "i1000_fixMap.jpg").unlink()
    rc = main(["evaluate", "--pred", str(root / "pred"),
               "--density", str(root / "ALLFIXATIONMAPS"), "--density-suffix", "_fixMap",
               "--fixations", str(root / "ALLFIXATIONMAPS"), "--fixations-suffix", "_fixPts",
               "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "no density file" in err and "'i1000'" in err and "_fixMap" in err
    rc = main(["evaluate", "--pred", str(root / "pred"), "--fixations", str(root / "x"),
               "--metrics", "NSS", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "does not exist" in err and "fixations folder" in err
    np.save(root / "pred" / f"{ids[0]}.npy", np.ones((3, 3)))  # beside the .png
    rc = main(["evaluate", "--pred", str(root / "pred"),
               "--fixations", str(root / "ALLFIXATIONMAPS"), "--fixations-suffix", "_fixPts",
               "--metrics", "NSS", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "two files for id" in err and ids[0] in err


@pytest.mark.parametrize(
    "argv,msg",
    [(["--metrics", "CC,AUC"], "unknown metric"),
     (["--metrics", "CC"], "need --density"),
     (["--metrics", "NSS"], "need --fixations"),
     (["--metrics", "IG", "--fixations", "."], "needs --baseline")],
)
def test_bad_options(tmp_path, capsys, argv, msg):
    rc = main(["evaluate", "--pred", str(tmp_path), *argv])
    assert rc == 2 and msg in capsys.readouterr().err


@pytest.mark.parametrize("command", ["evaluate", "metrics"])
def test_help_through_the_salloss_console_script(command, capsys):
    from salloss.cli import main as salloss_main

    with pytest.raises(SystemExit) as info:
        salloss_main([command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "--density-suffix" in text and "_fixMap" in text and "NaN" in text


def test_evaluate_tuebingen_convention_mit_layout(mit_like, capsys):
    """--convention tuebingen reads only the fixations (no --density needed), gives the
    benchmark's metric names and the scoring layer's numbers, with sAUC's negatives from every
    other image."""
    from salloss.metrics import tuebingen as tue
    from salloss.metrics.tuebingen_scoring import count_points

    root, ids = mit_like
    out, summary = root / "res" / "tue.csv", root / "res" / "tue.json"
    rc = main(["evaluate", "--convention", "tuebingen", "--pred", str(root / "pred"),
               "--fixations", str(root / "ALLFIXATIONMAPS"), "--fixations-suffix", "_fixPts",
               "--sigma", "6", "--out", str(out), "--summary", str(summary), "--no-progress"])
    assert rc == 0
    with open(out) as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == ["id", "AUC", "sAUC", "NSS", "CC", "KLDiv", "SIM"]
    gt, preds = root / "ALLFIXATIONMAPS", index_folder(root / "pred")
    fixes = [load_fixations(gt / f"{i}_fixPts.jpg") for i in sorted(ids)]
    points = [count_points(f.astype(np.int64)) for f in fixes]
    shapes = [f.shape for f in fixes]
    records = [{"id": i, "sal": load_map(preds[i]), "fixations": f,
                "other_points": tue.shuffled_nonfixations(k, points, shapes)}
               for k, (i, f) in enumerate(zip(sorted(ids), fixes, strict=True))]
    direct = score_records(records, ["AUC", "sAUC", "NSS", "CC", "KLDiv", "SIM"],
                           progress=False, convention="tuebingen", sigma=6.0)
    for row, ref in zip(table, direct, strict=True):
        for m in ("AUC", "sAUC", "NSS", "CC", "KLDiv", "SIM"):
            value = float(row[m])
            assert (math.isnan(value) and math.isnan(ref[m])) or value == ref[m], m
    data = json.loads(summary.read_text())
    assert data["KLDiv"]["higher_is_better"] is False and data["AUC"]["n_nan"] == 1
    assert "KLDiv" in capsys.readouterr().out


def test_evaluate_tuebingen_reads_npy_counts(tmp_path, maker):
    sal, fix, _ = maker(3, shape=(30, 40))
    counts = fix.astype(np.int64)
    y, x = np.argwhere(fix)[0]
    counts[y, x] = 3  # three fixations on one pixel
    for folder, arr in (("pred", sal), ("fix", counts)):
        (tmp_path / folder).mkdir()
        np.save(tmp_path / folder / "a.npy", arr)
    res = {}
    for name in ("counts", "binary"):
        if name == "binary":
            np.save(tmp_path / "fix" / "a.npy", fix)
        rc = main(["evaluate", "--convention", "tuebingen", "--pred", str(tmp_path / "pred"),
                   "--fixations", str(tmp_path / "fix"), "--metrics", "NSS",
                   "--summary", str(tmp_path / f"{name}.json"), "--no-progress"])
        assert rc == 0
        res[name] = json.loads((tmp_path / f"{name}.json").read_text())["NSS"]["mean"]
    assert res["counts"] != pytest.approx(res["binary"], abs=1e-9)


@pytest.mark.parametrize(
    "argv,msg",
    [(["--metrics", "IG"], "probabilistic models"),
     (["--metrics", "AUC-J"], "in the 'tuebingen' convention"),
     (["--metrics", "NSS"], "need --fixations"),
     (["--sigma", "0", "--fixations", "."], "--sigma must be > 0")],
)
def test_bad_tuebingen_options(tmp_path, capsys, argv, msg):
    rc = main(["evaluate", "--convention", "tuebingen", "--pred", str(tmp_path), *argv])
    assert rc == 2 and msg in capsys.readouterr().err
