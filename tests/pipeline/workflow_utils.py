"""Copy the repository into a scratch folder (as a fresh clone would see it) and run the
workflow tools there, with the test's virtualenv on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TINY = ROOT / "tests" / "pipeline" / "presets" / "tiny.yaml"


def fresh_copy(dest: Path) -> Path:
    """Tracked and untracked-but-not-ignored files of the repo, as `git clone` would give
    (plus uncommitted edits, so the tests check the working tree)."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    e.setdefault("OMP_NUM_THREADS", "2")
    return e


def run(cmd: list[str], cwd: Path, timeout: float = 900, check: bool = True):
    out = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True,
                         timeout=timeout)
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({out.returncode}):\n"
                             f"{out.stdout[-4000:]}\n{out.stderr[-6000:]}")
    return out
