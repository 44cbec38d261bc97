"""The loader contract: a `Dataset` is a Sequence of lazy `Record`s.

A record reads its files only when an attribute is accessed, so opening 2000 images is instant:
- ``id``: stable string (the file stem; CAT2000 ``Category/NNN``);
- ``stimulus``: H×W×3 uint8 RGB, EXIF orientation NOT applied;
- ``density``: H×W float64, non-negative, original resolution (scale as published, e.g. the
  8-bit maps divided by 255; losses and metrics normalise it themselves);
- ``fixations``: H×W bool, original resolution, True where a fixation landed;
- ``meta``: dict (e.g. ``category``), ``size``: (H, W) from the stimulus header only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import numpy as np

from salloss.data.images import image_size, read_rgb
from salloss.data.naming import natural_key
from salloss.errors import DataError


def _no_ground_truth(dataset: str, what: str) -> Callable[[], np.ndarray]:
    def fail() -> np.ndarray:
        raise DataError(
            f"{dataset} publishes no {what} for this split (stimuli only: use it to export "
            "predictions, not to train or score)"
        )

    return fail


@dataclass(eq=False)
class Record:
    """One image of a dataset; `stimulus`, `density` and `fixations` are read on access."""

    id: str
    stimulus_path: Path
    load_density: Callable[[], np.ndarray] | None = None
    load_fixations: Callable[[], np.ndarray] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    files: tuple[Path, ...] = ()
    dataset: str = ""

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the stimulus, from the file header."""
        return image_size(self.stimulus_path)

    @property
    def stimulus(self) -> np.ndarray:
        return read_rgb(self.stimulus_path)

    @property
    def has_ground_truth(self) -> bool:
        return self.load_density is not None and self.load_fixations is not None

    @property
    def density(self) -> np.ndarray:
        loader = self.load_density or _no_ground_truth(self.dataset, "density maps")
        return self._checked(np.asarray(loader(), dtype=np.float64), "density map")

    @property
    def fixations(self) -> np.ndarray:
        loader = self.load_fixations or _no_ground_truth(self.dataset, "fixations")
        return self._checked(np.asarray(loader(), dtype=bool), "fixation map")

    def fixation_points(self) -> np.ndarray:
        """(K, 2) int32 (row, col) of the fixated pixels, row-major order."""
        return np.argwhere(self.fixations).astype(np.int32)

    def _checked(self, array: np.ndarray, what: str) -> np.ndarray:
        expected = self.size
        if array.shape != expected:
            raise DataError(
                f"{self.dataset} {self.id!r}: {what} is {array.shape[0]}×{array.shape[1]} but "
                f"the stimulus {self.stimulus_path} is {expected[0]}×{expected[1]} (H×W); "
                f"files: {', '.join(str(f) for f in self.files)}"
            )
        return array

    def __repr__(self) -> str:
        return f"Record({self.dataset}:{self.id})"


class Dataset(Sequence[Record]):
    """Records in natural order of their ids, with lookup by id.

    `density_quantum` is 255 when every density map is an 8-bit image (so it can be cached as
    uint8 without loss), else None.
    """

    def __init__(
        self,
        name: str,
        root: Path,
        records: Sequence[Record],
        *,
        options: dict[str, Any] | None = None,
        density_quantum: int | None = None,
    ) -> None:
        self.name = name
        self.root = Path(root)
        self.options = dict(options or {})
        self.density_quantum = density_quantum
        self._records = sorted(records, key=lambda r: natural_key(r.id))
        self._index = {r.id: i for i, r in enumerate(self._records)}
        if len(self._index) != len(self._records):
            seen: set[str] = set()
            dupes = [r.id for r in self._records if r.id in seen or seen.add(r.id)]
            raise DataError(f"{name} at {root}: duplicate ids {dupes[:5]}")

    @overload
    def __getitem__(self, i: int) -> Record: ...
    @overload
    def __getitem__(self, i: slice) -> list[Record]: ...
    def __getitem__(self, i: int | slice) -> Record | list[Record]:
        return self._records[i]

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self._records)

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self._records]

    @property
    def has_ground_truth(self) -> bool:
        return all(r.has_ground_truth for r in self._records)

    def index(self, id_: str, *args: Any) -> int:  # type: ignore[override]
        """Position of the record with this id (DataError if absent)."""
        try:
            return self._index[id_]
        except KeyError:
            raise DataError(f"{self.name}: no image with id {id_!r}") from None

    def by_id(self, id_: str) -> Record:
        return self._records[self.index(id_)]

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, {len(self)} images, root={str(self.root)!r})"
