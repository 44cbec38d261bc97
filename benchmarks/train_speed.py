"""Training throughput of the study's jobs, and what the whole paper grid costs.

Times exactly what `salloss train` runs per batch (`salloss.training.step.Stepper` fed by
`salloss.training.batches.ArraySource`) on random data of the real sizes:

- baseline, live backbone: uint8 images → frozen VGG-16 → head (loss mse)
- baseline, feature cache: float16 features → head (loss mse)      ← what the pipeline runs
- baseline, feature cache, LC2 (perceptual df+gm: two VGG passes on the maps per batch)
- SAM-VGG (loss 10·KL − 2·CC − NSS), RMSprop
- the one-time feature extraction (VGG encode), per-epoch checkpoint write, and job start-up

and prints images/s, the ratios, and an estimate of the paper grid (27 + 6 baseline runs,
3 SAM-VGG runs) from those numbers. Run it on the machine you want numbers for:

    python benchmarks/train_speed.py                      # CPU here: small batches
    python benchmarks/train_speed.py --amp bf16           # on a CUDA machine
    python benchmarks/train_speed.py --json speed.json    # also save the numbers
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

T0 = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from salloss import losses  # noqa: E402
from salloss.io import write_json  # noqa: E402
from salloss.training import modelio  # noqa: E402
from salloss.training.batches import ArraySource  # noqa: E402
from salloss.training.checkpoint import capture_rng, save_checkpoint, trainable_state  # noqa: E402
from salloss.training.config import parse_size  # noqa: E402
from salloss.training.step import Stepper  # noqa: E402
from salloss.training.summary import device_name  # noqa: E402

IMPORT_S = time.perf_counter() - T0

LC1 = "10*kld - 2*cc - nss"
LC2 = "10*kld - 2*cc - nss + df + gm + sigmse(lam=0.55) + r"
# The paper grid (SPEC.md §2): Table 2 = 27 specs on MIT1003, of which 4 have perceptual terms
# (df, gm, LC1+DF+GM, LC2); Tables 3/4 = wmse, LC1+R, LC2 (one perceptual).
# Split sizes: MIT1003 500/200 (paper), CAT2000 and FiWi 50 %/20 % (salloss default).
GRID = [  # (dataset, arch, jobs without perceptual terms, jobs with, n_train, n_val)
    ("MIT1003", "baseline", 23, 4, 500, 200),
    ("CAT2000", "baseline", 2, 1, 1000, 400),
    ("FiWi", "baseline", 2, 1, 75, 30),
    ("MIT1003", "sam_vgg", 2, 1, 500, 200),
]
DATASET_IMAGES = {"MIT1003": 1003, "CAT2000": 2000, "FiWi": 149}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def gaussian_map(size: tuple[int, int]) -> np.ndarray:
    """A centre-bias-like map (max 1) for the `r` term."""
    yy, xx = np.mgrid[0:size[0], 0:size[1]]
    return np.exp(-(((yy - size[0] / 2) / (0.25 * size[0])) ** 2
                    + ((xx - size[1] / 2) / (0.25 * size[1])) ** 2)).astype(np.float32)


def random_batch_arrays(n: int, x_shape: tuple[int, ...], x_dtype: Any,
                        out_size: tuple[int, int], seed: int = 0) -> dict[str, np.ndarray]:
    """Random inputs and plausible targets (max-normalised density, ~15 fixations per map)."""
    rng = np.random.default_rng(seed)
    if x_dtype == np.uint8:
        x = rng.integers(0, 256, (n, *x_shape), dtype=np.uint8)
    else:
        x = rng.random((n, *x_shape), dtype=np.float32).astype(x_dtype)
    density = rng.random((n, *out_size), dtype=np.float32)
    density /= density.max(axis=(1, 2), keepdims=True)
    fixations = (rng.random((n, *out_size)) < 15 / (out_size[0] * out_size[1])).astype(np.uint8)
    fixations[:, out_size[0] // 2, out_size[1] // 2] = 1
    return {"x": x, "density": density, "fixations": fixations}


def bench_training(arch: str, spec: str, *, cached: bool, args: argparse.Namespace,
                   device: torch.device, input_size: tuple[int, int], batch: int,
                   steps: int, warmup: int) -> dict[str, Any]:
    """images/s of train steps and of eval (forward + loss) steps for one configuration."""
    t_build = time.perf_counter()
    needs = {n for t in losses.parse(spec) for n in losses.REGISTRY[t.name].needs}
    model = modelio.build_model(arch, weights=args.weights, activation="relu",
                                input_size=input_size, seed=0)
    out_size = modelio.output_size(model, input_size)
    center = torch.from_numpy(gaussian_map(out_size)) if "center_bias" in needs else None
    loss_fn = losses.build(spec, center_bias=center, vgg_weights=args.weights).to(device)
    if loss_fn.activation != "relu":
        model = modelio.build_model(arch, weights=args.weights, activation=loss_fn.activation,
                                    input_size=input_size, seed=0)
    channels_last = device.type == "cuda" and not args.no_channels_last
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = (torch.optim.RMSprop(params, lr=1e-4, alpha=0.9, eps=1e-8) if arch == "sam_vgg"
                 else torch.optim.SGD(params, lr=1e-3, momentum=0.9))
    build_s = time.perf_counter() - t_build
    if cached:
        x_shape, x_dtype = tuple(model.feature_shape(input_size)), np.float16
    else:
        x_shape, x_dtype = (*input_size, 3), np.uint8
    arrays = random_batch_arrays(2 * batch, x_shape, x_dtype, out_size)
    source = ArraySource(arrays, np.arange(2 * batch), device,
                         preload=device.type == "cuda" and not args.stream)
    stepper = Stepper(model, loss_fn, optimizer, device=device, out_size=out_size,
                      cached=cached, amp=args.amp, channels_last=channels_last)

    def run(n: int, train: bool) -> float:
        """images/s from the MEDIAN step time (robust to a shared machine's hiccups); the
        trainer synchronises every step anyway (it reads the loss), so timing does too."""
        model.train(train)
        order = np.resize(np.arange(2 * batch), (warmup + n) * batch)  # cycles the rows
        times = []
        batches = source.iterate(order, batch)
        for i in range(warmup + n):
            sync(device)
            start = time.perf_counter()
            b = next(batches)
            (stepper.train_batch if train else stepper.eval_batch)(b, f"benchmark step {i}")
            sync(device)
            if i >= warmup:
                times.append(time.perf_counter() - start)
        return batch / float(np.median(times))

    train_ips = run(steps, True)
    eval_ips = run(steps, False)
    one = next(iter(source.iterate(np.arange(1), 1)))
    flops = {}
    for mode, fn in (("train", stepper.train_batch), ("eval", stepper.eval_batch)):
        model.train(mode == "train")
        with FlopCounterMode(display=False) as counter:
            fn(one, "flop count")
        flops[mode] = counter.get_total_flops() / 1e9
    return {"arch": arch, "loss": spec, "cached": cached, "batch": batch, "steps": steps,
            "input_size": list(input_size), "output_size": list(out_size),
            "train_images_per_s": train_ips, "eval_images_per_s": eval_ips,
            "train_gflop_per_image": flops["train"], "eval_gflop_per_image": flops["eval"],
            "build_s": build_s, "model": model, "optimizer": optimizer}


def bench_encode(args: argparse.Namespace, device: torch.device, input_size: tuple[int, int],
                 batch: int, steps: int) -> float:
    """images/s of the one-time feature extraction (what `salloss features` runs)."""
    model = modelio.build_model("baseline", weights=args.weights, activation="relu",
                                input_size=input_size, seed=0).to(device).eval()
    images = torch.randint(0, 256, (batch, *input_size, 3), dtype=torch.uint8, device=device)
    with torch.no_grad():
        model.encode(modelio.to_input(images))
        sync(device)
        start = time.perf_counter()
        for _ in range(steps):
            model.encode(modelio.to_input(images)).to(torch.float16).cpu()
        sync(device)
    return batch * steps / (time.perf_counter() - start)


def bench_checkpoint(result: dict[str, Any]) -> float:
    """Seconds to write one epoch checkpoint of this model (trainable weights, optimizer,
    best weights, RNG), atomically, as the trainer does."""
    model, optimizer = result["model"], result["optimizer"]
    weights = trainable_state(model)
    best = {k: v.clone() for k, v in weights.items()}
    state = {"model": weights, "best_model": best, "optimizer": optimizer.state_dict(),
             "rng": capture_rng(), "history": []}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        save_checkpoint(Path(tmp) / "last.pt", state)
        elapsed = time.perf_counter() - start
        size = (Path(tmp) / "last.pt").stat().st_size
    result["checkpoint_mb"] = size / 2**20
    return elapsed


def estimate_grid(r: dict[str, dict[str, Any]], args: argparse.Namespace,
                  encode_ips: float, startup_s: float, seeds: int = 1) -> dict[str, Any]:
    """Upper-bound GPU time of the paper grid: every job runs max_epochs (no early stop), once
    per training seed (the feature cache is shared by the seeds)."""
    rows, total, total_pflop = [], 0.0, 0.0
    for dataset, arch, plain, percept, n_train, n_val in GRID:
        epochs = args.epochs_baseline if arch == "baseline" else args.epochs_sam
        plain_r, percept_r = (r["cache"], r["cache_lc2"]) if arch == "baseline" else (
            r["sam"], r["sam_lc2"])

        def epoch_s(res: dict[str, Any], n_train: int = n_train, n_val: int = n_val) -> float:
            return (n_train / res["train_images_per_s"] + n_val / res["eval_images_per_s"]
                    + res["checkpoint_s"])

        def epoch_pflop(res: dict[str, Any], n_train: int = n_train, n_val: int = n_val) -> float:
            return (n_train * res["train_gflop_per_image"]
                    + n_val * res["eval_gflop_per_image"]) / 1e6

        seconds = seeds * ((plain * epoch_s(plain_r) + percept * epoch_s(percept_r)) * epochs
                           + (plain + percept) * startup_s)
        pflop = seeds * (plain * epoch_pflop(plain_r) + percept * epoch_pflop(percept_r)) * epochs
        rows.append({"dataset": dataset, "arch": arch, "jobs": seeds * (plain + percept),
                     "epochs": epochs, "s_per_epoch": epoch_s(plain_r),
                     "s_per_epoch_perceptual": epoch_s(percept_r), "total_s": seconds,
                     "pflop": pflop})
        total += seconds
        total_pflop += pflop
    n_images = sum(DATASET_IMAGES.values())
    features_s = n_images / encode_ips
    total_pflop += n_images * r["live"]["eval_gflop_per_image"] / 1e6  # ≈ VGG encode
    return {"jobs": rows, "features_s": features_s, "total_s": total + features_s,
            "total_pflop": total_pflop}


def grid_pflop(epochs_baseline: int = 100, epochs_sam: int = 10, seeds: int = 1) -> float:
    """The paper grid's training FLOPs (PFLOP, upper bound: every job at its epoch cap, each of
    the `seeds` training seeds; the VGG encoding of the feature cache once), from a
    FLOP count of one step of each kind of job at the paper's sizes (device-independent; runs
    on the CPU with batch 1 in about a minute)."""
    args = argparse.Namespace(weights="none", amp="off", stream=False, no_channels_last=True,
                              epochs_baseline=epochs_baseline, epochs_sam=epochs_sam)
    cpu = torch.device("cpu")
    size, sam_size = (300, 400), (240, 320)
    r = {}
    for key, arch, spec, cached, in_size in (
            ("live", "baseline", "mse", False, size), ("cache", "baseline", "mse", True, size),
            ("cache_lc2", "baseline", LC2, True, size), ("sam", "sam_vgg", LC1, False, sam_size),
            ("sam_lc2", "sam_vgg", LC2, False, sam_size)):
        res = bench_training(arch, spec, cached=cached, args=args, device=cpu,
                             input_size=in_size, batch=1, steps=1, warmup=0)
        res["checkpoint_s"] = 0.0
        r[key] = res
    return estimate_grid(r, args, encode_ips=1.0, startup_s=0.0, seeds=seeds)["total_pflop"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    p.add_argument("--amp", default="off", choices=("off", "bf16", "fp16"),
                   help="CUDA mixed precision (default off)")
    p.add_argument("--weights", default="none",
                   help="VGG-16 weights: none (default; speed does not depend on them), "
                        "imagenet or a .pth")
    p.add_argument("--input-size", default="300x400", help="baseline input HxW (paper 300x400)")
    p.add_argument("--sam-input-size", default="240x320", help="SAM-VGG input HxW (240x320)")
    p.add_argument("--batch", type=int, help="baseline batch (default: 60 on CUDA, 4 on CPU)")
    p.add_argument("--sam-batch", type=int, help="SAM batch (default: 10 on CUDA, 1 on CPU)")
    p.add_argument("--steps", type=int, help="timed steps (default: 20 on CUDA, 5 on CPU)")
    p.add_argument("--warmup", type=int, help="untimed steps first (default: 5 CUDA, 1 CPU)")
    p.add_argument("--skip-sam", action="store_true", help="do not time SAM-VGG")
    p.add_argument("--stream", action="store_true",
                   help="CUDA: stream batches from pinned host memory instead of preloading")
    p.add_argument("--no-channels-last", action="store_true", help="CUDA: keep NCHW")
    p.add_argument("--epochs-baseline", type=int, default=100,
                   help="epochs per baseline job in the grid estimate (paper preset max: 100)")
    p.add_argument("--epochs-sam", type=int, default=10,
                   help="epochs per SAM job in the grid estimate (SAM's own setup: 10)")
    p.add_argument("--assume-tflops", type=float, default=150.0,
                   help="sustained TFLOP/s for the FLOP-based grid estimate (default 150: a "
                        "conservative bf16 figure for an H100)")
    p.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    args = p.parse_args()

    device = modelio.resolve_device(args.device)
    cuda = device.type == "cuda"
    if args.amp != "off" and not cuda:
        p.error("--amp needs a CUDA device")
    batch = args.batch or (60 if cuda else 4)
    sam_batch = args.sam_batch or (10 if cuda else 1)
    steps = args.steps or (20 if cuda else 5)
    warmup = args.warmup if args.warmup is not None else (5 if cuda else 1)
    size, sam_size = parse_size(args.input_size), parse_size(args.sam_input_size)
    if cuda:
        torch.backends.cudnn.benchmark = True
    t = time.perf_counter()
    import dvclive  # noqa: F401 - its (dvc) import is part of every job's start-up
    dvclive_import_s = time.perf_counter() - t

    print(f"device: {device_name(device)}; torch {torch.__version__}; AMP: {args.amp}; "
          f"channels_last: {cuda and not args.no_channels_last}; data: "
          f"{'preloaded on device' if cuda and not args.stream else 'streamed from host'}",
          flush=True)
    results: dict[str, dict[str, Any]] = {}
    plan = [("live", "baseline", "mse", False, size, batch),
            ("cache", "baseline", "mse", True, size, batch),
            ("cache_lc2", "baseline", LC2, True, size, batch)]
    if not args.skip_sam:
        plan.append(("sam", "sam_vgg", LC1, False, sam_size, sam_batch))
        plan.append(("sam_lc2", "sam_vgg", LC2, False, sam_size, sam_batch))
    for key, arch, spec, cached, in_size, b in plan:
        n_steps, n_warm = (steps, warmup) if arch == "baseline" or cuda else (1, 0)  # CPU SAM
        res = bench_training(arch, spec, cached=cached, args=args, device=device,
                             input_size=in_size, batch=b, steps=n_steps, warmup=n_warm)
        res["checkpoint_s"] = bench_checkpoint(res)
        del res["model"], res["optimizer"]
        results[key] = res
        print(f"  {key:10s} {arch:8s} {'cache' if cached else 'live ':5s} batch {b:3d} "
              f"{in_size[0]}x{in_size[1]}: train {res['train_images_per_s']:9.2f} img/s "
              f"({res['train_gflop_per_image']:6.1f} GFLOP/img), eval "
              f"{res['eval_images_per_s']:9.2f} img/s ({res['eval_gflop_per_image']:6.1f}), "
              f"checkpoint {res['checkpoint_s']:.3f} s ({res['checkpoint_mb']:.0f} MB)  [{spec}]",
              flush=True)
    encode_ips = bench_encode(args, device, size, batch, steps)
    startup_s = IMPORT_S + dvclive_import_s + results["cache"]["build_s"]
    print(f"  feature extraction (VGG encode) {encode_ips:.2f} img/s; job start-up "
          f"≈ {startup_s:.1f} s (imports {IMPORT_S:.1f} + dvclive {dvclive_import_s:.1f} + "
          f"model/loss build {results['cache']['build_s']:.1f})")

    live, cache = results["live"]["train_images_per_s"], results["cache"]["train_images_per_s"]
    print("\nratios (train images/s):")
    print(f"  feature cache / live backbone : {cache / live:6.2f}x")
    print(f"  cache mse / cache LC2         : "
          f"{cache / results['cache_lc2']['train_images_per_s']:6.2f}x  (perceptual terms)")
    out: dict[str, Any] = {
        "device": device_name(device), "amp": args.amp, "torch": torch.__version__,
        "python": platform.python_version(), "results": results,
        "encode_images_per_s": encode_ips, "startup_s": startup_s,
        "ratio_cache_over_live": cache / live,
    }
    if "sam" in results:
        sam = results["sam"]["train_images_per_s"]
        print(f"  live baseline / SAM-VGG       : {live / sam:6.2f}x")
        print(f"  cached baseline / SAM-VGG     : {cache / sam:6.2f}x")
        out["ratio_live_over_sam"] = live / sam
        grid = estimate_grid(results, args, encode_ips, startup_s)
        out["grid_estimate"] = grid
        print(f"\npaper grid, upper bound (every job runs its max epochs: baseline "
              f"{args.epochs_baseline}, SAM {args.epochs_sam}; feature cache on):")
        for row in grid["jobs"]:
            print(f"  {row['dataset']:8s} {row['arch']:8s} {row['jobs']:2d} jobs × "
                  f"{row['epochs']:3d} epochs: {row['s_per_epoch']:8.2f} s/epoch "
                  f"({row['s_per_epoch_perceptual']:8.2f} with df+gm) → "
                  f"{row['total_s'] / 3600:7.2f} h")
        print(f"  feature extraction: {grid['features_s'] / 60:.1f} min")
        at_assumed = grid["total_pflop"] * 1e3 / args.assume_tflops / 3600
        print(f"  total: {grid['total_s'] / 3600:.2f} h on this device; "
              f"{grid['total_pflop']:.1f} PFLOP (= {at_assumed:.2f} h at a sustained "
              f"{args.assume_tflops:g} TFLOP/s)")
        for row in grid["jobs"]:
            share = row["pflop"] / grid["total_pflop"]
            print(f"    {row['dataset']:8s} {row['arch']:8s}: {row['pflop']:7.1f} PFLOP "
                  f"({share:5.1%})")
    if args.json:
        write_json(args.json, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
