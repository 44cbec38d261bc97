"""`salloss features | train | predict | score`: the training part's subcommands.

Every input and output is an explicit argument, so a pipeline rule is one command line.
Exit codes: 0 done (or nothing to do), 2 user error (message on stderr), 143 / 138 stopped by
SIGTERM / SIGUSR1 after saving (rerun the same command to resume).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import yaml

from salloss.errors import ConfigError
from salloss.training.config import AMP_MODES, OPTIMIZERS, PRELOAD_MODES, TrainConfig, parse_size
from salloss.training.signals import TrainingInterrupted

log = logging.getLogger(__name__)

_FMT = argparse.RawDescriptionHelpFormatter


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `features`, `train`, `predict` and `score` subcommands."""
    _register_features(subparsers)
    _register_train(subparsers)
    _register_predict(subparsers)
    _register_score(subparsers)


# -- features -------------------------------------------------------------------------------
def _register_features(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "features", formatter_class=_FMT,
        help="cache the baseline's frozen VGG-16 features of a prepared dataset",
        description=(
            "Compute the baseline's frozen VGG-16 features (1280 channels on the stride-8 grid)\n"
            "of every image of a prepared dataset once, as a float16 memory-mapped array, so\n"
            "that every baseline training (`salloss train --features-cache DIR`) skips VGG.\n"
            "One cache per (dataset, input size, weights); an up-to-date cache is left as is."
        ),
        epilog="example: salloss features --prepared data/prepared/mit1003 "
               "--out data/features/mit1003-300x400-imagenet --input-size 300x400",
    )
    p.add_argument("--prepared", required=True, type=Path, metavar="DIR",
                   help="prepared dataset folder (from `salloss data prepare`)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR",
                   help="cache folder to write (features.npy + manifest.json)")
    p.add_argument("--input-size", default="300x400", metavar="HxW",
                   help="model input size, height x width in pixels (default 300x400)")
    p.add_argument("--weights", default="imagenet",
                   help="VGG-16 weights: imagenet, none (random, seeded) or a .pth path")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the random backbone when --weights none (default 0)")
    p.add_argument("--arch", default="baseline", help="architecture (default baseline)")
    p.add_argument("--model-options", default=None, metavar="JSON",
                   help='the run\'s model options, e.g. \'{"backbone": "resnet50"}\' for encdec '
                        "(must equal the training's model_options)")
    p.add_argument("--batch-size", type=int, default=16, help="images per VGG pass (default 16)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("--force", action="store_true",
                   help="recompute even if the folder holds a cache (e.g. of another key)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_features)


def _json_options(text: str | None) -> dict | None:
    """``--model-options`` as a dict (None when not given); a clear error for bad JSON."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--model-options: not valid JSON ({exc}): {text!r}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"--model-options: expected a JSON object, got {text!r}")
    return value


def _features(args: argparse.Namespace) -> int:
    from salloss.training.features import compute_features

    cache = compute_features(
        args.prepared, args.out, input_size=parse_size(args.input_size), weights=args.weights,
        seed=args.seed, arch=args.arch, batch_size=args.batch_size, device=args.device,
        force=args.force, progress=not args.no_progress, options=_json_options(args.model_options),
    )
    print(f"{cache.path}: {cache.array.shape[0]} images × {tuple(cache.array.shape[1:])} float16")
    return 0


# -- train ----------------------------------------------------------------------------------
# CLI flag → TrainConfig key (flags left unset keep the --config file's / default value).
_TRAIN_FLAGS = {
    "arch": str, "loss": str, "weights": str, "input_size": str, "optimizer": str,
    "lr": float, "loss_weights_lr": float, "momentum": float, "weight_decay": float,
    "batch_size": int, "max_epochs": int, "patience": int, "min_delta": float,
    "min_rel_delta": float,
    "lr_patience": int, "lr_factor": float, "warmup_epochs": int, "ema_decay": float,
    "perceptual_size": str,
    "seed": int,
    "train_split": str, "val_split": str, "device": str, "amp": str, "preload": str,
    "checkpoint_every_s": float, "final_checkpoint": str, "micro_batch": int,
    "num_workers": int,
}
_TRAIN_HELP = {
    "arch": "architecture: baseline or sam_vgg (default baseline)",
    "loss": "loss spec, e.g. mse, '10*kld - 2*cc - nss + r' (see `salloss losses list`)",
    "weights": "VGG-16 weights: imagenet (default), none (random, seeded) or a .pth path",
    "input_size": "input size HxW in pixels (default: the architecture's, 300x400 / 240x320)",
    "optimizer": f"{', '.join(OPTIMIZERS)} (default sgd, the paper's; rmsprop = SAM's own "
                 "setup)",
    "lr": "learning rate (default 1e-3 for sgd, adam and adamw, 1e-4 for rmsprop)",
    "loss_weights_lr": "learning rate of the learned loss weights of a 'learned(...)' spec "
                       "(same optimizer, no weight decay; default: --lr)",
    "momentum": "SGD momentum (default 0.9; the paper does not give it)",
    "weight_decay": "L2 weight decay (default 0)",
    "batch_size": "images per batch (default 60, the paper's)",
    "max_epochs": "upper bound on epochs (default 50)",
    "patience": "early stopping: epochs without validation improvement (default 5)",
    "min_delta": "smallest validation-loss decrease that counts as improvement (default 0)",
    "min_rel_delta": "the same, as a fraction of |best validation loss|, added to --min-delta "
                     "(default 0)",
    "lr_patience": "reduce-on-plateau: multiply the learning rate by --lr-factor after this "
                   "many epochs without improvement (default: constant learning rate)",
    "lr_factor": "learning-rate multiplier of --lr-patience (default 0.1)",
    "warmup_epochs": "raise the learning rate linearly from ~0 over this many epochs "
                     "(default 0: none)",
    "ema_decay": "validate, early-stop and keep the exponential moving average of the weights "
                 "with this decay per step, e.g. 0.9 (default: off)",
    "perceptual_size": "HxW the maps are resized to before df/gm run VGG-16 on them (default: "
                       "the output size, the paper's)",
    "seed": "seed of initialisation, dropout and batch order (default 0)",
    "train_split": "split to train on (default train)",
    "val_split": "split for early stopping (default val)",
    "device": "auto (default), cpu, cuda or cuda:N",
    "amp": f"mixed precision on CUDA: {', '.join(AMP_MODES)} (default off)",
    "preload": f"copy the split to the device: {', '.join(PRELOAD_MODES)} (default auto: "
               "on CUDA when it fits)",
    "num_workers": "threads prefetching batches when not preloaded (default 1)",
    "checkpoint_every_s": "write the checkpoint after an epoch only if this many seconds "
                          "passed since the last one (default 0: every epoch)",
    "final_checkpoint": "what the checkpoint keeps once the run has finished: slim (default: "
                        "final and best weights and history, no optimizer/EMA/RNG state) or "
                        "full",
    "micro_batch": "forward/backward this many images at a time and accumulate gradients "
                   "into the batch's one update (default: the whole batch)",
}


def _register_train(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train", formatter_class=_FMT,
        help="train one model (resumes automatically; no-op when finished)",
        description=(
            "Train one model on a prepared dataset with a loss spec, early-stopping on the\n"
            "validation loss (the paper's setup by default: SGD lr 1e-3, momentum 0.9,\n"
            "batch 60).\n\n"
            "RUN_DIR receives model.pt (best validation weights, trainable tensors only),\n"
            "summary.json and dvclive/. The checkpoint (default RUN_DIR/last.pt) is rewritten\n"
            "every epoch; rerunning the same command resumes from it, and does nothing once\n"
            "the run finished. SIGTERM/SIGUSR1 save and exit with 143/138 (a scheduler retry\n"
            "resumes). A NaN/inf loss stops the run (exit 2) naming epoch, batch and term.\n\n"
            "A loss spec with a learned(...) group (e.g. 'learned(kld, cc) - nss') trains one\n"
            "log-variance per term with the model (same optimizer, --loss-weights-lr), logs\n"
            "dvclive weights/<term>, early-stops on a criterion the weights cannot lower, and\n"
            "writes the combination found to summary.json (learned_weights).\n\n"
            "Settings come from --config (JSON/YAML mapping of the keys below, with\n"
            "underscores) and are overridden by the flags given."
        ),
        epilog=("example: salloss train --prepared data/prepared/mit1003 --run-dir "
                "results/paper/mit1003/baseline/mse/seed0 --loss mse "
                "--features-cache data/features/mit1003-300x400-imagenet"),
    )
    p.add_argument("--prepared", required=True, type=Path, metavar="DIR",
                   help="prepared dataset folder")
    p.add_argument("--run-dir", required=True, type=Path, metavar="DIR",
                   help="output folder of this run")
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="JSON or YAML file of training settings (keys as below)")
    for key, kind in _TRAIN_FLAGS.items():
        p.add_argument("--" + key.replace("_", "-"), dest=key, type=kind, default=None,
                       help=_TRAIN_HELP[key])
    p.add_argument("--model-option", action="append", default=[], metavar="KEY=VALUE",
                   help="extra architecture option (repeatable), e.g. blur_padding=replicate")
    p.add_argument("--no-channels-last", dest="channels_last", action="store_false",
                   default=None, help="CUDA: keep NCHW memory format")
    det = p.add_mutually_exclusive_group()
    det.add_argument("--deterministic", dest="deterministic", action="store_true", default=None,
                     help="force deterministic algorithms (default: on CPU only)")
    det.add_argument("--nondeterministic", dest="deterministic", action="store_false",
                     help="allow non-deterministic (faster) algorithms")
    p.add_argument("--features-cache", type=Path, metavar="DIR",
                   help="`salloss features` folder for this dataset/input size/weights "
                        "(baseline: skip VGG)")
    p.add_argument("--checkpoint", type=Path, metavar="FILE",
                   help="resumable checkpoint (default RUN_DIR/last.pt); keep it out of a "
                        "pipeline's declared outputs")
    p.add_argument("--live-dir", type=Path, metavar="DIR",
                   help="DVCLive folder (default RUN_DIR/dvclive)")
    p.add_argument("--targets-cache", type=Path, metavar="DIR",
                   help="folder to store/reuse the resized training targets")
    p.add_argument("--no-live", action="store_true",
                   help="do not write DVCLive metrics (they stay in summary.json)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_train)


def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Merge --config file, then explicit flags, into a validated `TrainConfig`."""
    data: dict[str, Any] = {}
    if args.config is not None:
        data = _read_mapping(args.config)
    for key in (*_TRAIN_FLAGS, "channels_last", "deterministic"):
        value = getattr(args, key)
        if value is not None:
            data[key] = parse_size(value) if key == "input_size" else value
    options = dict(data.get("model_options") or {})
    for item in args.model_option:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--model-option {item!r}: expected KEY=VALUE")
        options[key.strip()] = yaml.safe_load(text)
    if options:
        data["model_options"] = options
    return TrainConfig.from_dict(data)


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: "
                          f"{exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of training settings")
    return data


