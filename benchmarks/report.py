"""What a suite produces: its rows, a Markdown table, a CSV file and its section of ``RESULTS.md``.

``RESULTS.md`` holds one section per suite between the markers ``<!-- suite:NAME -->`` and
``<!-- /suite:NAME -->``; :func:`record_section` replaces the section of one suite (or appends
it) and leaves the rest of the file as it was.
"""

from __future__ import annotations

import csv
import math
import os
import platform
import re
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

#: The default results file and CSV folder.
RESULTS_FILE = Path(__file__).resolve().parent / "RESULTS.md"
CSV_DIR = Path(__file__).resolve().parent / "results"

#: The first lines of a new RESULTS.md.
RESULTS_HEADER = """# Benchmark results

Written by `python -m benchmarks run SUITE` (see `README.md`): each suite rewrites only its own
section, between its `<!-- suite:NAME -->` markers, with the machine and the command that
measured it. The CSV files in `results/` hold the same rows, unformatted.
"""


@dataclass(frozen=True)
class Column:
    """One column of a suite's table.

    Attributes:
        header: Title in the Markdown table.
        key: Key of the row dict (and CSV column name).
        cell: Formats a row's cell for the Markdown table; default: :func:`plain` of ``row[key]``.
    """

    header: str
    key: str
    cell: Callable[[dict[str, Any]], str] | None = None

    def text(self, row: dict[str, Any]) -> str:
        """The Markdown cell of ``row``."""
        return self.cell(row) if self.cell is not None else plain(row.get(self.key))


@dataclass
class SuiteResult:
    """The outcome of one suite.

    Attributes:
        suite: Suite name (``orlib``, ``ladder`` ...).
        title: One-line description, the section's heading.
        columns: The table's columns.
        rows: One dict per measured item (keys as in ``columns`` and more); a totals row may
            come last.
        notes: Lines printed under the table (targets, errors, how to read it).
        skipped: ``skipped: ...`` messages (data not found, unknown names).
        ok: Every check of the suite passed (optima matched, plans checked, targets met).
    """

    suite: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    ok: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (non-finite floats become ``None``)."""
        return {"suite": self.suite, "title": self.title, "ok": self.ok, "skipped": self.skipped,
                "notes": self.notes, "rows": [{k: _json_value(v) for k, v in row.items()} for row in self.rows]}


def _json_value(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


# --- cell formats ---------------------------------------------------------------------------------


def plain(value: Any) -> str:
    """A cell: ``-`` for missing, ``yes``/``no`` for booleans, 4 significant digits for floats."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def number(key: str, spec: str) -> Callable[[dict[str, Any]], str]:
    """A cell format applying ``format(row[key], spec)`` (``-`` when missing)."""
    def cell(row: dict[str, Any]) -> str:
        value = row.get(key)
        return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)
    return cell


def markdown_table(columns: list[Column], rows: list[dict[str, Any]]) -> str:
    """The rows as a GitHub Markdown table (numbers right-aligned)."""
    cells = [[c.text(row).replace("|", "\\|") for c in columns] for row in rows]
    right = [bool(cells) and all(_numeric(line[k]) for line in cells) for k in range(len(columns))]
    lines = ["| " + " | ".join(c.header for c in columns) + " |",
             "|" + "|".join("---:" if r else "---" for r in right) + "|"]
    lines += ["| " + " | ".join(line) + " |" for line in cells]
    return "\n".join(lines)


def _numeric(text: str) -> bool:
    return text == "-" or bool(re.fullmatch(r"[≥<>~]?\s*[-+]?[\d.,]+(e[-+]?\d+)?\s*[%×x]?", text))


def write_csv(result: SuiteResult, path: Path) -> Path:
    """Write the suite's rows (every key, unformatted) as CSV; returns ``path``."""
    keys: list[str] = []
    for row in result.rows:
        keys += [k for k in row if k not in keys]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        for row in result.rows:
            writer.writerow({k: "" if row.get(k) is None else row[k] for k in keys})
    return path


# --- the machine and the RESULTS.md section -------------------------------------------------------


def machine() -> dict[str, Any]:
    """The machine and library versions, for the record."""
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu, "cores": psutil.cpu_count(logical=False), "logical_cpus": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1), "os": platform.platform(),
        "python": platform.python_version(), "highs": _version("highspy"), "pulp": _version("pulp"),
        "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def describe_machine(info: dict[str, Any]) -> str:
    """One line: date, CPU, cores, RAM, OS, Python, HiGHS, PuLP and the load when the run started."""
    return (f"{info['date']} · {info['cpu']}, {info['cores']} cores ({info['logical_cpus']} logical), "
            f"{info['ram_gib']} GiB RAM · {info['os']} · Python {info['python']} · HiGHS {info['highs']} · "
            f"PuLP {info['pulp']} · load average {info['load_average']} at the start")


def section_text(result: SuiteResult, info: dict[str, Any], command: str) -> str:
    """The suite's Markdown section (heading, machine, command, table, notes), without the markers."""
    parts = [f"## {result.suite}: {result.title}", "",
             f"Measured {describe_machine(info)}, by `{command}`.", ""]
    if result.rows:
        parts += [markdown_table(result.columns, result.rows), ""]
    parts += [f"- {line}" for line in result.notes + result.skipped]
    return "\n".join(parts).rstrip() + "\n"


def _markers(suite: str) -> tuple[str, str]:
    return f"<!-- suite:{suite} -->", f"<!-- /suite:{suite} -->"


def record_section(path: Path, suite: str, text: str) -> Path:
    """Replace the section of ``suite`` in ``path`` by ``text`` (or append it); keep everything else.

    Args:
        path: The results file; created with :data:`RESULTS_HEADER` if missing.
        suite: The suite's name.
        text: The new section, without its markers.

    Returns:
        ``path``.

    Raises:
        ValueError: The file has a start marker of the suite without its end marker (or the reverse).
    """
    start, end = _markers(suite)
    old = path.read_text() if path.exists() else RESULTS_HEADER
    block = f"{start}\n{text.rstrip()}\n{end}"
    has_start, has_end = start in old, end in old
    if has_start != has_end:
        raise ValueError(f"{path}: '{start if has_start else end}' without '{end if has_start else start}'; "
                         "fix the markers by hand")
    if has_start:
        before, rest = old.split(start, 1)
        new = before + block + rest.split(end, 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new)
    tmp.replace(path)
    return path
