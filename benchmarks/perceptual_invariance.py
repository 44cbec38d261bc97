"""How much do the losses care WHERE saliency is? Each loss of a wrong-but-plausible map.

For every validation image of a prepared dataset (default: the demo's MIT1003 stand-in, which
the demo's `snakemake --cores all` prepares), the ground-truth density S is compared, at the
demo's perceptual size, with maps that have S's statistics but not its locations — S shifted
by a quarter of the map, S mirrored, another image's S — and with maps that have neither (the
training split's centre bias, a uniform map). Prints each loss's mean value per candidate and,
for reference, the best validation loss of a trained run (``--run``).

    python benchmarks/perceptual_invariance.py --run results/demo/runs/mit1003/baseline/gm/seed0

Gram matrices sum over positions, so GM should be (nearly) blind to location: the README's
GM finding quotes this script's output. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from salloss.data import PreparedDataset
from salloss.losses.distribution import kld
from salloss.losses.perceptual import df, gm, load_extractor
from salloss.losses.pixel import mse


def _map(a: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """1×1×H×W float map resized (bilinear, antialiased) to ``size`` and max-normalised."""
    x = torch.as_tensor(np.asarray(a, dtype=np.float32))[None, None]
    x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    return x / x.amax()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prepared", type=Path, default=Path("data/prepared/demo/mit1003"),
                    help="a prepared dataset folder (default: the demo's MIT1003 stand-in)")
    ap.add_argument("--size", default="32x40", help="map size HxW (default 32x40, the demo's "
                    "perceptual_size)")
    ap.add_argument("--weights", default="none",
                    help="VGG-16 weights of DF/GM: none (random, the demo's), imagenet or a .pth")
    ap.add_argument("--split", default="val", help="split to read (default val)")
    ap.add_argument("--run", type=Path, help="a trained run folder: print its best val loss")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    data = PreparedDataset(args.prepared)
    extractor = load_extractor(args.weights, 0)
    rows = list(data.split_indices(args.split))
    centre = _map(data.center_bias(), size)
    losses = {"GM": lambda p, s: gm(p, s, extractor), "DF": lambda p, s: df(p, s, extractor),
              "MSE": mse, "KLD": kld}
    names = ("truth", "shifted", "mirrored", "other image", "centre bias", "uniform")
    values = {n: {k: [] for k in losses} for n in names}
    with torch.no_grad():
        for i, row in enumerate(rows):
            s = _map(data.density(row), size)
            candidates = {
                "truth": s, "shifted": torch.roll(s, (size[0] // 4, size[1] // 4), (2, 3)),
                "mirrored": torch.flip(s, (3,)),
                "other image": _map(data.density(rows[(i + 1) % len(rows)]), size),
                "centre bias": centre, "uniform": torch.ones_like(s)}
            for name, p in candidates.items():
                for key, fn in losses.items():
                    values[name][key].append(float(fn(p, s)))
    print(f"{len(rows)} {args.split} images of {data.name} at {size[0]}x{size[1]}, VGG-16 "
          f"weights {args.weights}: mean loss of each candidate map against the truth")
    print(f"{'candidate':12s}" + "".join(f"{k:>12s}" for k in losses))
    for name in names:
        print(f"{name:12s}" + "".join(f"{np.mean(values[name][k]):12.4g}" for k in losses))
    for key in losses:
        mirrored, centre_v = np.mean(values["mirrored"][key]), np.mean(values["centre bias"][key])
        print(f"{key}: mirrored / centre bias = {mirrored / centre_v:.3g}")
    if args.run is not None:
        summary = json.loads((args.run / "summary.json").read_text())
        print(f"{args.run}: loss {summary['loss']}, best validation loss "
              f"{summary['best_val_loss']:.4g} (epoch {summary['best_epoch']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