def _train(args: argparse.Namespace) -> int:
    from salloss.training.loop import train

    config = train_config_from_args(args)
    try:
        summary = train(
            config, args.prepared, args.run_dir, args.features_cache,
            checkpoint=args.checkpoint, live_dir=args.live_dir,
            targets_cache=args.targets_cache, live=not args.no_live,
            progress=not args.no_progress,
        )
    except TrainingInterrupted as exc:  # already logged
        return exc.exit_code
    timing = json.loads((Path(args.run_dir) / "timing.json").read_text(encoding="utf-8"))
    print(f"{args.run_dir}: {summary['stop_reason']}; best epoch {summary['best_epoch']} "
          f"(val loss {summary['best_val_loss']:.6g}), {summary['epochs']} epochs, "
          f"{timing['wall_time_s']:.1f} s")
    return 0


# -- predict --------------------------------------------------------------------------------
def _register_predict(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "predict", formatter_class=_FMT,
        help="write a trained run's predictions for a split at original resolution",
        description=(
            "Predict every image of a split with a finished run's best model, resize each map\n"
            "to the image's ORIGINAL size with MATLAB-compatible bicubic interpolation (what\n"
            "the MIT benchmark scores), and save it as OUT/<id>.npy (float16, divided by its\n"
            "maximum: all benchmark metrics are scale-invariant). With --images, also write\n"
            "8-bit maps in the MIT300/CAT2000 submission format (same stem and size as the\n"
            "stimulus). CAT2000 ids (Category/NNN) become sub-folders."
        ),
        epilog="example: salloss predict --run-dir results/.../seed0 --prepared "
               "data/prepared/mit1003 --split test --out results/.../seed0/predictions",
    )
    p.add_argument("--run-dir", required=True, type=Path, metavar="DIR",
                   help="finished run folder (summary.json + model.pt)")
    p.add_argument("--prepared", required=True, type=Path, metavar="DIR",
                   help="prepared dataset folder")
    p.add_argument("--split", default="test", help="split to predict (default test)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR",
                   help="folder for the float16 .npy predictions")
    p.add_argument("--features-cache", type=Path, metavar="DIR",
                   help="the run's feature cache (baseline): skip VGG")
    p.add_argument("--images", type=Path, metavar="DIR",
                   help="also write 8-bit submission images to this folder")
    p.add_argument("--image-format", choices=("png", "jpg"), default="png",
                   help="format of --images (default png; MIT300 submissions use jpg)")
    p.add_argument("--batch-size", type=int, default=8, help="images per batch (default 8)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_predict)


def _predict(args: argparse.Namespace) -> int:
    from salloss.training.predict import predict_split

    ids = predict_split(
        args.run_dir, args.prepared, args.split, args.out, features_cache=args.features_cache,
        image_dir=args.images, image_format=args.image_format, batch_size=args.batch_size,
        device=args.device, progress=not args.no_progress,
    )
    print(f"{args.out}: {len(ids)} predictions of split {args.split!r}")
    return 0


# -- score ----------------------------------------------------------------------------------
def _register_score(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "score", formatter_class=_FMT,
        help="score a predictions folder against a dataset split (MIT metrics)",
        description=(
            "Score the predictions written by `salloss predict` against the ORIGINAL ground\n"
            "truth of a prepared dataset split with the MIT benchmark metrics: a per-image\n"
            "CSV (one row per image, one column per metric) and a JSON summary (mean per\n"
            "metric over the images where it is defined, and how many were NaN).\n"
            "--convention tuebingen scores them the MIT/Tübingen benchmark's way instead\n"
            "(AUC, sAUC, NSS, CC, KLDiv, SIM; the fixations' empirical map blurred by\n"
            "--sigma px, by default the dataset's own σ)."
        ),
        epilog="example: salloss score --predictions results/.../predictions --prepared "
               "data/prepared/mit1003 --split test --csv results/.../scores.csv "
               "--summary results/.../scores.json",
    )
    p.add_argument("--predictions", required=True, type=Path, metavar="DIR",
                   help="folder of <id>.npy predictions")
    p.add_argument("--prepared", required=True, type=Path, metavar="DIR",
                   help="prepared dataset folder")
    p.add_argument("--split", default="test", help="split to score (default test)")
    p.add_argument("--csv", required=True, type=Path, metavar="FILE",
                   help="per-image scores to write")
    p.add_argument("--summary", required=True, type=Path, metavar="FILE",
                   help="JSON summary to write")
    p.add_argument("--convention", choices=("mit", "tuebingen"), default="mit",
                   help="mit: the MIT benchmark's MATLAB code (default); tuebingen: the "
                        "MIT/Tübingen benchmark's own Python code")
    p.add_argument("--metrics", default=None,
                   help="comma-separated metrics (default: the paper's seven; tuebingen: "
                        "AUC,sAUC,NSS,CC,KLDiv,SIM)")
    p.add_argument("--sigma", type=float, default=None, metavar="PX",
                   help="tuebingen: σ of the empirical map in pixels (default: the dataset's, "
                        "e.g. 23.99 for MIT1003, 40 for CAT2000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the randomised metrics")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_score)


def _score(args: argparse.Namespace) -> int:
    from salloss.training.score import score_predictions

    metrics = [m.strip() for m in args.metrics.split(",")] if args.metrics else None
    summary = score_predictions(
        args.predictions, args.prepared, args.split, args.csv, args.summary,
        metrics=metrics, seed=args.seed, progress=not args.no_progress,
        convention=args.convention, sigma=args.sigma,
    )
    print(json.dumps(summary.get("mean", summary), indent=2))
    return 0
