"""Readers for the two classic facility-location benchmark formats, and a writer.

* :func:`read_orlib` reads J.E. Beasley's OR-Library capacitated warehouse
  location files (``cap41`` ... ``cap134``, ``capa``/``capb``/``capc``)::

      n m
      capacity_1 fixed_cost_1          (n lines)
      ...
      demand_1                         (then, per customer j:
      cost_1_1 ... cost_n_1             demand_j and n allocation costs,
      ...                               which may wrap over lines)

  ``cost_i_j`` is the cost of allocating customer j's WHOLE demand to
  facility i.  The capacity token may be the literal word ``capacity``
  (capa/capb/capc): the facility is then uncapacitated (``inf``), as in
  the UflLib convention.  Customers may be split between facilities.

* :func:`read_sscflp` reads the single-source files of Holmberg, Rönnqvist
  and Yuan (1999)::

      n m
      capacity_i fixed_cost_i          (n lines)
      demand_1 ... demand_m
      cost_1_1 ... cost_1_m            (facility-major: n blocks of m)
      ...

  Each customer must be served by exactly one facility.

* :func:`write_orlib` / :func:`format_orlib` write the OR-Library layout
  (used by :mod:`optimizer.io.instances`); they round-trip with :func:`read_orlib`.

Both readers return a one-product :class:`~optimizer.network.Network` whose
shipping cost is the matrix ``unit_shipping_cost = cost_i_j / demand_j``
(currency per unit; 0 where the demand is 0).  Every malformed token is
reported as a :class:`~optimizer.errors.Problem` with its 1-based line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.errors import InputError, Problem
from optimizer.io.files import MAX_CSV_BYTES, read_input, write_text
from optimizer.network import Network, Settings
from optimizer.schema import MAX_COST, MAX_QUANTITY

#: The word OR-Library uses in place of a number for an uncapacitated facility.
UNCAPACITATED_WORD = "capacity"
#: At most this many bad values are listed in one error.
MAX_PROBLEMS = 20
#: Allocation costs per line in files written by :func:`format_orlib`.
COSTS_PER_LINE = 10


def read_orlib(path: str | Path) -> Network:
    """Read an OR-Library capacitated warehouse location file.

    Args:
        path: The file (e.g. ``tests/data/orlib/cap41``).

    Returns:
        A network with sites ``"1".."n"``, regions ``"1".."m"``, one product
        ``"1"`` and multi-sourcing allowed.

    Raises:
        InputError: The file is missing, truncated, too long, or holds a
            non-numeric or negative value (with the line of the bad token).
    """
    path = Path(path)
    tokens, lines = _tokenize(path)
    n, m = _header(path, tokens, lines)
    offset = 2 + 2 * n
    _check_count(path, tokens, lines, offset + m * (1 + n), lambda k: _orlib_field(k, n), "2 + 2n + m(1 + n)", n, m)

    is_word = np.zeros(len(tokens), dtype=bool)
    is_word[2:offset:2] = [t.lower() == UNCAPACITATED_WORD for t in tokens[2:offset:2]]
    values = _values(path, tokens, lines, is_word, lambda k: _orlib_field(k, n))
    block = values[offset:].reshape(m, 1 + n)
    return _network(
        path,
        capacity=values[2:offset:2],
        fixed_cost=values[3:offset:2],
        demand=block[:, 0],
        allocation_cost=block[:, 1:].T,
        single_sourcing=False,
    )


def read_sscflp(path: str | Path) -> Network:
    """Read a Holmberg single-source capacitated facility location file.

    Args:
        path: The file (e.g. ``tests/data/sscflp/p1``).

    Returns:
        A network with sites ``"1".."n"``, regions ``"1".."m"``, one product
        ``"1"`` and ``settings.single_sourcing`` set.

    Raises:
        InputError: The file is missing, truncated, too long, or holds a
            non-numeric or negative value (with the line of the bad token).
    """
    path = Path(path)
    tokens, lines = _tokenize(path)
    n, m = _header(path, tokens, lines)
    offset = 2 + 2 * n
    _check_count(path, tokens, lines, offset + m + n * m, lambda k: _sscflp_field(k, n, m), "2 + 2n + m + nm", n, m)

    values = _values(path, tokens, lines, np.zeros(len(tokens), dtype=bool), lambda k: _sscflp_field(k, n, m))
    return _network(
        path,
        capacity=values[2:offset:2],
        fixed_cost=values[3:offset:2],
        demand=values[offset:offset + m],
        allocation_cost=values[offset + m:].reshape(n, m),
        single_sourcing=True,
    )


def format_orlib(
    capacity: np.ndarray, fixed_cost: np.ndarray, demand: np.ndarray, allocation_cost: np.ndarray
) -> str:
    """The text of an OR-Library capacitated warehouse location file.

    Args:
        capacity: Capacity of each facility, units, shape (n,); ``inf`` is
            written as the word ``capacity`` (uncapacitated).
        fixed_cost: Fixed cost of opening each facility, currency, shape (n,).
        demand: Demand of each customer, units, shape (m,).
        allocation_cost: Cost of serving customer j's whole demand from
            facility i, currency, shape (n, m).

    Returns:
        The file contents (numbers in shortest round-trip form).

    Raises:
        ValueError: The shapes disagree or a value is negative or NaN.
    """
    capacity, fixed_cost, demand, allocation_cost = (
        np.asarray(a, dtype=float) for a in (capacity, fixed_cost, demand, allocation_cost)
    )
    n, m = len(capacity), len(demand)
    if fixed_cost.shape != (n,) or allocation_cost.shape != (n, m) or capacity.ndim != 1 or demand.ndim != 1:
        raise ValueError(
            f"shapes disagree: capacity {capacity.shape}, fixed_cost {fixed_cost.shape}, "
            f"demand {demand.shape}, allocation_cost {allocation_cost.shape} (expected (n,), (n,), (m,), (n, m))"
        )
    finite = (fixed_cost, demand, allocation_cost)
    if any((~np.isfinite(a) | (a < 0)).any() for a in finite) or np.isnan(capacity).any() or (capacity < 0).any():
        raise ValueError("values must be non-negative numbers (only capacities may be inf)")

    out = [f"{n} {m}"]
    out += [f"{_fmt(c) if np.isfinite(c) else UNCAPACITATED_WORD} {_fmt(f)}" for c, f in zip(capacity, fixed_cost)]
    for j in range(m):
        out.append(_fmt(demand[j]))
        costs = [_fmt(c) for c in allocation_cost[:, j]]
        out += [" ".join(costs[k:k + COSTS_PER_LINE]) for k in range(0, n, COSTS_PER_LINE)]
    return "\n".join(out) + "\n"


def write_orlib(
    path: str | Path,
    capacity: np.ndarray,
    fixed_cost: np.ndarray,
    demand: np.ndarray,
    allocation_cost: np.ndarray,
) -> Path:
    """Write an OR-Library capacitated warehouse location file.

    Args:
        path: Destination file.
        capacity: Capacity of each facility, units, shape (n,); ``inf`` = uncapacitated.
        fixed_cost: Fixed cost of each facility, currency, shape (n,).
        demand: Demand of each customer, units, shape (m,).
        allocation_cost: Cost of serving customer j's whole demand from
            facility i, currency, shape (n, m).

    Returns:
        The path written.
    """
    return write_text(path, format_orlib(capacity, fixed_cost, demand, allocation_cost))


def _fmt(x: float) -> str:
    """Shortest text that reads back as exactly ``x`` (integers without ``.0``)."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


