"""Child process of test_kill.py: `salloss train ...` that dies at a planned point.

usage: python kill_child.py '{"mode": "...", "n": N}' <salloss train arguments>

modes: "none" (run to the end), "kill_at_step" (SIGKILL itself just before the n-th optimizer
step of this process), "kill_in_save" (SIGKILL itself halfway through writing the n-th
last.pt of this process, leaving a partial temp file as a real crash would).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path


def main() -> int:
    import argparse

    import torch

    from salloss.io import atomic_open
    from salloss.training import checkpoint
    from salloss.training import cli as training_cli

    plan = json.loads(sys.argv[1])
    mode, n = plan["mode"], int(plan.get("n", 0))
    count = {"n": 0}
    if mode == "kill_at_step":
        original_step = torch.optim.SGD.step

        def step(self, *args, **kwargs):
            count["n"] += 1
            if count["n"] == n:
                os.kill(os.getpid(), signal.SIGKILL)
            return original_step(self, *args, **kwargs)

        torch.optim.SGD.step = step
    elif mode == "kill_in_save":
        original_write = checkpoint._write_torch

        def write(path, obj):
            if Path(path).name == "last.pt":
                count["n"] += 1
                if count["n"] == n:
                    with atomic_open(path, "wb") as fh:
                        fh.write(b"PK\x03\x04 half a checkpoint")
                        fh.flush()
                        os.kill(os.getpid(), signal.SIGKILL)
            return original_write(path, obj)

        checkpoint._write_torch = write
    elif mode != "none":
        raise SystemExit(f"unknown mode {mode}")
    # Only this part's subcommands: the test must not depend on other parts importing cleanly.
    parser = argparse.ArgumentParser(prog="salloss")
    training_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["train", *sys.argv[2:]])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
