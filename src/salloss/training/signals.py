"""Pre-emption handling: SIGTERM / SIGUSR1 ask a long job to save and stop.

SLURM (and most schedulers) send SIGTERM before killing a job, or SIGUSR1 when asked to
(``#SBATCH --signal=B:USR1@120``). The handler only records the signal; the training loop polls
`GracefulInterrupt.requested` between batches, writes a checkpoint, and raises
`TrainingInterrupted`, whose ``exit_code`` (128 + signal number: 143 for SIGTERM, 138 for
SIGUSR1) tells the scheduler the job did not finish, so a retry resumes it.

`TrainingInterrupted` is a `SystemExit`: any program that calls `train` and does not catch it
exits with that code (no traceback), which is what a pre-empted job must do; ``except
Exception`` blocks do not swallow it.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType, TracebackType

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


class TrainingInterrupted(SystemExit):  # noqa: N818 - not an error: a requested stop
    """Raised after the state was saved because a stop signal arrived; the process should exit
    with `exit_code` (uncaught, it does so by itself: it is a `SystemExit`)."""

    def __init__(self, signum: int, where: str) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        name = signal.Signals(signum).name
        self.message = (
            f"{name} received: state saved {where}; exiting with code {self.exit_code} so the "
            "scheduler retries — rerunning the same command resumes the run"
        )
        super().__init__(self.exit_code)
        log.warning("%s", self.message)

    def __str__(self) -> str:
        return self.message


class GracefulInterrupt:
    """Context manager: while active, SIGTERM/SIGUSR1 set `requested` instead of killing.

    Outside the main thread Python cannot install handlers; the manager then does nothing
    (the default signal behaviour stays) and logs why.
    """

    def __init__(self, signals: tuple[int, ...] = SIGNALS) -> None:
        self.signals = signals
        self.requested: int | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested is None:
            log.warning("%s received: finishing the current batch, then saving",
                        signal.Signals(signum).name)
        self.requested = signum

    def __enter__(self) -> GracefulInterrupt:
        if threading.current_thread() is not threading.main_thread():
            log.debug("not in the main thread: SIGTERM/SIGUSR1 keep their default action")
            return self
        for sig in self.signals:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def check(self, where: str) -> None:
        """Raise `TrainingInterrupted` if a signal arrived (call only where state is saved)."""
        if self.requested is not None:
            raise TrainingInterrupted(self.requested, where)
