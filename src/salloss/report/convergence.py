"""How each training ended, read from its ``summary.json``: did it converge?

A run CONVERGED when early stopping ended it (its validation loss stopped improving for
``patience`` epochs) after a best epoch later than the first. The tables mark the others:

- ``†`` — stopped at ``max_epochs``: its best epoch is then necessarily within the last
  ``patience`` epochs, i.e. its validation loss was still improving; its numbers understate
  what the loss can do;
- ``‡`` — its best validation epoch is the first: the kept weights are those of one epoch of
  training, so the loss either learns nothing on this data or the validation loss is noise.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

CAPPED = "†"
FIRST_EPOCH = "‡"
LEGEND = {
    CAPPED: "stopped at max_epochs with its validation loss still improving (best epoch within "
            "the last `patience` epochs)",
    FIRST_EPOCH: "best validation epoch is its first",
}


def early_stopped(summary: dict[str, Any]) -> bool:
    """Did early stopping end the run (``stopped_by``; runs older than that field: the text
    of ``stop_reason``)?"""
    if summary.get("stopped_by") is not None:
        return summary["stopped_by"] == "early_stopping"
    return str(summary.get("stop_reason") or "").startswith("early")


def marks(summary: dict[str, Any]) -> str:
    """The marks of one run ('' when it converged)."""
    out = ""
    if not early_stopped(summary):
        out += CAPPED
    if summary.get("best_epoch") == 1:
        out += FIRST_EPOCH
    return out


def converged(summary: dict[str, Any]) -> bool:
    """Early-stopped after a best epoch later than the first."""
    return marks(summary) == ""


def row_marks(summaries: Iterable[dict[str, Any]]) -> str:
    """Marks of a table row (several seeds: a mark if any seed has it), in legend order."""
    found = "".join(marks(s) for s in summaries)
    return "".join(m for m in LEGEND if m in found)


def legend_note(summaries: list[dict[str, Any]], what: str = "runs of this table") -> str:
    """'N of M runs … converged' plus the legend of the marks that occur."""
    n_ok = sum(converged(s) for s in summaries)
    used = row_marks(summaries)
    text = (f"Convergence: {n_ok} of {len(summaries)} {what} stopped because their validation "
            "loss stopped improving (early stopping, best epoch after the first)")
    if used:
        text += "; " + "; ".join(f"{m} {LEGEND[m]}" for m in used)
    return text + "."


def longest_stall(summary: dict[str, Any]) -> int | None:
    """The longest run of epochs without a validation improvement that a LATER improvement
    ended, judged with the run's own tolerance (``min_delta`` + ``min_rel_delta`` × |best|).
    Early stopping with ``patience`` epochs would have cut the run short there had patience
    been shorter than this: the margin between the two is how safe the stopping rule was.
    None without a history."""
    history = summary.get("history") or []
    if not history:
        return None
    params = summary.get("params") or {}
    absolute, relative = params.get("min_delta", 0.0), params.get("min_rel_delta", 0.0)
    best, streak, longest = float("inf"), 0, 0
    for record in history:
        value = float(record["val_loss"])
        tol = 0.0 if best == float("inf") else absolute + relative * abs(best)
        if value < best - tol:
            longest, streak, best = max(longest, streak), 0, value
        else:
            streak += 1
    return longest
