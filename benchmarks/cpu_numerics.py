"""Do a training's bytes depend on the host CPU? (issue 18: `salloss.numerics`).

Runs the same short demo pipeline — fetch (synthetic data), prepare, VGG features, three
5-epoch baseline trainings (mse, kld, gm: pixel, distribution and perceptual terms) and one
evaluation — in fresh processes (warm start off) under each CPU numerics profile
(``SALLOSS_CPU_NUMERICS``) on the host as it is and on the host restricted with
`cpuidmask.c` (CPUID faulting: the libraries see no AVX-512, or no AVX2), then prints a hash
of each output and the training time. Identical hashes in a column = bytes independent of the
host ISA. Needs Linux with ``cpuid_fault`` and gcc for the restricted hosts (else: host only).

    python benchmarks/cpu_numerics.py [--masks avx2,avx] [--json out.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
LOSSES = ("mse", "kld", "gm")


def shim(folder: Path) -> Path | None:
    """Build cpuidmask.so, or None when the host cannot fault CPUID or has no gcc."""
    info = Path("/proc/cpuinfo")
    flags = info.read_text(errors="replace") if info.exists() else ""
    if "cpuid_fault" not in flags or shutil.which("gcc") is None:
        return None
    out = folder / "cpuidmask.so"
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(out),
                    str(ROOT / "benchmarks" / "cpuidmask.c")], check=True)
    return out


def params(folder: Path) -> Path:
    """params.yaml with every path in `folder` and 5-epoch baseline trainings."""
    cfg = yaml.safe_load((ROOT / "params.yaml").read_text())
    cfg["preset"] = "numerics"
    cfg["data_dir"], cfg["results_dir"] = str(folder / "data"), str(folder / "results")
    for key, ds in cfg["datasets"].items():
        ds["root"] = str(folder / "data" / "raw" / key)
    cfg["archs"]["baseline"]["train"]["max_epochs"] = 5
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.read_bytes())
    return h.hexdigest()[:10]


def variant(profile: str, mask: str, so: Path | None, base: Path) -> dict[str, object]:
    folder = base / f"{profile}-{mask or 'host'}"
    folder.mkdir()
    p = params(folder)
    env = dict(os.environ, SALLOSS_WARM="0", SALLOSS_CPU_NUMERICS=profile)
    for k in ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "ONEDNN_MAX_CPU_ISA", "NPY_DISABLE_CPU_FEATURES",
              "OPENBLAS_CORETYPE"):
        env.pop(k, None)
    if mask:
        env.update(CPUIDMASK=mask, LD_PRELOAD=str(so))
    salloss = [str(Path(sys.executable).with_name("salloss")), "run"]
    common = ["--params", str(p), "--threads", "1", "--dataset", "mit1003"]
    log = open(folder / "log", "w")

    def run(*args: str) -> float:
        t = time.perf_counter()
        subprocess.run([*salloss, *args, *common], env=env, check=True, stdout=log,
                       stderr=subprocess.STDOUT)
        return time.perf_counter() - t

    run("fetch"), run("prepare"), run("features", "--arch", "baseline")
    train = sum(run("train", "--arch", "baseline", "--loss", loss, "--seed", "0")
                for loss in LOSSES)
    run("evaluate", "--arch", "baseline", "--loss", "kld", "--seed", "0")
    data = [f for f in (folder / "data").rglob("*") if f.is_file() and f.suffix != ".json"
            and "features" not in f.parts]
    runs = folder / "results" / "numerics" / "runs" / "mit1003" / "baseline"
    features = list((folder / "data" / "features").rglob("*.npy"))
    row: dict[str, object] = {"profile": profile, "host": mask or "as is",
                              "train_s": round(train, 1), "data": digest(data),
                              "features": digest(features)}
    for loss in LOSSES:
        row[loss] = digest([runs / loss / "seed0" / "model.pt"])
    row["kld scores"] = digest([runs / "kld" / "seed0" / "scores.csv"])
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--masks", default="avx2,avx", help="host restrictions besides the host as is")
    ap.add_argument("--profiles", default="portable,native")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="salloss-numerics-") as tmp:
        base = Path(tmp)
        so = shim(base)
        masks = [""] + ([m for m in args.masks.split(",") if m] if so else [])
        if so is None:
            print("no cpuid_fault or gcc: the host as is only", file=sys.stderr)
        rows = [variant(prof, m, so, base) for prof in args.profiles.split(",") for m in masks]
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(str(r[k]) for k in keys) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
