"""The measurement scripts the README quotes run, and measure what they say (CPU, tiny data)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _table(stdout: str) -> dict[str, dict[str, float]]:
    """The candidate × loss table printed by benchmarks/perceptual_invariance.py."""
    lines = stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("candidate"))
    losses = lines[head].split()[1:]
    rows = {}
    for line in lines[head + 1: head + 7]:
        name, values = line[:12].strip(), line[12:].split()
        rows[name] = dict(zip(losses, map(float, values), strict=True))
    return rows


def test_perceptual_invariance_measures_that_gm_ignores_location(prepared: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "perceptual_invariance.py"), "--prepared",
         str(prepared), "--size", "32x40", "--weights", "none", "--split", "val"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = _table(out.stdout)
    assert set(rows) == {"truth", "shifted", "mirrored", "other image", "centre bias", "uniform"}
    assert all(abs(v) < 1e-6 for k, v in rows["truth"].items() if k != "KLD")
    # a wrong place costs GM a far smaller share of the centre bias's loss than it costs MSE
    gm = rows["mirrored"]["GM"] / rows["centre bias"]["GM"]
    mse = rows["mirrored"]["MSE"] / rows["centre bias"]["MSE"]
    assert gm < 0.1 * mse, (gm, mse)
