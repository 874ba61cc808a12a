"""Bounded, checked reading of input files and safe writing of output files.

Input: :func:`read_input` refuses anything that is not a regular file (a folder, a dangling
symbolic link, a FIFO, a socket or a device) *before* opening it, so that a pipe in place of a
CSV file cannot hang a run, and refuses files larger than a limit; every failure is a
:class:`~optimizer.errors.Problem` naming the file.

Output: :func:`replace_file` and :func:`write_text` / :func:`write_bytes` write into a temporary
file in the target's folder and :func:`os.replace` it over the target.  A symbolic link at the
target is replaced by the new file (never written through), so output can never overwrite a
file outside the output folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Iterator

from optimizer.errors import InputError, Problem

#: Largest CSV table read (bytes): 1 GiB.
MAX_CSV_BYTES = 1 << 30
#: Largest YAML file read (network.yaml, scenario and sweep files), bytes: 1 MiB.
MAX_YAML_BYTES = 1 << 20

#: Control characters refused in text inputs (C0 but tab and line ends, DEL, C1 such as NEL, which YAML reads
#: as a line break): nothing a user means, and spreadsheets and YAML cannot hold them.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words (``a folder``, ``a pipe (FIFO)`` ...)."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def check_regular(path: Path, display: str) -> Problem | None:
    """The problem with reading ``path`` as a plain file, or None when it is one.

    Args:
        path: The file (a symbolic link is followed).
        display: The path as shown in the problem.

    Returns:
        None for a regular file; else a problem saying what it is instead (missing, a dangling
        link, a folder, a pipe ...) or why it cannot be examined.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):
            return Problem(display, f"is a symbolic link to '{os.readlink(path)}', which does not exist")
        return Problem(display, "file not found")
    except OSError as exc:
        return Problem(display, f"cannot be read: {exc.strerror or exc}")
    if stat.S_ISREG(mode):
        return None
    return Problem(display, f"is {file_kind(mode)}, not a file; give a plain file")


def read_input(path: Path, display: str, problems: list[Problem], limit: int) -> bytes | None:
    """The bytes of an input file, or None after adding a problem naming it.

    Non-regular files are refused before they are opened; files above ``limit`` bytes are
    refused (and never read past the limit).

    Args:
        path: File to read (never written).
        display: The path as shown in problems.
        problems: List to append a problem to.
        limit: Largest size accepted, bytes.

    Returns:
        The file's bytes, or None.
    """
    problem = check_regular(path, display)
    if problem is not None:
        problems.append(problem)
        return None
    try:
        with open(path, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # replaced since the check
                problems.append(Problem(display, "is not a regular file; give a plain file"))
                return None
            data = handle.read(limit + 1)
    except OSError as exc:
        problems.append(Problem(display, f"cannot be read: {exc.strerror or exc}"))
        return None
    if len(data) > limit:
        problems.append(Problem(display, f"is larger than the limit of {limit:,} bytes"))
        return None
    return data


def decode(data: bytes, display: str, problems: list[Problem], spreadsheet: bool = True) -> str | None:
    """Decode UTF-8 (an optional byte-order mark is dropped).

    Args:
        data: The file's bytes.
        display: The file as shown in problems.
        problems: List to append a problem to.
        spreadsheet: Add how a spreadsheet program saves UTF-8 to the message (CSV files).

    Returns:
        The text, or None after adding a problem naming the line of the first invalid byte.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        hint = " (for example, 'CSV UTF-8' in a spreadsheet program)" if spreadsheet else ""
        problems.append(Problem(display, f"byte 0x{data[exc.start]:02x} is not valid UTF-8 text; "
                                         f"save the file as UTF-8{hint}", line))
        return None


@contextlib.contextmanager
def replace_file(target: str | Path) -> Iterator[Path]:
    """Write a file by writing a temporary one beside it and renaming it over ``target``.

    Usage: ``with replace_file(path) as tmp: frame.to_csv(tmp)``.  On success the temporary
    file replaces ``target`` atomically (a symbolic link at ``target`` is replaced, not
    followed); on an error it is removed and ``target`` is left as it was.

    Args:
        target: The file to (re)write.

    Yields:
        The temporary path to write to (same folder, same suffix as ``target``).

    Raises:
        InputError: The folder cannot be written (read-only, missing, not a folder ...),
            naming the file.
    """
    target = Path(target)
    try:
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}",
                                        dir=target.parent)
        os.close(handle)
    except OSError as exc:
        raise InputError(Problem(str(target), f"cannot be written: {exc.strerror or exc}")) from None
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except OSError as exc:
        raise InputError(Problem(str(target), f"cannot be written: {exc.strerror or exc}")) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(target: str | Path, text: str) -> Path:
    """Write UTF-8 text to ``target`` through :func:`replace_file`; returns ``target`` as a Path."""
    with replace_file(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_bytes(target: str | Path, data: bytes) -> Path:
    """Write bytes to ``target`` through :func:`replace_file`; returns ``target`` as a Path."""
    with replace_file(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def make_output_folder(folder: str | Path) -> Path:
    """Create an output folder (and its parents) if missing.

    Raises:
        InputError: It cannot be created (a parent is a file, read-only ...) or is not a folder.
    """
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = "a file is in the way" if isinstance(exc, (FileExistsError, NotADirectoryError)) else (
            exc.strerror or str(exc))
        raise InputError(Problem(str(out), f"output folder cannot be created: {reason}")) from None
    if not out.is_dir():
        raise InputError(Problem(str(out), "is not a folder; choose another output folder"))
    if not os.access(out, os.W_OK | os.X_OK):
        raise InputError(Problem(str(out), "output folder cannot be written: Permission denied"))
    return out
