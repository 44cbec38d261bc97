"""The data path: deterministic order, resumable mid-epoch, streaming == preloaded."""

from __future__ import annotations

import numpy as np
import torch

from salloss.training.batches import ArraySource, epoch_order, n_batches


def test_epoch_order_depends_only_on_seed_and_epoch() -> None:
    a = epoch_order(0, 1, 50)
    assert np.array_equal(a, epoch_order(0, 1, 50))
    assert sorted(a) == list(range(50))
    assert not np.array_equal(a, epoch_order(0, 2, 50))
    assert not np.array_equal(a, epoch_order(1, 1, 50))


def test_batches_cover_rows_in_order_and_resume() -> None:
    arrays = {"x": np.arange(40, dtype=np.float32).reshape(10, 2, 2),
              "y": np.arange(10, dtype=np.uint8)}
    rows = np.array([9, 7, 5, 3, 1, 0, 2])
    order = epoch_order(0, 1, len(rows))
    for preload in (False, True):
        src = ArraySource(arrays, rows, torch.device("cpu"), preload=preload, workers=2)
        got = [b["y"].tolist() for b in src.iterate(order, 3)]
        assert len(got) == n_batches(7, 3) == 3
        assert sum(got, []) == rows[order].tolist()
        resumed = [b["y"].tolist() for b in src.iterate(order, 3, start=2)]
        assert resumed == got[2:]
        first = next(iter(src.iterate(order, 3)))
        assert torch.equal(first["x"], torch.from_numpy(arrays["x"][rows[order[:3]]]))
