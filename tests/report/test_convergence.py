"""How a training ended, from its summary.json: marks, the converged count, stalls."""

from __future__ import annotations

from salloss.report import convergence as cv


def _summary(vals, stopped_by="early_stopping", best=None, **params):
    history = [{"epoch": i + 1, "val_loss": v} for i, v in enumerate(vals)]
    if best is None:
        best = min(range(len(vals)), key=vals.__getitem__) + 1
    return {"history": history, "stopped_by": stopped_by, "best_epoch": best,
            "params": params}


def test_marks_and_convergence():
    ok = _summary([3, 2, 1, 1.5, 1.6])
    capped = _summary([3, 2, 1], stopped_by="max_epochs")
    first = _summary([1, 2, 3])
    assert (cv.marks(ok), cv.marks(capped), cv.marks(first)) == ("", "†", "‡")
    assert cv.marks(_summary([1, 2], stopped_by="max_epochs")) == "†‡"
    assert cv.converged(ok) and not cv.converged(capped) and not cv.converged(first)
    assert cv.row_marks([ok, first, capped]) == "†‡"
    note = cv.legend_note([ok, capped, first])
    assert note.startswith("Convergence: 1 of 3 runs of this table stopped because")
    assert "† stopped at max_epochs" in note and "‡ best validation epoch is its first" in note
    # summaries written before `stopped_by` existed: read from the stop reason's text
    old = {"stop_reason": "early stopping: no validation improvement for 5 epoch(s)",
           "best_epoch": 3}
    assert cv.converged(old)
    assert cv.marks({"stop_reason": "max_epochs (6) reached", "best_epoch": 6}) == "†"


def test_longest_stall_counts_only_stalls_a_later_improvement_ended():
    # 1.0 best at epoch 2; epochs 3-5 stall; 0.9 at 6 ends it (3); epochs 7-8 stall, no end
    vals = [2.0, 1.0, 1.1, 1.05, 1.2, 0.9, 0.95, 0.91]
    assert cv.longest_stall(_summary(vals)) == 3
    # with a 20 % relative tolerance 0.9 is no improvement on 1.0: the stall never ends
    assert cv.longest_stall(_summary(vals, min_rel_delta=0.2)) == 0
    assert cv.longest_stall({"history": []}) is None
