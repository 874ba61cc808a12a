"""Test hooks for ``optimizer rebalance``, kept out of the package: patch the job, then run the command.

    python tests/rebalance_hooks.py gate FILE -- DATASET --inventory ... --out DIR   # wait for FILE before solving
    python tests/rebalance_hooks.py kill-mid-write - -- DATASET ...                   # SIGKILL after writing transfers.csv
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path


def main() -> None:
    """Patch as the first argument says, then run ``optimizer rebalance`` with the arguments after ``--``."""
    hook, arg, separator, *rest = sys.argv[1:]
    assert separator == "--", "usage: rebalance_hooks.py HOOK ARG -- DATASET [options]"
    from optimizer.rebalance import job

    if hook == "gate":
        original_solve = job.solve

        def gated(*args, **kwargs):
            while not Path(arg).exists():
                time.sleep(0.05)
            return original_solve(*args, **kwargs)

        job.solve = gated
    elif hook == "kill-mid-write":
        original_write = job._write

        def write_then_die(path: Path, text: str) -> None:
            if path.name == "summary.json":  # transfers.csv is written, summary.json half-written
                with open(path, "w") as handle:
                    handle.write(text[: len(text) // 2])
                os.kill(os.getpid(), signal.SIGKILL)
            original_write(path, text)

        job._write = write_then_die
    from optimizer.cli.main import main as cli

    cli(["rebalance", *rest])


if __name__ == "__main__":
    main()
