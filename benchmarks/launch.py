"""Start one command and record its wall time and peak memory: ``python -I -S launch.py RESULT CMD ...``.

The peak resident set that the kernel reports for a child (``ru_maxrss``) is at least the
resident set of the process that started it, at the moment it started it (the child's memory
begins as a copy of its parent's).  The benchmark runner holds networks and pandas, so it starts
each measured command through this small interpreter instead: started with ``-I -S`` it
imports nothing beyond the standard library's core (about 8 MiB), and that is the floor of
every figure.

The command inherits stdin, stdout, stderr and the environment.  RESULT receives one JSON
object: ``wall_seconds`` (from just before the command starts until it has been reaped),
``maxrss`` (``ru_maxrss`` from ``os.wait4``: KiB on Linux, bytes on macOS) and ``exit_code``
(negative for a signal).  The launcher exits 0 once RESULT is written.
"""

import json
import os
import sys
import time


def main() -> None:
    """Run ``sys.argv[2:]``, write the measurements to ``sys.argv[1]``."""
    result, argv = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    with open(result, "w") as f:
        json.dump({"wall_seconds": wall, "maxrss": usage.ru_maxrss, "exit_code": os.waitstatus_to_exitcode(status)}, f)


if __name__ == "__main__":
    main()
