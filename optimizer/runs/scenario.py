"""What-if scenarios: a base dataset plus a few overrides, written as a small YAML file.

A scenario file names its base dataset folder (relative to the file) and the changes to make::

    base: demo
    name: south-demand-up
    demand:
      - {where: {lat: {max: 36.5}}, scale: 1.2}
    sites: {scale: {fixed_cost: 1.1}, close: [DC-SEA]}
    settings: {exact_sites: 8}

:func:`load_scenario` checks the file (unknown keys, ids, columns and bad values are
:class:`~optimizer.errors.InputError` problems naming the file, line and key path, e.g.
``sites.ids[2]``); :func:`build_network` applies the overrides to a fresh copy of the base
network (base reads are cached per process and never modified); :func:`input_hash` is the
stable cache key of one run.  The override grammar is in :mod:`optimizer.runs.overrides`,
``docs/SCENARIOS.md`` is the format reference, and sweeps of many scenarios are in
:mod:`optimizer.runs.sweep`.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from optimizer.errors import InputError, Problem
from optimizer.io.dataset import read_dataset, show_value
from optimizer.io.yamlfile import load_yaml
from optimizer.network import Network
from optimizer.runs.overrides import (META_KEYS, OVERRIDE_KEYS, YamlContext, apply_overrides, join, normalize_overrides,
                                 unknown_key)


@dataclass(frozen=True)
class Scenario:
    """One what-if: a base dataset and the overrides applied to it.

    Attributes:
        name: Stable name, unique within a sweep (e.g. ``demand=high,rents=up``).
        base: Absolute path of the base dataset folder.
        overrides: JSON-serialisable, schema-checked override mapping (see ``docs/SCENARIOS.md``).
        source: File (and key) it came from, for error messages.
        sweep: Name of the sweep it belongs to (``""`` for a single scenario).
        position: Its place in the sweep (0 = first), kept in the stored definition so that
            ``compare`` lists runs in sweep order; ``None`` outside a sweep.  Not part of the input hash.
    """

    name: str
    base: Path
    overrides: dict[str, Any]
    source: str
    sweep: str = ""
    position: int | None = None

    def definition(self) -> dict[str, Any]:
        """The scenario as a JSON-serialisable dict: ``name``, ``base``, ``overrides``, ``sweep`` (and ``position``)."""
        out = {"name": self.name, "base": str(self.base), "overrides": copy.deepcopy(self.overrides),
               "sweep": self.sweep}
        if self.position is not None:
            out["position"] = self.position
        return out


def read_yaml(path: Path) -> tuple[dict[str, Any], YamlContext]:
    """Parse a YAML mapping and the line of every key path (scenario and sweep files).

    The file is read by the bounded loader of :mod:`optimizer.io.yamlfile` (size, nesting,
    aliases, plain-decimal numbers).

    Args:
        path: The file.

    Returns:
        ``(document, context)``.

    Raises:
        InputError: The file cannot be read, is not valid YAML, is not a mapping or repeats a key.
    """
    ctx = YamlContext(str(path))
    loaded = load_yaml(path, ctx.file, ctx.problems)
    ctx.raise_if_any()
    assert loaded is not None
    doc, root = loaded
    if not isinstance(doc, dict):
        raise InputError(Problem(ctx.file, f"must be a mapping of 'key: value' lines, found {show_value(doc)}", 1))
    _node_lines(root, "", ctx)
    ctx.raise_if_any()
    return doc, ctx


def _node_lines(node: yaml.Node | None, path: str, ctx: YamlContext) -> None:
    """Record the line of every key path below ``node`` and report keys written twice."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            child = join(path, str(key_node.value))
            if child in seen:
                ctx.problems.append(Problem(ctx.file, f"key '{key_node.value}' is written twice",
                                            key_node.start_mark.line + 1, child))
            seen.add(child)
            ctx.lines.setdefault(child, key_node.start_mark.line + 1)
            _node_lines(value_node, child, ctx)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            ctx.lines[join(path, i)] = item.start_mark.line + 1
            _node_lines(item, join(path, i), ctx)


def base_folder(value: Any, yaml_path: Path, ctx: YamlContext, key: str = "base") -> Path | None:
    """Resolve ``base:`` (relative to the YAML file's folder); None after a problem."""
    if not isinstance(value, str) or not value.strip():
        ctx.add(key, f"{show_value(value)} is not a dataset folder; write base: <folder relative to this file>")
        return None
    folder = (yaml_path.parent / value.strip()).resolve()
    if folder.exists() and not folder.is_dir():
        ctx.add(key, f"'{value}' is a file, not a dataset folder ({folder}); a scenario's base is the folder "
                     "holding sites.csv, regions.csv, products.csv and demand.csv")
        return None
    if not folder.is_dir():
        ctx.add(key, f"dataset folder '{value}' not found (looked for {folder})")
        return None
    return folder


def read_base(folder: str | Path) -> Network:
    """Read a base dataset, cached per process (the cache key includes the files' times and sizes).

    The network returned is shared: callers must not modify its tables.

    Args:
        folder: The dataset folder.

    Returns:
        The validated base network.

    Raises:
        InputError: The dataset is invalid.
    """
    path = Path(folder).resolve()
    try:
        signature = tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                                 for p in path.iterdir() if p.is_file()))
    except OSError:
        signature = ()
    return _read_cached(path, signature)


@lru_cache(maxsize=16)
def _read_cached(path: Path, signature: tuple[tuple[str, int, int], ...]) -> Network:
    return read_dataset(path)


