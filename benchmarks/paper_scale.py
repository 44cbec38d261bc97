"""What the paper-scale study costs, measured on the rehearsal preset (config/rehearsal.yaml):
synthetic MIT1003, CAT2000 and FiWi at the REAL image sizes and layouts, read by the real loaders.

Runs the pipeline's own jobs (`salloss run STAGE`, one cold process each, as a cluster runs
them) and measures each: wall time, CPU time, peak ANONYMOUS memory (RssAnon of the job's
process tree, sampled every 50 ms — memory-mapped caches read through the page cache are the
kernel's to evict, not the job's to hold), disk written (growth of its outputs) and cost per
image. The jobs:

- prepare (with ``salloss data synth`` writing the data first) and features of every dataset;
- one training per kind of job: baseline `mse` on cached features, baseline LC2 (df + gm run
  VGG-16 on the maps), SAM-VGG LC2 — ``--epochs`` epochs each — and W-MSE on CAT2000 and FiWi;
- their evaluations (nine metrics at each image's original size);
- the report.

Then: peak memory of prepare, features and evaluate at N and 2N images (it must not grow with
N beyond what the stage holds), and the full paper grid's cost, projected from the measured
per-image costs (this machine) and from a FLOP count (one GPU at a sustained rate).

    python benchmarks/paper_scale.py                       # counts: 5 % of the real ones
    python benchmarks/paper_scale.py --fraction 1          # the full rehearsal (hours on CPU)
    python benchmarks/paper_scale.py --json scale.json     # also save the numbers

Jobs run with ``SALLOSS_WARM=0`` (no warm-start server: a cluster job pays its start-up) and
``--threads`` threads (default 1: per-core costs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SALLOSS = str(Path(sys.executable).with_name("salloss"))
COUNTS = {"mit1003": 1003, "cat2000": 2000, "fiwi": 149}
MIN_COUNTS = {"mit1003": 12, "cat2000": 60, "fiwi": 12}  # CAT2000: 3 per category folder
SPLITS = {"mit1003": (500, 200), "cat2000": (1000, 400), "fiwi": (75, 30)}  # train, val
# The paper grid: (dataset, arch, kind, trainings); kinds are what the benchmark trains.
GRID = [("mit1003", "baseline", "mse", 23), ("mit1003", "baseline", "lc2", 4 + 16),
        ("cat2000", "baseline", "mse", 2), ("cat2000", "baseline", "lc2", 1),
        ("fiwi", "baseline", "mse", 2), ("fiwi", "baseline", "lc2", 1),
        ("mit1003", "sam_vgg", "lc2", 3)]  # + the 16 sweep candidates (perceptual terms)
EPOCH_CAPS = {"baseline": 100, "sam_vgg": 10}  # the paper preset's max_epochs


# -- measuring one job -----------------------------------------------------------------------
def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            todo += [int(k) for k in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:
            pass
    return out


def _anon_kb(pid: int) -> int:
    total = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("RssAnon:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def _size(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_size
        elif path.is_dir():
            total += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return total


def run_job(argv: list[str], outputs: list[Path], threads: int) -> dict[str, Any]:
    """Run ``salloss <argv>`` cold: wall, CPU, peak anonymous memory, MB written."""
    env = {**os.environ, "SALLOSS_WARM": "0", "OMP_NUM_THREADS": str(threads)}
    before = _size(outputs)
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.Popen([SALLOSS, *argv, "--threads", str(threads)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _anon_kb(proc.pid))
            time.sleep(0.05)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    _, err = proc.communicate()
    watcher.join()
    wall = time.monotonic() - start
    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"salloss {' '.join(argv)} failed ({proc.returncode}):\n{err[-3000:]}")
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "peak_anon_mb": peak[0] / 1024,
            "written_mb": (_size(outputs) - before) / 1e6}


# -- the benchmark's preset ------------------------------------------------------------------
def bench_params(work: Path, counts: dict[str, int], epochs: int) -> Path:
    """config/rehearsal.yaml with these image counts (the splits keep the paper's proportions),
    its folders in `work`, and a grid of one training per kind of job."""
    p = yaml.safe_load((ROOT / "config" / "rehearsal.yaml").read_text())
    p["preset"] = "bench"
    p["data_dir"], p["results_dir"] = str(work / "data"), str(work / "results")
    for key, d in p["datasets"].items():
        d["root"] = str(work / "raw" / key)
        d["synthesize"] = counts[key]
        train, val = SPLITS[key]
        d["split"] = f"{train / COUNTS[key]:.4f},{val / COUNTS[key]:.4f},rest"
    n_train = min(int(counts[d] * SPLITS[d][0] / COUNTS[d]) for d in counts)
    # the paper's own grid (Tables 2-4); Table 5's encdec archs are not timed here yet
    p["archs"] = {k: v for k, v in p["archs"].items() if k in ("baseline", "sam_vgg")}
    for arch in p["archs"].values():
        arch["train"].update(max_epochs=epochs, patience=epochs)
        # the paper's batch sizes, unless this small a rehearsal has fewer training images
        arch["train"]["batch_size"] = max(1, min(arch["train"]["batch_size"], n_train // 2))
        arch["train"]["micro_batch"] = min(arch["train"]["micro_batch"],
                                           arch["train"]["batch_size"])
    p["grid"] = {
        "table2": {"datasets": ["mit1003"], "archs": ["baseline"], "losses": ["mse", "lc2"]},
        "table3": {"datasets": ["cat2000", "fiwi"], "archs": ["baseline"], "losses": ["wmse"]},
        "table4": {"datasets": ["mit1003"], "archs": ["sam_vgg"], "losses": ["lc2"]},
    }
    p["report"].update(figure3_losses=["mse", "lc2"], figure3_images=2)
    p.pop("sweeps", None)
    p["seeds"] = [0]  # one training per kind of job: its cost; the full cost × len(seeds)
    work.mkdir(parents=True, exist_ok=True)
    path = work / "params.yaml"
    path.write_text(yaml.safe_dump(p, sort_keys=False))
    return path


def jobs_of(params: Path) -> list[tuple[str, list[str], list[Path], int | None]]:
    """(label, salloss argv, outputs, images its cost is per) of every job, pipeline order."""
    from salloss.data import PreparedDataset
    from salloss.pipeline import plan
    from salloss.pipeline.config import load_params

    cfg = load_params(params)
    base = ["--params", str(params)]
    out = [(f"fetch {d}", ["run", "fetch", *base, "--dataset", d], [Path(s.root)],
            s.synthesize) for d, s in cfg.datasets.items()]  # the rehearsal synthesises
    out += [(f"prepare {d}", ["run", "prepare", *base, "--dataset", d],
             [plan.prepared_dir(cfg, d)], s.synthesize) for d, s in cfg.datasets.items()]
    out += [(f"features {d}", ["run", "features", *base, "--dataset", d, "--arch", "baseline"],
             [plan.features_dir(cfg, d, "baseline")], s.synthesize)
            for d, s in cfg.datasets.items()]
    for r in plan.plan_runs(cfg):
        keys = ["--dataset", r.dataset, "--arch", r.arch, "--loss", r.loss, "--seed", "0"]
        rd = plan.run_dir(cfg, r.dataset, r.arch, r.loss, 0)
        split = cfg.evaluation["split"]

        def count(names: tuple[str, ...], d: str = r.dataset) -> Any:
            return lambda: sum(len(PreparedDataset(plan.prepared_dir(cfg, d)).split[n])
                               for n in names)

        out.append((f"train {r.dataset} {r.arch} {r.loss}", ["run", "train", *base, *keys],
                    [rd], count(("train", "val"))))
        out.append((f"evaluate {r.dataset} {r.arch} {r.loss}",
                    ["run", "evaluate", *base, *keys], [rd], count((split,))))
    out.append(("report", ["run", "report", *base], [plan.report_dir(cfg)], None))
    return out


def measure(params: Path, threads: int, only: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    rows = []
    for label, argv, outputs, n in jobs_of(params):
        if only and not label.startswith(only):
            continue
        m = run_job(argv, outputs, threads)
        n = n() if callable(n) else n
        m.update(job=label, images=n, per_image_ms=1000 * m["wall_s"] / n if n else None)
        rows.append(m)
        print(row_text(m), flush=True)
    return rows


def row_text(m: dict[str, Any]) -> str:
    per = f"{m['per_image_ms']:.1f}" if m.get("per_image_ms") else "–"
    n = m["images"] if m.get("images") else "–"
    return (f"| {m['job']} | {n} | {m['wall_s']:.1f} | {m['cpu_s']:.1f} | "
            f"{m['peak_anon_mb']:.0f} | {m['written_mb']:.1f} | {per} |")


# -- projections -----------------------------------------------------------------------------
def project(rows: list[dict[str, Any]], epochs: int, gpu_tflops: float,
            flops: bool) -> dict[str, Any]:
    """The full paper grid at config/paper.yaml's seed count: CPU-hours on this machine
    (measured per image-epoch training costs × the grid's image-epochs at the epoch caps: an
    upper bound), and GPU-hours from FLOPs. Trainings and evaluations repeat per seed; prepare
    and the feature caches do not."""
    seeds = len(yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())["seeds"])
    by = {r["job"]: r for r in rows}
    cost = {}  # CPU-seconds per image-epoch (train + val images) of each kind
    for arch, loss in (("baseline", "mse"), ("baseline", "lc2"), ("sam_vgg", "lc2")):
        r = by[f"train mit1003 {arch} {loss}"]
        cost[(arch, loss)] = r["cpu_s"] / epochs / r["images"]
    train_s = seeds * sum(n * cost[(arch, loss)] * sum(SPLITS[d]) * EPOCH_CAPS[arch]
                          for d, arch, loss, n in GRID)
    per_image = {}  # CPU-seconds per image of the one-off and per-run stages
    for stage in ("prepare", "features", "evaluate"):
        for d in COUNTS:
            hits = [r for r in rows if r["job"].startswith(f"{stage} {d}")]
            if hits:
                per_image[(stage, d)] = hits[0]["cpu_s"] / hits[0]["images"]
    data_s = sum(per_image[(s, d)] * COUNTS[d] for s in ("prepare", "features") for d in COUNTS)
    n_runs = {d: sum(n for dd, _, _, n in GRID if dd == d) for d in COUNTS}
    test = {d: COUNTS[d] - sum(SPLITS[d]) for d in COUNTS}
    eval_s = seeds * sum(per_image.get(("evaluate", d), 0) * test[d] * n_runs[d]
                         for d in COUNTS)
    out = {"train_cpu_h": train_s / 3600, "data_cpu_h": data_s / 3600,
           "evaluate_cpu_h": eval_s / 3600,
           "cost_per_image_epoch_s": {f"{a} {loss}": v for (a, loss), v in cost.items()},
           "gpu_tflops": gpu_tflops, "seeds": seeds}
    if flops:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        import train_speed  # the benchmark's own FLOP model of one step of each kind

        pflop = train_speed.grid_pflop(EPOCH_CAPS["baseline"], EPOCH_CAPS["sam_vgg"], seeds)
        out.update(grid_pflop=pflop, gpu_h=pflop * 1e3 / gpu_tflops / 3600)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fraction", type=float, default=0.05,
                    help="image counts as a fraction of the real ones (default 0.05; 1 = real)")
    ap.add_argument("--epochs", type=int, default=1, help="epochs per training (default 1)")
    ap.add_argument("--threads", type=int, default=1, help="threads per job (default 1)")
    ap.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    ap.add_argument("--no-scaling", action="store_true", help="skip the N vs 2N memory check")
    ap.add_argument("--no-flops", action="store_true", help="skip the FLOP count (~1 min)")
    ap.add_argument("--gpu-tflops", type=float, default=150.0,
                    help="sustained GPU throughput of the projection (default 150 TFLOP/s)")
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="salloss-scale-"))
    counts = {k: max(MIN_COUNTS[k], round(v * args.fraction)) for k, v in COUNTS.items()}
    print(f"machine: {platform.machine()} {platform.processor()}, {os.cpu_count()} cores; "
          f"image counts {counts} (real: {COUNTS}); {args.epochs} epoch(s); {args.threads} "
          f"thread(s) per job; work folder {work}\n", flush=True)
    print("| job | images | wall (s) | CPU (s) | peak anon (MB) | written (MB) | ms/image |")
    print("|:--|--:|--:|--:|--:|--:|--:|", flush=True)
    result: dict[str, Any] = {"machine": f"{platform.machine()} {platform.processor()}, "
                              f"{os.cpu_count()} cores", "counts": counts,
                              "epochs": args.epochs, "threads": args.threads}
    try:
        result["jobs"] = measure(bench_params(work / "main", counts, args.epochs), args.threads)
        if not args.no_scaling:
            result["scaling"] = {}
            for n in (counts["mit1003"], 2 * counts["mit1003"]):
                print(f"\nmemory at N = {n} MIT1003-layout images:", flush=True)
                params = bench_params(work / f"n{n}", {**counts, "mit1003": n}, args.epochs)
                rows = measure(params, args.threads, only=(
                    "fetch mit1003", "prepare mit1003", "features mit1003",
                    "train mit1003 baseline mse", "evaluate mit1003 baseline mse"))
                result["scaling"][n] = {r["job"]: r["peak_anon_mb"] for r in rows
                                        if "mit1003" in r["job"]}
        result["projection"] = project(result["jobs"], args.epochs, args.gpu_tflops,
                                       not args.no_flops)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    p = result["projection"]
    print(f"\nfull paper grid × {p['seeds']} seeds on this machine, upper bound (every run at "
          "its epoch cap): "
          f"training {p['train_cpu_h']:.0f} CPU-h, prepare + features {p['data_cpu_h']:.1f} "
          f"CPU-h, evaluations {p['evaluate_cpu_h']:.1f} CPU-h")
    if "gpu_h" in p:
        print(f"on one GPU: {p['grid_pflop']:.0f} PFLOP of training = {p['gpu_h']:.2f} h at a "
              f"sustained {p['gpu_tflops']:.0f} TFLOP/s")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
