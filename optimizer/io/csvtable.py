"""Read one CSV table of a dataset and check it against its declaration.

:func:`parse_table` reads a file with Python's :mod:`csv` module, keeping the
physical line number of every record (header = line 1; blank lines and quoted
line breaks are counted), strips surrounding whitespace from every field, and
then validates each declared column as a whole array: numbers are parsed once
per cell and every range, enum and blank check is a numpy mask.  Problems are
appended to a list rather than raised, so that one pass reports all of them.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from optimizer.errors import Problem
from optimizer.io.files import CONTROL, MAX_CSV_BYTES, decode, read_input
from optimizer.schema import Column, Table

#: Rows reported one by one per column and kind of problem; the rest are counted in one summary.
MAX_REPEATS = 10


@dataclass
class ParsedTable:
    """A table whose columns have been parsed (defaults applied where cells were blank).

    Attributes:
        table: The declaration.
        display: The file path as shown in problems.
        lines: Line number of each data row, int64 array.
        values: Column name -> float64 array (NaN where a cell was invalid) or object array of str.
        complete: Every record had the header's number of fields (none was skipped).
    """

    table: Table
    display: str
    lines: np.ndarray
    values: dict[str, np.ndarray]
    complete: bool


def report_rows(
    problems: list[Problem],
    display: str,
    field: str,
    lines: np.ndarray,
    texts: Sequence[Any],
    message: Callable[[Any], str],
    kind: str,
) -> None:
    """Add one problem per failing row, at most :data:`MAX_REPEATS`, then one summary.

    Args:
        problems: List to append to.
        display: File path as shown.
        field: Column name.
        lines: Line numbers of the failing rows, in file order.
        texts: The failing cell values, or other per-row items (same length as ``lines``).
        message: Builds the message from one item.
        kind: Short name of the problem for the summary, e.g. ``"not a number"``.
    """
    for line, text in zip(lines[:MAX_REPEATS], texts[:MAX_REPEATS]):
        problems.append(Problem(display, message(text), int(line), field))
    rest = len(lines) - MAX_REPEATS
    if rest > 0:
        problems.append(
            Problem(
                display,
                f"{rest} more row{'s' if rest > 1 else ''} with the same problem ({kind}), "
                f"lines {int(lines[MAX_REPEATS])} to {int(lines[-1])}",
                int(lines[MAX_REPEATS]),
                field,
            )
        )


def _records(text: str) -> tuple[list[list[str]], list[int]]:
    """Non-blank CSV records with surrounding whitespace stripped, and the line each starts on."""
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[list[str]] = []
    starts: list[int] = []
    previous = 0
    for record in reader:
        start = previous + 1
        previous = reader.line_num
        fields = [f.strip() for f in record]
        if any(fields):
            records.append(fields)
            starts.append(start)
    return records, starts


def _plain_cells(text: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The cells (header first) and line numbers of a plain CSV text, without per-row Python work.

    Plain: no quotes, no whitespace but line ends (``\\n`` or ``\\r\\n``), no blank line, every line with
    the header's number of fields.  Anything else returns None and is read by :func:`_records`
    (which then gives the same records, and the problems of the lines that are not plain).
    """
    text = text.replace("\r\n", "\n") if "\r" in text else text
    text = text[:-1] if text.endswith("\n") else text
    if not text or any(c in text for c in '"\0\r \t') or not text.isascii() and _NOT_PLAIN.search(text):
        return None
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    if (data < 32).sum() != text.count("\n"):  # a control character such as a form feed (whitespace to strip)
        return None
    ends = np.flatnonzero(data == ord("\n"))
    commas = np.flatnonzero(data == ord(","))
    per_line = np.diff(np.searchsorted(commas, np.concatenate([[0], ends, [len(data)]])))
    length = np.diff(np.concatenate([[-1], ends, [len(data)]])) - 1
    if (per_line != per_line[0]).any() or (length == per_line).any():  # a line of another width, or blank
        return None
    cells = np.array(text.replace("\n", ",").split(","), dtype=object).reshape(len(per_line), per_line[0] + 1)
    return cells, np.arange(1, len(per_line) + 1, dtype=np.int64)


