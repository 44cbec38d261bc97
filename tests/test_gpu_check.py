"""benchmarks/gpu_check.sh — the one prepared GPU check — runs end to end on the CPU at tiny
sizes (`--cpu-smoke`), so a lent GPU machine's short lease is never spent finding a typo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_check_script_runs_on_the_cpu(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path), "PYTHON": sys.executable,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--cpu-smoke"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "smoke done" in out.stdout
    grid = json.loads((tmp_path / "grid_cpu.json").read_text())
    assert grid["losses"] == 2 and grid["train_s"] > 0 and grid["evaluate_s"] > 0
    assert set(grid["train_per_run_s"]) == {"mse", "lc2"}
    assert grid["projection"]["total_h"] > 0
    speed = json.loads((tmp_path / "speed_cpu.json").read_text())
    assert speed["results"]["cache"]["train_images_per_s"] > 0
