"""The human-readable SUBMIT.md written beside an export: what it holds and how to submit it."""

from __future__ import annotations

from typing import Any

from salloss.export.benchmarks import Benchmark

TUEBINGEN = "https://saliency.tuebingen.ai/"


def submission_note(manifest: dict[str, Any], benchmark: Benchmark) -> str:
    """Markdown instructions for one export, filled in from its manifest."""
    name, count, run = manifest["name"], manifest["count"], manifest["run"]
    lines = [
        f"# {benchmark.title}: submission `{name}`",
        "",
        f"`{name}/` holds {count} saliency maps predicted by the run `{run['dir']}` "
        f"({run['arch']}, loss `{run['loss']}`, seed {run['seed']}, trained on "
        f"{run['dataset']}, VGG-16 weights: {run['weights']}).",
        f"`{manifest['archive']['path']}` is that folder zipped (sha256 "
        f"`{manifest['archive']['sha256']}`); `manifest.json` lists every map with its size "
        "and sha256.",
        "",
        "## Format",
        "",
        "- one 8-bit greyscale JPEG per test image (quality "
        f"{manifest['quality']}), with the image's file name and exactly its size"
        + (", inside the test set's `<Category>/` folders" if benchmark.name == "cat2000" else "")
        + ";",
        "- the stimulus was resized to the model input (PIL bicubic, aspect ratio not kept, as "
        "in training), the prediction resized back to the image's size with MATLAB-compatible "
        "bicubic `imresize`, negatives clipped and the maximum mapped to 255 (no blur, "
        "centre bias or histogram matching added).",
        "",
        "## How to submit",
        "",
        f"1. Check the count: the benchmark has {benchmark.expected_count} test images, this "
        f"export has {count}.",
        f"2. Follow the benchmark's current instructions. The MIT page ({benchmark.page}) asks "
        "for the maps as a zip or tar of a folder named after the model — that is "
        f"`{manifest['archive']['path']}` — sent to the benchmark maintainers. The benchmark "
        f"is now run as the MIT/Tuebingen Saliency Benchmark ({TUEBINGEN}), which scores "
        "submissions with pysaliency; check its submission page for the current address "
        "and requirements before sending.",
        "3. Describe the model: the paper reproduced (Bruckert et al., \"Deep saliency models: "
        "the quest for the loss function\"), the architecture, the loss spec above and the "
        "training data.",
        "",
    ]
    if not manifest.get("complete", False):
        lines += [
            f"**Warning:** {count} maps, but the benchmark has {benchmark.expected_count} test "
            "images: this export is incomplete and would not be scored as a whole. Fetch the "
            "full test set and export again.",
            "",
        ]
    if not str(run["weights"]).startswith("imagenet"):
        lines += [
            f"**Warning:** the run did not use ImageNet VGG-16 weights ({run['weights']}); its "
            "scores are not comparable with the paper's.",
            "",
        ]
    return "\n".join(lines)