#: What makes a CSV text not plain (:func:`_plain_cells`): quotes, a NUL, a lone CR, whitespace but LF.
_NOT_PLAIN = re.compile(r'["\0\r]|[^\S\n]')


def _check_header(table: Table, header: list[str], display: str, line: int, problems: list[Problem]) -> None:
    """Check column names: none missing, unknown, blank or repeated (the header is on ``line``)."""
    known = table.column_names
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if not name:
            problems.append(Problem(display, f"column {position} of the header has no name", line))
        elif name in seen:
            problems.append(Problem(display, f"column '{name}' appears more than once in the header", line, name))
        elif name not in known:
            close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(
                Problem(display, f"unknown column '{name}'; {hint}known columns: {', '.join(known)}", line, name)
            )
        seen.add(name)
    for col in table.columns:
        if col.required and col.name not in seen:
            found = ", ".join(h for h in header if h) or "none"
            problems.append(
                Problem(display, f"missing required column '{col.name}'; columns found: {found}", line, col.name)
            )


def _parse_numbers(
    col: Column, texts: np.ndarray, lines: np.ndarray, display: str, problems: list[Problem]
) -> np.ndarray:
    """Parse and check a number column; invalid cells become NaN, blank optional cells the default."""
    blank = texts == ""
    joined = "\n".join(texts)
    digits = joined.replace("\n", "")
    whole = digits.isascii() and (digits.isdigit() or not digits)
    if joined.count("\n") == len(texts) - 1 and whole and not blank.any():  # whole numbers only
        values = _whole_numbers(joined, len(texts))
    elif joined.count("\n") == len(texts) - 1 and (whole or _PLAIN_COLUMN.fullmatch(joined) is not None):
        values = np.full(len(texts), np.nan)  # plain decimals or blank
        values[~blank] = np.fromiter(map(float, texts[~blank]), dtype=float, count=int((~blank).sum()))
    else:
        values = np.array([_to_float(t) for t in texts], dtype=float)
    unparsable = np.isnan(values) & ~blank
    is_nan_text = np.zeros(len(texts), dtype=bool)
    if unparsable.any():
        is_nan_text[unparsable] = [t.lower().lstrip("+-") == "nan" for t in texts[unparsable]]
    not_number = unparsable & ~is_nan_text
    report_rows(problems, display, col.name, lines[not_number], texts[not_number],
                lambda t: f"'{t}' is not a number; {col.rule()}", "not a number")
    report_rows(problems, display, col.name, lines[is_nan_text], texts[is_nan_text],
                lambda t: f"'{t}' is not allowed; {col.rule()}", "nan")
    if col.required:
        report_rows(problems, display, col.name, lines[blank], texts[blank],
                    lambda t: f"value is blank but {col.name} is required; {col.rule()}", "blank")
    else:
        values[blank] = col.default
    if not col.allow_inf:
        infinite = np.isinf(values)
        report_rows(problems, display, col.name, lines[infinite], texts[infinite],
                    lambda t: f"'{t}' is not allowed (only finite numbers); {col.rule()}", "infinite")
        values[infinite] = np.nan
    checked = ~np.isnan(values) & ~blank
    none = np.zeros(len(values), dtype=bool)
    with np.errstate(invalid="ignore"):
        low = none if col.min is None else (values < col.min if col.min_inclusive else values <= col.min)
        high = none if col.max is None else (values > col.max if col.max_inclusive else values >= col.max)
    low = low & checked
    high = high & checked & ~np.isinf(values)  # inf survives above only where allowed (unlimited)
    negative = low & (values < 0) if col.min == 0 else none
    groups = (
        (negative, "is negative"),
        (low & ~negative, "is too small"),
        (high, "is too large"),
    )
    for mask, what in groups:
        report_rows(problems, display, col.name, lines[mask], texts[mask],
                    lambda t, what=what: f"'{t}' {what}; {col.rule(with_type=False)}", what[3:])
    values[low | high] = np.nan
    return values