def load_scenario(path: str | Path) -> Scenario:
    """Read and check one scenario YAML file.

    Args:
        path: The scenario file.

    Returns:
        The scenario, its overrides checked against the base dataset.

    Raises:
        InputError: Unknown keys, ids or columns, or values of the wrong type or range
            (file, line and key path named), or an invalid base dataset.
    """
    path = Path(path)
    doc, ctx = read_yaml(path)
    for key in doc:
        if key not in META_KEYS + OVERRIDE_KEYS:
            unknown_key(ctx, "", key, META_KEYS + OVERRIDE_KEYS)
    base = base_folder(doc.get("base"), path, ctx) if "base" in doc else None
    if "base" not in doc:
        ctx.add("base", "missing key 'base': the dataset folder this scenario changes, relative to this file")
    name = doc.get("name", path.stem)
    if not isinstance(name, (str, int)) or isinstance(name, bool) or not str(name).strip():
        ctx.add("name", f"{show_value(name)} is not a scenario name (text)")
    if "description" in doc and not isinstance(doc["description"], (str, type(None))):
        ctx.add("description", f"{show_value(doc['description'])} is not text")
    # one pass: what cannot be interpreted is left out, everything else is still checked against the data
    overrides = normalize_overrides({k: doc[k] for k in OVERRIDE_KEYS if k in doc}, ctx, "")
    if base is not None:
        try:
            network = read_base(base)
        except InputError as error:
            ctx.problems.extend(error.problems)
        else:
            apply_overrides(network, overrides, ctx, "")
    ctx.raise_if_any()
    assert base is not None
    return Scenario(name=str(name).strip(), base=base, overrides=overrides, source=str(path))


def build_network(scenario: Scenario) -> Network:
    """The scenario's network: a fresh copy of the base with the overrides applied.

    Args:
        scenario: The scenario.

    Returns:
        A new network named after the scenario; the cached base tables are left untouched.
        When the base is an expansion study file: the study (its periods' networks), named after
        the scenario.

    Raises:
        InputError: An override does not fit the base (unknown id, value out of range ...),
            naming ``scenario.source`` and the key path.
    """
    if scenario.base.is_file():  # an expansion study (a sweep whose base is a study file)
        from optimizer.expansion.studyfile import load_study

        return load_study(scenario.base, scenario.overrides, scenario.name)  # type: ignore[return-value]
    ctx = YamlContext(scenario.source)
    overrides = normalize_overrides(scenario.overrides, ctx, "")
    ctx.raise_if_any()
    network = apply_overrides(read_base(scenario.base), overrides, ctx, "")
    ctx.raise_if_any()
    return dataclasses.replace(network, name=scenario.name, source=scenario.source)


# ---------------------------------------------------------------------------------------------

def _canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def _frame_bytes(df: pd.DataFrame) -> bytes:
    """Canonical bytes of a table: dtypes, then CSV text (floats written as their shortest repr)."""
    header = ";".join(f"{c}:{t}" for c, t in zip(df.columns, df.dtypes.astype(str)))
    return (f"{df.index.name}:{df.index.dtype};{header}\n".encode()
            + df.to_csv(lineterminator="\n").encode())


@lru_cache(maxsize=1)
def package_source_hash() -> str:
    """sha256 over the optimizer package's own ``.py`` sources (relative path and bytes, sorted)."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py"), key=lambda p: p.relative_to(root).as_posix()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def input_hash(scenario: Scenario, network: Network, solver_options: dict[str, Any]) -> str:
    """The cache key of one run: sha256 hex of everything that determines its result.

    Covers every table of ``network`` (dtypes and values), its settings and unit shipping
    cost matrix, the scenario's overrides, the solver options and the optimizer package's
    source.  Not covered: names, descriptions and file locations.  Stable across processes
    (no Python ``hash()``; sorted keys; floats as shortest round-trip text).

    Args:
        scenario: The scenario.
        network: Its network (:func:`build_network`).
        solver_options: Options passed to the solver (name, time limit, gap, threads ...).

    Returns:
        64 hex digits.
    """
    digest = hashlib.sha256()

    def part(label: str, data: bytes) -> None:
        digest.update(label.encode() + b"\0" + len(data).to_bytes(8, "little") + data)

    def tables(obj: Any) -> None:
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if isinstance(value, pd.DataFrame):
                part(f.name, _frame_bytes(value))
            elif isinstance(value, np.ndarray):
                array = np.ascontiguousarray(value, dtype="<f8")
                part(f.name, repr(array.shape).encode() + array.tobytes())
            elif value is None and f.name not in ("name", "source"):
                part(f.name, b"none")

    if isinstance(network, Network):
        tables(network)
    else:  # an expansion study: every period's network of every path, the per-site options and its numbers
        unc = network.uncertainty
        paths = [(p.name, p.probability, p.periods) for p in unc.paths] if unc else [("", 1.0, network.periods)]
        for path_name, probability, periods in paths:
            for period in periods:
                part("period", _canonical_json([path_name, probability, period.name, period.years]))
                tables(period.network)
                part("settings", _canonical_json(dataclasses.asdict(period.network.settings)))
        tables(network)
        part("study", _canonical_json([network.discount_rate, network.budget_total, network.unmet_penalty,
                                       network.asset_life_years, [dataclasses.astuple(c) for c in network.committed],
                                       unc and [unc.shared_periods, unc.worst_case_weight]]))
    part("settings", _canonical_json(dataclasses.asdict(network.settings)))
    part("overrides", _canonical_json(scenario.overrides))
    part("solver_options", _canonical_json(solver_options))
    part("package", package_source_hash().encode())
    return digest.hexdigest()
