"""The data path: rows of (memory-mapped) arrays → batches of tensors on the training device.

Two modes, chosen by the trainer:

- preload: the split's rows are copied to the device once (a few hundred MB for MIT1003's
  500 training images at 300×400, features included), so a batch is one gather on the device;
- streaming: a background thread gathers the next batches from the memmaps into pinned host
  memory while the device computes, and copies them with ``non_blocking=True``.

Batch order is decided by the caller (`epoch_order`), never by this module, so the data path
consumes no random numbers and cannot change a run's result.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch
from torch import Tensor


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The shuffled order of ``n`` training rows in ``epoch`` (1-based): a pure function of
    (seed, epoch), so a resumed run replays exactly the same batches."""
    return np.random.default_rng([int(seed), int(epoch)]).permutation(n)


def n_batches(n: int, batch_size: int) -> int:
    """Batches per epoch; the last one may be smaller (every image is seen each epoch)."""
    return -(-n // batch_size)


class ArraySource:
    """Serve batches of ``rows`` of each array in ``arrays`` (all indexed by dataset row)."""

    def __init__(
        self,
        arrays: Mapping[str, np.ndarray],
        rows: np.ndarray,
        device: torch.device,
        *,
        preload: bool = False,
        workers: int = 1,
    ) -> None:
        self.arrays = dict(arrays)
        self.rows = np.asarray(rows, dtype=np.int64)
        self.device = device
        self.preload = preload
        self.workers = max(1, int(workers))
        self._pin = device.type == "cuda"
        self._resident: dict[str, Tensor] | None = None
        if preload:
            self._resident = {
                k: torch.from_numpy(np.ascontiguousarray(a[self.rows])).to(device)
                for k, a in self.arrays.items()
            }

    def __len__(self) -> int:
        return len(self.rows)

    def nbytes(self) -> int:
        """Bytes of the split's rows over all arrays (what preloading would allocate)."""
        return sum(int(a[:1].nbytes) * len(self.rows) for a in self.arrays.values())

    def _gather(self, positions: np.ndarray) -> dict[str, Tensor]:
        rows = self.rows[positions]
        out = {}
        for key, array in self.arrays.items():
            tensor = torch.from_numpy(np.ascontiguousarray(array[rows]))
            out[key] = tensor.pin_memory() if self._pin else tensor
        return out

    def iterate(
        self, order: np.ndarray, batch_size: int, start: int = 0
    ) -> Iterator[dict[str, Tensor]]:
        """Yield batches (dicts of device tensors) of ``order`` (positions into ``rows``),
        skipping the first ``start`` batches (a resumed epoch)."""
        chunks = [order[i:i + batch_size] for i in range(0, len(order), batch_size)][start:]
        if self._resident is not None:
            for chunk in chunks:
                index = torch.from_numpy(chunk).to(self.device)
                yield {k: t.index_select(0, index) for k, t in self._resident.items()}
            return
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="batches") as pool:
            pending: deque[Future[dict[str, Tensor]]] = deque()
            chunk_iter = iter(chunks)
            for chunk in chunk_iter:
                pending.append(pool.submit(self._gather, chunk))
                if len(pending) > self.workers:
                    break
            while pending:
                host = pending.popleft().result()
                nxt = next(chunk_iter, None)
                if nxt is not None:
                    pending.append(pool.submit(self._gather, nxt))
                yield {k: t.to(self.device, non_blocking=True) for k, t in host.items()}