#: A number as FORMAT.md allows it: a plain decimal with an optional exponent, or inf / nan (any case).
_PLAIN_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?(?:inf|infinity|nan)",
                           re.IGNORECASE)


def _whole_numbers(joined: str, count: int) -> np.ndarray:
    """The values of ``count`` non-blank cells of ASCII digits joined by line ends (as ``float`` reads them)."""
    if not count:
        return np.zeros(0)
    data = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    ends = np.append(np.flatnonzero(data == ord("\n")), len(data))  # one past each cell
    lengths = np.diff(ends, prepend=-1) - 1
    if lengths.max() > 15:  # beyond 15 digits int64 powers overflow or float rounds: float itself
        return np.fromiter(map(float, joined.split("\n")), dtype=float, count=count)
    digit = data != ord("\n")
    power = (np.repeat(ends, lengths + 1)[:len(data)] - np.arange(len(data)) - 1)[digit]
    value = (data[digit].astype(np.int64) - ord("0")) * 10 ** power
    return np.add.reduceat(value, np.cumsum(lengths) - lengths).astype(float)


#: A column of plain decimals (no inf / nan) or blanks, joined by line ends.
_PLAIN_COLUMN = re.compile(r"(?:[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)?"
                           r"(?:\n(?:[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)?)*")


def _to_float(text: str) -> float:
    """The number a cell holds as a plain decimal, or NaN when it holds none (blank included).

    Python's ``float`` also accepts digit groups (``1_000``) and non-ASCII digits; FORMAT.md
    allows plain decimals only, so those are not numbers here.
    """
    if _PLAIN_NUMBER.fullmatch(text) is None:
        return np.nan
    return float(text)


def _parse_text(
    col: Column, texts: np.ndarray, lines: np.ndarray, display: str, problems: list[Problem],
    values: dict[str, np.ndarray],
) -> np.ndarray:
    """Check a text or enum column; blank optional cells take the default (or another column's value)."""
    blank = texts == ""
    out = texts.copy()
    if col.required:
        report_rows(problems, display, col.name, lines[blank], texts[blank],
                    lambda t: f"value is blank but {col.name} is required", "blank")
    elif col.default_from is not None and col.default_from in values:
        out[blank] = values[col.default_from][blank]
    else:
        out[blank] = col.default
    if col.type == "enum":
        bad = ~blank & ~np.isin(texts, np.array(col.choices, dtype=object))
        report_rows(problems, display, col.name, lines[bad], texts[bad],
                    lambda t: f"'{t}' is not a valid {col.name}; {col.rule()}", "not an allowed value")
    return out


