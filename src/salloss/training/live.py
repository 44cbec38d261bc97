"""Per-epoch metrics through DVCLive (``train/loss``, ``val/loss``, ``train/<term>``, …; for a
``learned(...)`` spec also ``weights/<term>`` = exp(−s), the learned weight at the epoch's end).

DVCLive runs inside pipeline jobs, so it is opened with ``save_dvc_exp=False, dvcyaml=None``:
it never creates experiments or rewrites ``dvc.yaml``. On every (re)start the folder is rebuilt
from the checkpoint's history, so a run killed between its checkpoint and its log line still
ends with exactly one row per epoch. Without dvclive installed (it is in the ``workflow``
extra), metrics are only logged and kept in ``summary.json``.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def metric_name(label: str) -> str:
    """A term label as a DVCLive metric name (file-safe): 'sigmse(lam=0.55)' → 'sigmse_lam0.55'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label.replace("=", "")).strip("_")


def epoch_metrics(record: dict[str, Any]) -> dict[str, float]:
    """The flat metric dict of one history record (see `loop.train`)."""
    out = {"train/loss": record["train_loss"], "val/loss": record["val_loss"], "lr": record["lr"]}
    for split in ("train", "val"):
        for label, value in record[f"{split}_terms"].items():
            out[f"{split}/{metric_name(label)}"] = value
    for label, value in record.get("loss_weights", {}).items():
        out[f"weights/{metric_name(label)}"] = value
    return out


@contextlib.contextmanager
def _no_dvc_init() -> Iterator[None]:
    """Stop DVCLive from running ``dvc init`` in the enclosing Git repository.

    DVCLive 3.x, when the working directory is in a Git repository without a DVC project,
    silently initialises one (``Repo.init(Git().root_dir)``) — a side effect a trainer must
    not have. During construction, its repo lookup is replaced by a find-only version.
    """
    import dvclive.live as dvclive_live

    original = dvclive_live.get_dvc_repo

    def find_only() -> Any:
        from dvc.exceptions import NotDvcRepoError
        from dvc.repo import Repo
        from dvc.scm import SCMError

        try:
            return Repo()
        except (NotDvcRepoError, SCMError):
            return None

    dvclive_live.get_dvc_repo = find_only
    try:
        yield
    finally:
        dvclive_live.get_dvc_repo = original


class EpochLog:
    """Context manager writing one DVCLive step per epoch into ``directory`` (None: off)."""

    def __init__(self, directory: str | Path | None, history: list[dict[str, Any]]) -> None:
        self._live: Any = None
        if directory is None:
            return
        self.directory = Path(directory)
        try:
            from dvclive import Live
        except ImportError:
            log.warning("dvclive is not installed (pip install 'salloss[workflow]'): per-epoch "
                        "metrics go to the log and summary.json only")
            return
        if self.directory.exists():
            shutil.rmtree(self.directory)
        with _no_dvc_init():
            self._live = Live(dir=str(self.directory), save_dvc_exp=False, dvcyaml=None)
        for record in history:
            self.log_epoch(record)

    def log_epoch(self, record: dict[str, Any]) -> None:
        """Write the metrics of one finished epoch (step = epoch number, 1-based)."""
        if self._live is None:
            return
        self._live.step = int(record["epoch"])
        for name, value in epoch_metrics(record).items():
            self._live.log_metric(name, float(value))
        self._live.next_step()

    def __enter__(self) -> EpochLog:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.end()