def _tokenize(path: Path) -> tuple[list[str], np.ndarray]:
    """Whitespace-separated tokens of the file and the 1-based line of each."""
    problems: list[Problem] = []
    data = read_input(path, str(path), problems, MAX_CSV_BYTES)  # a plain file: a FIFO is refused, not opened
    if data is None:
        raise InputError(problems)
    text = data.decode("utf-8", errors="replace")
    tokens: list[str] = []
    counts: list[int] = []
    for line in text.splitlines():
        parts = line.split()
        tokens += parts
        counts.append(len(parts))
    lines = np.repeat(np.arange(1, len(counts) + 1), counts)
    return tokens, lines


def _header(path: Path, tokens: list[str], lines: np.ndarray) -> tuple[int, int]:
    """The facility and customer counts of line 1, checked to be positive integers."""
    counts = []
    for k, what in enumerate(("number of facilities", "number of customers")):
        if k >= len(tokens):
            raise InputError(Problem(str(path), f"the file ends before the {what}", line=1, field=what))
        value = _to_float(tokens[k])
        if not (np.isfinite(value) and value.is_integer() and value >= 1):
            raise InputError(Problem(str(path), f"'{tokens[k]}' is not a positive integer",
                                     line=int(lines[k]), field=what))
        counts.append(int(value))
    return counts[0], counts[1]


def _check_count(
    path: Path,
    tokens: list[str],
    lines: np.ndarray,
    expected: int,
    field_of: Callable[[int], str],
    formula: str,
    n: int,
    m: int,
) -> None:
    """Raise if the file holds fewer or more values than ``n`` and ``m`` imply."""
    found = len(tokens)
    if found == expected:
        return
    count = f"expected {expected} values ({formula} with n={n}, m={m}), found {found}"
    if found < expected:
        raise InputError(Problem(str(path), f"the file is truncated: {count}",
                                 line=int(lines[-1]), field=field_of(found)))
    raise InputError(Problem(str(path), f"unexpected values after the end of the data: {count}",
                             line=int(lines[expected]), field=None))