def parse_table(table: Table, path: Path, display: str, problems: list[Problem]) -> ParsedTable | None:
    """Read and check one CSV file.

    Args:
        table: The declaration to check against.
        path: File to read (never written).
        display: The path as shown in problems (as the user gave it).
        problems: List to append every problem found to.

    Returns:
        The parsed columns (blank optional cells filled with defaults, invalid
        cells NaN), or None when the file cannot be read as a table at all.
    """
    data = read_input(path, display, problems, MAX_CSV_BYTES)
    if data is None:
        return None
    expected = ", ".join(table.column_names)
    if not data.strip():
        problems.append(Problem(display, f"file is empty; expected a header line with the columns {expected}"))
        return None
    text = decode(data, display, problems)
    if text is None:
        return None
    bad = CONTROL.search(text)
    if bad is not None:
        _control_problem(text, bad.start(), display, problems)
        return None
    plain = _plain_cells(text)
    if plain is not None:
        header, header_line = [str(name) for name in plain[0][0]], 1
        if _semicolons(header, display, header_line, problems):
            return None
        _check_header(table, header, display, header_line, problems)
        if len(plain[0]) - 1 < table.min_rows:
            problems.append(Problem(display, f"has no data rows; at least {table.min_rows} "
                                    f"row{'s' if table.min_rows > 1 else ''} required below the header", header_line))
            return None
        return _columns(table, header, plain[0][1:], plain[1][1:], display, problems, complete=True)
    try:
        records, starts = _records(text)
    except csv.Error as exc:
        problems.append(Problem(display, f"cannot be read as CSV: {exc}"))
        return None
    if not records:
        problems.append(Problem(display, f"file is empty; expected a header line with the columns {expected}"))
        return None
    header, header_line = records[0], starts[0]
    if _semicolons(header, display, header_line, problems):
        return None
    _check_header(table, header, display, header_line, problems)
    width = len(header)
    rows: list[list[str]] = []
    lines: list[int] = []
    for fields, start in zip(records[1:], starts[1:]):
        if len(fields) == width:
            rows.append(fields)
            lines.append(start)
            continue
        quoted = any("," in f or "\n" in f for f in fields)
        hint = "; a field holds a comma or line break inside quotes: is a quote '\"' left unclosed?" if quoted else ""
        count = f"{len(fields)} field{'s' if len(fields) != 1 else ''}"
        problems.append(Problem(display, f"row has {count} but the header has {width} columns{hint}", start))
    if len(records) - 1 < table.min_rows:
        problems.append(
            Problem(display, f"has no data rows; at least {table.min_rows} row{'s' if table.min_rows > 1 else ''} "
                    "required below the header",
                    header_line)
        )
        return None
    cells = np.empty((len(rows), width), dtype=object)
    if rows:
        cells[:, :] = rows
    return _columns(table, header, cells, np.array(lines, dtype=np.int64), display, problems,
                    complete=len(rows) == len(records) - 1)


def _semicolons(header: list[str], display: str, line: int, problems: list[Problem]) -> bool:
    """Whether the header is one field of names separated by semicolons (what Excel saves with European
    regional settings); the problem is then added."""
    if len(header) != 1 or len(header[0].split(";")) < 2:
        return False
    problems.append(Problem(display, "is separated by semicolons (as Excel saves CSV where the decimal mark is a "
                                     "comma, 1,5 for 1.5): save it with commas between fields and points as "
                                     "decimal marks (e.g. Excel: CSV UTF-8 with the list separator set to a "
                                     "comma), or convert it with a tool that knows the regional format", line))
    return True


def _control_problem(text: str, at: int, display: str, problems: list[Problem]) -> None:
    """The problem of the control character at offset ``at``: the line its record starts on and its column."""
    line, column = text.count("\n", 0, at) + 1, None
    reader = csv.reader(io.StringIO(text.replace("\0", "\x01"), newline=""))  # the csv module may refuse NUL
    header: list[str] | None = None
    previous = 0
    try:
        for record in reader:
            start, previous = previous + 1, reader.line_num
            index = next((i for i, f in enumerate(record) if CONTROL.search(f)), None)
            if index is not None:
                line = start
                column = header[index] if header is not None and index < len(header) else None
                break
            if header is None and any(f.strip() for f in record):
                header = [f.strip() for f in record]
    except csv.Error:
        pass
    problems.append(Problem(display, f"control character U+{ord(text[at]):04X} is not allowed in a CSV file "
                                     "(spreadsheets and reports cannot hold it); remove it", line, column))


def _columns(table: Table, header: list[str], cells: np.ndarray, line_array: np.ndarray, display: str,
             problems: list[Problem], complete: bool) -> ParsedTable:
    """Parse and check each declared column of the data cells (rows x header columns)."""
    position: dict[str, int] = {}
    for i, name in enumerate(header):
        position.setdefault(name, i)
    values: dict[str, np.ndarray] = {}
    for col in table.columns:
        if col.name in position:
            texts = cells[:, position[col.name]]
        elif col.required:
            continue
        else:
            texts = np.full(len(cells), "", dtype=object)
        if col.type == "float":
            values[col.name] = _parse_numbers(col, texts, line_array, display, problems)
        else:
            values[col.name] = _parse_text(col, texts, line_array, display, problems, values)
    return ParsedTable(table, display, line_array, values, complete=complete)
