"""Error types shared by every layer.

Input problems are collected as :class:`Problem` records (file, line, field,
message) so that ``optimizer validate`` can report all of them at once, and
raised together as one :class:`InputError` whose message is readable without a
traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found in the input.

    Attributes:
        file: Path or name of the file the problem is in.
        message: What is wrong, in words a user can act on.
        line: 1-based line number in the file (the CSV header is line 1), if any.
        field: Column or YAML key concerned, if any.
    """

    file: str
    message: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.field is not None:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, str | int | None]:
        """``file``, ``line``, ``field`` and ``message``, as JSON documents and log records show a problem."""
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


class OptimizerError(Exception):
    """Base class of the errors this package raises on purpose."""


class InputError(OptimizerError):
    """The input data is invalid; carries every problem found."""

    def __init__(self, problems: list[Problem] | Problem):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__(self._format())

    def _format(self) -> str:
        if len(self.problems) == 1:
            return f"Invalid input: {self.problems[0]}"
        lines = [f"Invalid input: {len(self.problems)} problems found:"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class ModelTooLargeError(InputError):
    """The model of the input would not fit in memory (see :func:`optimizer.model.size.check_fits`).

    Attributes:
        size: The estimate (an :class:`optimizer.model.size.ModelSize`).
        available: The memory it was compared with, bytes.
    """

    def __init__(self, problems: list[Problem] | Problem, size: object = None, available: int | None = None):
        super().__init__(problems)
        self.size = size
        self.available = available


class SolverUnavailableError(OptimizerError):
    """The requested solver backend is not installed or cannot run here."""