def _values(
    path: Path, tokens: list[str], lines: np.ndarray, is_word: np.ndarray, field_of: Callable[[int], str]
) -> np.ndarray:
    """All tokens as floats (``is_word`` tokens as ``inf``); raise on bad or negative ones."""
    text = np.asarray(tokens, dtype=object)
    text[is_word] = "inf"
    try:
        values = text.astype(float)
        bad = ~np.isfinite(values) & ~is_word
    except ValueError:  # locate the non-numeric tokens one by one (error path only)
        values = np.array([_to_float(t) for t in text])
        bad = np.isnan(values) | (np.isinf(values) & ~is_word)
    bad |= np.char.find(text.astype(str), "_") >= 0  # Python and numpy read "1_000"; numbers are plain decimals
    negative = values < 0
    limit = {int(k): MAX_COST if "cost" in field_of(int(k)) else MAX_QUANTITY  # only the few large values
             for k in np.flatnonzero(~bad & ~is_word & (values > MAX_QUANTITY))}
    huge = np.zeros(len(values), dtype=bool)
    huge[[k for k, most in limit.items() if values[k] > most]] = True  # what the model could not represent
    wrong = np.flatnonzero(bad | negative | huge)
    if len(wrong) == 0:
        return values

    def message(k: int) -> str:
        if negative[k]:
            return f"'{tokens[k]}' is negative"
        if huge[k]:
            return f"'{tokens[k]}' is too large (at most {limit[k]:g})"
        return f"'{tokens[k]}' is not a finite number"

    problems = [Problem(str(path), message(int(k)), line=int(lines[k]), field=field_of(int(k)))
                for k in wrong[:MAX_PROBLEMS]]
    if len(wrong) > MAX_PROBLEMS:
        problems.append(Problem(str(path), f"{len(wrong) - MAX_PROBLEMS} more bad values not listed"))
    raise InputError(problems)


def _to_float(token: str) -> float:
    """``float(token)``, NaN when it is not a plain decimal number (``1_000`` is not one)."""
    if "_" in token:
        return float("nan")
    try:
        return float(token)
    except ValueError:
        return float("nan")


def _facility_field(k: int) -> str:
    """Name of token ``k`` (k >= 2) in the facility lines."""
    facility, second = divmod(k - 2, 2)
    return f"{'fixed cost' if second else 'capacity'} of facility {facility + 1}"


def _orlib_field(k: int, n: int) -> str:
    """Name of token ``k`` of an OR-Library file with ``n`` facilities."""
    if k < 2:
        return ("number of facilities", "number of customers")[k]
    if k < 2 + 2 * n:
        return _facility_field(k)
    customer, pos = divmod(k - 2 - 2 * n, 1 + n)
    return f"demand of customer {customer + 1}" if pos == 0 else f"cost of customer {customer + 1} at facility {pos}"


def _sscflp_field(k: int, n: int, m: int) -> str:
    """Name of token ``k`` of a Holmberg file with ``n`` facilities and ``m`` customers."""
    if k < 2:
        return ("number of facilities", "number of customers")[k]
    if k < 2 + 2 * n:
        return _facility_field(k)
    if k < 2 + 2 * n + m:
        return f"demand of customer {k - 1 - 2 * n}"
    facility, customer = divmod(k - 2 - 2 * n - m, m)
    return f"cost of customer {customer + 1} at facility {facility + 1}"


def _network(
    path: Path,
    capacity: np.ndarray,
    fixed_cost: np.ndarray,
    demand: np.ndarray,
    allocation_cost: np.ndarray,
    single_sourcing: bool,
) -> Network:
    """A one-product network from benchmark arrays (allocation cost is per whole demand)."""
    n, m = allocation_cost.shape
    site_ids = [str(i) for i in range(1, n + 1)]
    region_ids = [str(j) for j in range(1, m + 1)]
    sites = pd.DataFrame(
        {
            "name": site_ids,
            "lat": np.nan,
            "lon": np.nan,
            "capacity": capacity,
            "fixed_cost": fixed_cost,
            "handling_cost": 0.0,
            "status": "candidate",
            "closing_cost": 0.0,
        },
        index=pd.Index(site_ids, name="id"),
    )
    regions = pd.DataFrame({"name": region_ids, "lat": np.nan, "lon": np.nan}, index=pd.Index(region_ids, name="id"))
    products = pd.DataFrame(
        {"name": ["1"], "unit_value": [0.0], "volume": [1.0], "weight_kg": [0.0], "holding_rate": [0.0],
         "shipping_cost_per_km": [0.0]},
        index=pd.Index(["1"], name="id"),
    )
    demand_table = pd.DataFrame({"region": region_ids, "product": "1", "quantity": demand, "std": 0.0})
    safe = np.where(demand > 0, demand, 1.0)
    unit_cost = np.where(demand[None, :] > 0, allocation_cost / safe[None, :], 0.0)
    settings = Settings(period_days=7.0, circuity=1.0, days_of_cover=0.0, single_sourcing=single_sourcing)
    return Network(
        sites=sites,
        regions=regions,
        products=products,
        demand=demand_table,
        settings=settings,
        unit_shipping_cost=unit_cost,
        name=path.name,
        source=str(path),
    )
