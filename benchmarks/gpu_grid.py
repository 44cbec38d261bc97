"""The rehearsal's MIT1003 grid on one device, stage by stage, and what the whole paper grid
would take there — the measured part of `benchmarks/gpu_check.sh`.

Stages (each timed, wall clock): synth + prepare (synthetic MIT1003 in its real layout, 1,003
images by default), features (frozen VGG-16 at 300×400), the 27 baseline trainings of Table 2
with an epoch cap, run ``--parallel-train`` at a time on the one device (small head trainings
leave a big GPU idle: several share it, like a ``gpu_slots`` resource), and their evaluations
(nine metrics at original size, ``--parallel-eval`` processes, CPU-bound). Last, the projected
wall time of the whole paper grid on this device: the measured per-epoch training time of each
kind of run × the paper preset's epoch caps, the data stages scaled to CAT2000 and FiWi, and the
evaluations.

    python benchmarks/gpu_grid.py --device cuda                  # on the GPU machine
    python benchmarks/gpu_grid.py --device cpu --n-images 24 --input-size 48x64 \\
        --losses mse,lc2 --epochs 1                              # a smoke run anywhere

Every job is a `salloss run STAGE` process on a derived rehearsal preset (config/rehearsal.yaml
with only MIT1003 and Table 2), exactly what Snakemake would run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
COUNTS = {"mit1003": 1003, "cat2000": 2000, "fiwi": 149}
EPOCH_CAPS = {"baseline": 100, "sam_vgg": 10}
PERCEPTUAL = ("df", "gm", "lc1_df_gm", "lc2")


def salloss(*argv: str, env: dict[str, str]) -> float:
    """Run one `salloss` command; its wall time (raises with its log on failure)."""
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "salloss.cli", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"salloss {' '.join(argv)} failed ({proc.returncode}):\n"
                         f"{proc.stderr[-3000:]}")
    return time.monotonic() - start


def derived_params(work: Path, args: argparse.Namespace) -> Path:
    p = yaml.safe_load((ROOT / "config" / "rehearsal.yaml").read_text())
    p["preset"] = "gpucheck"
    p["device"] = args.device
    p["data_dir"], p["results_dir"] = str(work / "data"), str(work / "results")
    mit = p["datasets"]["mit1003"]
    mit.update(root=str(work / "raw" / "mit1003"), synthesize=args.n_images)
    if args.n_images < COUNTS["mit1003"]:
        mit["split"] = "0.5,0.2,rest"
    p["datasets"] = {"mit1003": mit}
    p["archs"] = {"baseline": p["archs"]["baseline"]}
    base = p["archs"]["baseline"]
    if args.input_size:
        base["input_size"] = [int(v) for v in args.input_size.lower().split("x")]
    n_train = int(args.n_images * (0.5 if args.n_images < COUNTS["mit1003"] else 500 / 1003))
    base["train"].update(max_epochs=args.epochs, patience=args.epochs,
                         batch_size=min(base["train"]["batch_size"], max(1, n_train // 2)))
    if args.amp != "off":
        base["train"]["amp"] = args.amp
    losses = args.losses.split(",") if args.losses else p["grid"]["table2"]["losses"]
    p["grid"] = {"table2": {"datasets": ["mit1003"], "archs": ["baseline"], "losses": losses}}
    p["report"].update(figure3_losses=losses[:2], figure3_images=2, figure4_group=None)
    p.pop("sweeps", None)
    work.mkdir(parents=True, exist_ok=True)
    path = work / "params.yaml"
    path.write_text(yaml.safe_dump(p, sort_keys=False))
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    ap.add_argument("--n-images", type=int, default=COUNTS["mit1003"],
                    help="MIT1003 images (default 1003, the real count)")
    ap.add_argument("--input-size", help="baseline input HxW (default the paper's 300x400)")
    ap.add_argument("--epochs", type=int, default=3, help="epoch cap per training (default 3)")
    ap.add_argument("--losses", help="comma-separated loss ids (default: Table 2's 27)")
    ap.add_argument("--amp", default="off", choices=("off", "bf16", "fp16"),
                    help="mixed precision of the trainings (default off, the paper preset's)")
    ap.add_argument("--parallel-train", type=int, default=4,
                    help="trainings sharing the device at a time (default 4)")
    ap.add_argument("--parallel-eval", type=int, default=os.cpu_count() or 1,
                    help="evaluation processes at a time (default: one per core)")
    ap.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    ap.add_argument("--json", type=Path, help="also write the timings as JSON")
    args = ap.parse_args()
    if args.work is not None:
        return grid(args, args.work)
    with tempfile.TemporaryDirectory(prefix="salloss-gpu-grid-") as work:  # removed afterwards
        return grid(args, Path(work))


def grid(args: argparse.Namespace, work: Path) -> int:
    """Time the rehearsal MIT1003 grid in ``work`` and print (and maybe save) the figures."""
    params = derived_params(work, args)
    from salloss.pipeline.config import load_params

    cfg = load_params(params)
    losses = list(cfg.grid["table2"]["losses"])
    cores = os.cpu_count() or 1
    env = {**os.environ, "SALLOSS_WARM": "0"}

    def run(stage: str, *keys: str, threads: int = 1) -> float:
        return salloss("run", stage, "--params", str(params), "--threads", str(threads),
                       *keys, env=env)

    timings: dict[str, Any] = {"device": args.device, "n_images": args.n_images,
                               "epochs": args.epochs, "losses": len(losses),
                               "parallel_train": args.parallel_train}
    print(f"rehearsal MIT1003 grid on {args.device}: {args.n_images} images, {len(losses)} "
          f"losses × {args.epochs} epoch(s), {args.parallel_train} trainings at a time, "
          f"{args.parallel_eval} evaluations at a time; work folder {work}", flush=True)
    t = time.monotonic()
    timings["prepare_s"] = (run("fetch", "--dataset", "mit1003", threads=cores)  # synthesise
                            + run("prepare", "--dataset", "mit1003", threads=cores))
    timings["features_s"] = run("features", "--dataset", "mit1003", "--arch", "baseline",
                                threads=cores)
    print(f"  synth + prepare {timings['prepare_s']:.1f} s; features "
          f"{timings['features_s']:.1f} s", flush=True)

    def train(loss: str) -> tuple[str, float]:
        return loss, run("train", "--dataset", "mit1003", "--arch", "baseline", "--loss",
                         loss, "--seed", "0", threads=max(1, cores // args.parallel_train))

    start = time.monotonic()
    with ThreadPoolExecutor(args.parallel_train) as pool:
        per_run = dict(pool.map(train, losses))
    timings["train_s"] = time.monotonic() - start
    timings["train_per_run_s"] = per_run

    def evaluate(loss: str) -> float:
        return run("evaluate", "--dataset", "mit1003", "--arch", "baseline", "--loss", loss,
                   "--seed", "0", threads=1)

    start = time.monotonic()
    with ThreadPoolExecutor(args.parallel_eval) as pool:
        eval_runs = list(pool.map(evaluate, losses))
    timings["evaluate_s"] = time.monotonic() - start
    timings["evaluate_per_run_s"] = sum(eval_runs) / len(eval_runs)
    timings["total_s"] = time.monotonic() - t
    print(f"  {len(losses)} trainings {timings['train_s']:.1f} s; {len(losses)} evaluations "
          f"{timings['evaluate_s']:.1f} s; total {timings['total_s']:.1f} s", flush=True)
    timings["projection"] = project(cfg, timings, per_run, losses, args)
    p = timings["projection"]
    print(f"projected paper grid on this device (epoch caps: baseline "
          f"{EPOCH_CAPS['baseline']}, SAM {EPOCH_CAPS['sam_vgg']}; {args.parallel_train} "
          f"trainings at a time): {p['total_h']:.2f} h ({p['total_h'] * 60:.0f} min) — "
          f"training {p['train_h']:.2f} h, data {p['data_h']:.2f} h, evaluations "
          f"{p['evaluate_h']:.2f} h", flush=True)
    if args.json:
        args.json.write_text(json.dumps(timings, indent=2))
    return 0


def project(cfg: Any, timings: dict[str, Any], per_run: dict[str, float], losses: list[str],
            args: argparse.Namespace) -> dict[str, float]:
    """Upper bound (every run at its epoch cap) from the measured runs: a training's time per
    epoch (its job time minus a start-up share, / epochs), scaled by each dataset's training
    images; SAM-VGG runs as 38.7 cached-baseline runs (README's measured ratio) when not
    measured here; the data stages and evaluations scaled by image counts."""
    cheap = [per_run[k] for k in losses if k not in PERCEPTUAL]
    heavy = [per_run[k] for k in losses if k in PERCEPTUAL] or cheap
    epoch_cheap = sum(cheap) / len(cheap) / args.epochs
    epoch_heavy = sum(heavy) / len(heavy) / args.epochs
    scale = COUNTS["mit1003"] / args.n_images
    # (trainings without, with perceptual terms): Tables 2-3, and the sweep's 16 candidates
    runs = {"mit1003": (23, 4 + 16), "cat2000": (2, 1), "fiwi": (2, 1)}
    train_s = 0.0
    for d, (n_cheap, n_heavy) in runs.items():
        f = COUNTS[d] / args.n_images
        train_s += (n_cheap * epoch_cheap + n_heavy * epoch_heavy) * f * EPOCH_CAPS["baseline"]
    sam_s = 3 * 38.7 * epoch_cheap * scale * EPOCH_CAPS["sam_vgg"]
    train_s = (train_s + sam_s) / args.parallel_train
    data_s = (timings["prepare_s"] + timings["features_s"]) * sum(COUNTS.values()) / args.n_images
    eval_s = timings["evaluate_s"] / len(losses) * 36 * scale
    return {"train_h": train_s / 3600, "data_h": data_s / 3600, "evaluate_h": eval_s / 3600,
            "total_h": (train_s + data_s + eval_s) / 3600}


if __name__ == "__main__":
    sys.exit(main())
