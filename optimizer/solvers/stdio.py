"""Keep native solver libraries off standard output.

Stdout is reserved for ``--json`` output, but C/C++ solver libraries write
banners and logs straight to file descriptor 1, bypassing :data:`sys.stdout`.
:func:`stdout_to_stderr` points descriptor 1 at stderr (verbose) or at the null
device (quiet) while a solver runs, and restores it afterwards.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_saved_fd: int | None = None


@functools.cache
def _c_fflush() -> Callable[[None], int] | None:
    """The C runtime's ``fflush``, or ``None`` where it cannot be reached (e.g. Windows)."""
    try:
        return ctypes.CDLL(None).fflush
    except (OSError, AttributeError, TypeError):
        return None


def _flush_c_stdio() -> None:
    """Flush every C ``FILE*`` stream so buffered native output lands where it was aimed."""
    fflush = _c_fflush()
    if fflush is not None:
        fflush(None)


def _flush_python_stdout() -> None:
    """Flush Python's stdout buffer (if any) to its file descriptor."""
    stream = sys.stdout
    if stream is not None:
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or broken stream: nothing to flush
            pass


def _open_target(verbose: bool) -> int:
    """A new descriptor on stderr (verbose, if open) or on the null device."""
    if verbose:
        try:
            return os.dup(2)
        except OSError:  # stderr closed: fall back to discarding
            pass
    return os.open(os.devnull, os.O_WRONLY)


@contextmanager
def stdout_to_stderr(verbose: bool) -> Iterator[None]:
    """Redirect file descriptor 1 for the duration of the block.

    Nested and concurrent uses share one redirection: the first entrant
    redirects (and chooses the target), the last one out restores.

    Args:
        verbose: Send native stdout output to stderr when True; discard it when False.

    Yields:
        Nothing; descriptor 1 is restored on exit, even on error.
    """
    global _depth, _saved_fd
    with _lock:
        if _depth == 0:
            _flush_python_stdout()
            _flush_c_stdio()
            try:
                saved = os.dup(1)
            except OSError:  # descriptor 1 is closed: nothing can reach stdout anyway
                saved = None
            if saved is not None:
                target = _open_target(verbose)
                os.dup2(target, 1)
                os.close(target)
            _saved_fd = saved
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _flush_python_stdout()
                _flush_c_stdio()
                if _saved_fd is not None:
                    os.dup2(_saved_fd, 1)
                    os.close(_saved_fd)
                _saved_fd = None
