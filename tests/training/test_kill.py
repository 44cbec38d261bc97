"""SIGKILL at seeded random points (mid-batch, mid-checkpoint-write), resume each time: the
final weights are bit-identical to an uninterrupted run (CPU, deterministic algorithms)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from training_helpers import BASE, BATCHES_PER_EPOCH, assert_same_run

from salloss.training.checkpoint import load_checkpoint

CHILD = Path(__file__).with_name("kill_child.py")


def _cli_args(prepared: Path, features: Path, run: Path) -> list[str]:
    h, w = BASE["input_size"]
    return [
        "--prepared", str(prepared), "--run-dir", str(run), "--features-cache", str(features),
        "--loss", BASE["loss"], "--weights", BASE["weights"], "--input-size", f"{h}x{w}",
        "--batch-size", str(BASE["batch_size"]), "--max-epochs", str(BASE["max_epochs"]),
        "--patience", str(BASE["patience"]), "--lr", str(BASE["lr"]), "--seed", str(BASE["seed"]),
        "--final-checkpoint", BASE["final_checkpoint"], "--no-progress", "--no-live",
    ]


def _run(plan: dict, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHILD), json.dumps(plan), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_sigkill_anywhere_then_resume_is_bit_identical(
    prepared: Path, features: Path, reference: Path, tmp_path: Path
) -> None:
    rng = np.random.default_rng(2019_07_04)  # seeded: the same kill points every run
    total_steps = BASE["max_epochs"] * BATCHES_PER_EPOCH
    run = tmp_path / "run"
    args = _cli_args(prepared, features, run)

    # 1. killed in the middle of an epoch, before any or after some checkpoints
    first = int(rng.integers(2, total_steps // 2 + 1))
    proc = _run({"mode": "kill_at_step", "n": first}, args, tmp_path)
    assert proc.returncode == -9, proc.stderr
    done = (first - 1) // BATCHES_PER_EPOCH  # epochs completed before the kill
    if done:
        assert load_checkpoint(run / "last.pt")["epoch"] == done
    else:
        assert not (run / "last.pt").exists()

    # 2. resumed, then killed while writing a checkpoint: the old one must survive intact
    proc = _run({"mode": "kill_in_save", "n": int(rng.integers(1, 3))}, args, tmp_path)
    assert proc.returncode == -9, proc.stderr
    assert list(run.glob(".last.pt.*.tmp")), "the crash should leave a partial temp file"
    saved = load_checkpoint(run / "last.pt")
    assert saved["epoch"] >= max(done, 1) and not saved["finished"]

    # 3. resumed, killed again mid-epoch
    remaining = total_steps - saved["epoch"] * BATCHES_PER_EPOCH
    proc = _run({"mode": "kill_at_step", "n": int(rng.integers(1, remaining))}, args, tmp_path)
    assert proc.returncode == -9, proc.stderr

    # 4. resumed to the end
    proc = _run({"mode": "none"}, args, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not list(run.glob(".*.tmp")), "stale temp files are cleaned up on resume"
    assert_same_run(reference, run)

    # 5. the finished run restarted: a no-op that exits 0 and changes nothing
    before = (run / "last.pt").read_bytes()
    proc = _run({"mode": "none"}, args, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (run / "last.pt").read_bytes() == before
