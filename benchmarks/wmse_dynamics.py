"""Why W-MSE training collapses: the output map's scale and support, step by step.

Trains one run of the demo preset (`params.yaml`; its data must be prepared, e.g. by the demo's
`snakemake --cores all`) with a W-MSE spec, recording for every training batch the loss, the
mean per-image max(P), the fraction of pixels with P > 0 (the ReLU's live support) and the
number of all-zero (dead) maps. Prints the per-step table and the epoch history.

    python benchmarks/wmse_dynamics.py --arch baseline
    python benchmarks/wmse_dynamics.py --arch encdec_resnet18 --loss "wmse(kappa=0.05)"

It is a measurement, not a test: the README's W-MSE finding quotes its output.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

import salloss.losses.pixel as pixel
from salloss.pipeline import plan, stages
from salloss.pipeline.config import load_params
from salloss.training.loop import train


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--params", type=Path, default=Path("params.yaml"),
                    help="preset (default params.yaml, the demo)")
    ap.add_argument("--dataset", default="mit1003", help="dataset key (default mit1003)")
    ap.add_argument("--arch", default="baseline", help="arch key of the preset (default baseline)")
    ap.add_argument("--loss", default="wmse", help="W-MSE spec (default wmse, κ = 1e-3)")
    ap.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    args = ap.parse_args()
    if not args.loss.startswith("wmse"):
        ap.error(f"--loss must be a wmse spec, got {args.loss!r}")
    cfg = load_params(args.params)
    config = {**stages.train_config(cfg, args.arch, "wmse", args.seed), "loss": args.loss}
    steps: list[dict[str, Any]] = []
    original = pixel.wmse

    def recording(pred: torch.Tensor, density: torch.Tensor, **kw: float) -> torch.Tensor:
        loss = original(pred, density, **kw)
        if torch.is_grad_enabled():  # training batches only (validation runs under no_grad)
            p = pred.detach().flatten(1)
            steps.append({"loss": float(loss.detach()), "max": p.amax(1).mean().item(),
                          "live": (p > 0).float().mean().item(),
                          "dead": int((p.amax(1) <= 0).sum())})
        return loss

    pixel.wmse = recording  # the registry calls pixel.wmse by attribute: this sees every call
    feats = (plan.features_dir(cfg, args.dataset, args.arch)
             if plan.uses_feature_cache(cfg, args.arch) else None)
    with tempfile.TemporaryDirectory(prefix="wmse-dynamics-") as tmp:
        summary = train(config, plan.prepared_dir(cfg, args.dataset), Path(tmp), feats,
                        progress=False, live=False)
    print(f"{args.arch} {args.loss} on {args.dataset}: best epoch {summary['best_epoch']} of "
          f"{summary['epochs']}")
    print("step  loss    mean max(P)  live pixels  dead maps")
    for i, s in enumerate(steps, 1):
        print(f"{i:4d}  {s['loss']:.4f}  {s['max']:11.4g}  {s['live']:11.3f}  {s['dead']:9d}")
    print("epoch: train loss / validation loss")
    print(" ".join(f"{h['epoch']}:{h['train_loss']:.3f}/{h['val_loss']:.3f}"
                   for h in summary["history"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
