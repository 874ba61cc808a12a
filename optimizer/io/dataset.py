"""Read a dataset folder into a :class:`~optimizer.network.Network`, reporting every problem.

A dataset folder holds ``sites.csv``, ``regions.csv``, ``products.csv``,
``demand.csv`` and optionally ``network.yaml``; :mod:`optimizer.schema`
declares their columns and keys (and ``docs/FORMAT.md`` documents them).
:func:`validate_dataset` checks everything and returns all the problems found;
:func:`read_dataset` raises them together as one :class:`InputError`.  Files
are only read, never written.
"""

from __future__ import annotations

import difflib
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from optimizer.errors import InputError, Problem
from optimizer.io.csvtable import ParsedTable, parse_table, report_rows
from optimizer.io.yamlfile import load_yaml
from optimizer.network import (InventorySettings, Network, RebalanceSettings, Settings, SolverSettings,
                               TransportSettings)
from optimizer.schema import (DEMAND, KEYS, LINKS, NETWORK_FILE, PRODUCTS, REGIONS, SECTIONS, SITES, SUPPLIERS,
                              SUPPLY, TABLES, Key)

_KEYS_BY_NAME = {key.name: key for key in KEYS}


def validate_dataset(folder: str | Path) -> list[Problem]:
    """Check a dataset folder.

    Args:
        folder: The dataset folder.

    Returns:
        Every problem found (files, lines and fields named), empty when the dataset is valid.
    """
    problems, _ = _load(folder)
    return problems


def read_dataset(folder: str | Path) -> Network:
    """Read and validate a dataset folder.

    Args:
        folder: The dataset folder.

    Returns:
        The network: tables indexed by id with defaults applied, settings from network.yaml.

    Raises:
        InputError: The folder, a file or a value is invalid; carries every problem found.
    """
    problems, network = _load(folder)
    if problems or network is None:
        raise InputError(problems)
    return network


def _load(folder: str | Path) -> tuple[list[Problem], Network | None]:
    """Read everything, collecting problems; the network is built only when there are none."""
    path = Path(folder)
    shown = str(folder)
    needed = ", ".join(t.file for t in TABLES if not t.optional)
    if not path.exists():
        return [Problem(shown, f"dataset folder not found (a dataset is a folder holding {needed})")], None
    if not path.is_dir():
        return [Problem(shown, f"is not a folder; a dataset is a folder holding {needed} "
                               f"and optionally {NETWORK_FILE}")], None
    try:
        os.listdir(path)
    except OSError as exc:
        return [Problem(shown, f"dataset folder cannot be read: {exc.strerror or exc}")], None
    problems: list[Problem] = []
    parsed: dict[str, ParsedTable] = {}
    for table in TABLES:
        file = path / table.file
        if not os.path.lexists(file):
            if not table.optional:
                problems.append(Problem(str(file), f"file not found; a dataset folder needs {needed} "
                                                   f"(and optionally {NETWORK_FILE}){_similar_file(path, table.file)}"))
            continue
        result = parse_table(table, file, str(file), problems)
        if result is not None:
            parsed[table.file] = result
    for table_parsed in parsed.values():
        _check_unique(table_parsed, problems)
        _check_nonzero_only_if(table_parsed, problems)
        _check_references(table_parsed, parsed, problems)
    _check_supply_network(path, parsed, problems)
    products = parsed.get(PRODUCTS.file)
    if products is not None:
        check_whole(products, ("pack_size",), problems)
    settings, name = _read_settings(path / NETWORK_FILE, str(path / NETWORK_FILE), problems,
                                    None if products is None else [str(i) for i in products.values["id"]])
    if problems:
        order = {str(path / t.file): i for i, t in enumerate(TABLES)}
        problems.sort(key=lambda p: (order.get(p.file, len(order)), p.line or 0))
        return problems, None
    network = Network(
        sites=_frame(parsed[SITES.file]),
        regions=_frame(parsed[REGIONS.file]),
        products=_frame(parsed[PRODUCTS.file]),
        demand=_frame(parsed[DEMAND.file]),
        settings=settings,
        name=name or path.resolve().name,
        source=shown,
        suppliers=_frame(parsed[SUPPLIERS.file]) if SUPPLIERS.file in parsed else None,
        supply=_frame(parsed[SUPPLY.file]) if SUPPLY.file in parsed else None,
        links=_frame(parsed[LINKS.file]) if LINKS.file in parsed else None,
    )
    return [], network


#: Per-product rebalancing penalties (network.yaml ``rebalance: products: {id: {key: value}}``).
PENALTY_KEYS = ("shortage_rate", "target_factor", "excess_rate")


def rebalance_product_problems(product_ids: list[str], products: Any) -> list[tuple[str, str]]:
    """The problems of network.yaml's ``rebalance.products`` (product id -> penalty overrides).

    Args:
        product_ids: The ids in products.csv.
        products: The mapping (``None``: none).

    Returns:
        ``(key path, message)`` per problem, e.g. ``("rebalance.products.ELEC.shortage", "unknown key ...")``.
    """
    keys = {k.leaf: k for k in KEYS if k.section == "rebalance" and k.leaf in PENALTY_KEYS}
    known = set(product_ids)
    out: list[tuple[str, str]] = []
    for product, overrides in (products or {}).items():
        where = f"rebalance.products.{product}"
        if str(product) not in known:
            out.append((where, f"'{product}' is not an id in products.csv"))
        elif not isinstance(overrides, dict):
            out.append((where, f"must be a mapping of {', '.join(PENALTY_KEYS)}"))
        else:
            for name, value in overrides.items():
                key = keys.get(str(name))
                if key is None:
                    out.append((f"{where}.{name}", f"unknown key '{name}'; known keys here: {', '.join(PENALTY_KEYS)}"))
                elif isinstance(value, bool) or not isinstance(value, (int, float)) or not key.in_range(float(value)):
                    out.append((f"{where}.{name}", f"'{value}' is not allowed; {key.rule()}"))
    return out


def check_whole(parsed: ParsedTable, columns: tuple[str, ...], problems: list[Problem]) -> None:
    """Cells of these number columns that are not whole numbers (a pack of 2.5 units) are problems (and NaN)."""
    for column in columns:
        values = parsed.values.get(column)
        if values is None:
            continue
        with np.errstate(invalid="ignore"):
            bad = np.isfinite(values) & (values != np.round(values))
        report_rows(problems, parsed.display, column, parsed.lines[bad], values[bad],
                    lambda v, c=column: f"'{v:g}' is not a whole number; {c} is in whole units", "fractional")
        values[bad] = np.nan


def _check_supply_network(folder: Path, parsed: dict[str, ParsedTable], problems: list[Problem]) -> None:
    """suppliers.csv and supply.csv come together; link endpoints are known ids of the right kinds."""
    has_suppliers, has_supply = SUPPLIERS.file in parsed, SUPPLY.file in parsed
    if has_supply and not has_suppliers and not (folder / SUPPLIERS.file).exists():
        problems.append(Problem(str(folder / SUPPLY.file), f"needs {SUPPLIERS.file} in the same folder "
                                                           "(the suppliers it names)"))
    if has_suppliers and not has_supply and not (folder / SUPPLY.file).exists():
        problems.append(Problem(str(folder / SUPPLIERS.file), f"needs {SUPPLY.file}: which products each "
                                                              "supplier provides, with capacity and unit cost"))
    sites = parsed.get(SITES.file)
    if sites is None or "id" not in sites.values:
        return
    site_ids = set(sites.values["id"])
    supplier_ids: set[str] = set()
    if has_suppliers and "id" in parsed[SUPPLIERS.file].values:
        sup = parsed[SUPPLIERS.file]
        ids = sup.values["id"]
        clash = np.isin(ids, list(site_ids))
        report_rows(problems, sup.display, "id", sup.lines[clash], ids[clash],
                    lambda t: f"'{t}' is also a site id; supplier ids must differ from site ids", "id clash")
        supplier_ids = set(ids)
    links = parsed.get(LINKS.file)
    regions = parsed.get(REGIONS.file)
    if links is None or regions is None or "from" not in links.values or "to" not in links.values:
        return
    region_ids = set(regions.values.get("id", []))
    frm, to = links.values["from"], links.values["to"]
    from_kind = np.array(["supplier" if f in supplier_ids else "site" if f in site_ids
                          else "region" if f in region_ids else "" for f in frm], dtype=object)
    to_kind = np.array(["site" if t in site_ids else "region" if t in region_ids
                        else "supplier" if t in supplier_ids else "" for t in to], dtype=object)
    checks = (
        ((frm != "") & (from_kind == ""), "from", frm,
         lambda t: f"'{t}' is not a supplier or site id" + ("" if has_suppliers else f" (there is no {SUPPLIERS.file})")),
        ((to != "") & (to_kind == ""), "to", to, lambda t: f"'{t}' is not a site or region id"),
        (from_kind == "region", "from", frm, lambda t: f"'{t}' is a region; links leave suppliers or sites"),
        (to_kind == "supplier", "to", to, lambda t: f"'{t}' is a supplier; links end at sites or regions"),
        ((from_kind == "supplier") & (to_kind == "region"), "to", to,
         lambda t: f"'{t}' is a region; suppliers link to sites, which serve regions"),
        ((frm == to) & (frm != ""), "to", to, lambda t: f"'{t}' links a place to itself"),
    )
    for mask, field, values, message in checks:
        report_rows(problems, links.display, field, links.lines[mask], values[mask], message, f"bad {field}")
    ambiguous = (to_kind == "site") & np.isin(to, list(region_ids))
    report_rows(problems, links.display, "to", links.lines[ambiguous], to[ambiguous],
                lambda t: f"'{t}' is both a site and a region id, so the link is ambiguous; rename one of them",
                "ambiguous to")
    ambiguous = (to_kind == "region") & np.isin(to, list(supplier_ids))
    report_rows(problems, links.display, "to", links.lines[ambiguous], to[ambiguous],
                lambda t: f"'{t}' is both a region and a supplier id, so the link is ambiguous; rename one of them",
                "ambiguous to")


def _similar_file(folder: Path, wanted: str) -> str:
    """``; did you mean 'x'?`` for a file in the folder whose name is close to ``wanted``."""
    try:
        names = [p.name for p in folder.iterdir() if p.is_file()]
    except OSError:
        return ""
    by_lower = {n.lower(): n for n in names}
    close = difflib.get_close_matches(wanted.lower(), list(by_lower), n=1, cutoff=0.7)
    return f"; did you mean '{by_lower[close[0]]}'?" if close else ""


def _frame(parsed: ParsedTable) -> pd.DataFrame:
    """The Network DataFrame of a valid table: indexed by id (if the table has one), declared columns in order."""
    table = parsed.table
    data = {name: parsed.values[name] for name in table.frame_columns}
    if table.indexed:
        index = pd.Index(parsed.values[table.key[0]], name=table.key[0])
        return pd.DataFrame(data, index=index, columns=table.frame_columns)
    return pd.DataFrame(data, columns=table.frame_columns)


def _check_unique(parsed: ParsedTable, problems: list[Problem]) -> None:
    """Ids (or key pairs) must not repeat; each repeat names the line of the first occurrence."""
    key = list(parsed.table.key)
    if any(k not in parsed.values for k in key):
        return
    frame = pd.DataFrame({k: parsed.values[k] for k in key})
    filled = np.logical_and.reduce([frame[k].to_numpy() != "" for k in key])
    repeated = frame.duplicated(subset=key, keep="first").to_numpy() & filled
    if not repeated.any():
        return
    first_line = pd.Series(parsed.lines).groupby([frame[k] for k in key], sort=False).transform("min").to_numpy()
    items = list(zip(*(frame[k].to_numpy()[repeated] for k in key), first_line[repeated]))
    if len(key) == 1:
        def message(item: tuple[Any, ...]) -> str:
            return f"duplicate {key[0]} '{item[0]}'; it is already used on line {item[1]}"
    else:
        def message(item: tuple[Any, ...]) -> str:
            pair = ", ".join(f"{k} '{v}'" for k, v in zip(key, item))
            return f"duplicate {' and '.join(key)} pair ({pair}); it already appears on line {item[-1]}"
    report_rows(problems, parsed.display, key[0], parsed.lines[repeated], items, message, "duplicate")


def _check_nonzero_only_if(parsed: ParsedTable, problems: list[Problem]) -> None:
    """Columns declared ``nonzero_only_if=(other, values)``: nonzero only where ``other`` is one of ``values``."""
    for col in parsed.table.columns:
        if col.nonzero_only_if is None or col.name not in parsed.values:
            continue
        other, wanted = col.nonzero_only_if
        if other not in parsed.values:
            continue
        values, others = parsed.values[col.name], parsed.values[other]
        valid_other = np.isin(others, np.array(parsed.table.column(other).choices or wanted, dtype=object))
        bad = (values != 0) & ~np.isnan(values) & ~np.isin(others, np.array(wanted, dtype=object)) & valid_other
        allowed = " or ".join(f"'{w}'" for w in wanted)
        report_rows(
            problems, parsed.display, col.name, parsed.lines[bad], list(zip(values[bad], others[bad])),
            lambda item, col=col, other=other, allowed=allowed: (
                f"'{item[0]:g}' is not allowed here: {col.name} applies only where {other} is {allowed} "
                f"(this row's {other} is '{item[1]}'); set it to 0 or blank, or {other} to {allowed}"
            ),
            f"nonzero {col.name} where {other} is not {allowed}",
        )


def _check_references(parsed: ParsedTable, tables: dict[str, ParsedTable], problems: list[Problem]) -> None:
    """Columns declared ``references=file``: each value must be an id of that table.

    Skipped when that table could not be read completely (missing, or rows with
    the wrong number of fields): its ids are unknown, and those problems are reported already.
    """
    for col in parsed.table.columns:
        target = tables.get(col.references) if col.references else None
        if (target is None or not target.complete or col.name not in parsed.values
                or target.table.key[0] not in target.values):
            continue
        values = parsed.values[col.name]
        known = target.values[target.table.key[0]]
        unknown = (values != "") & ~pd.Series(values).isin(pd.Series(known)).to_numpy()
        report_rows(
            problems, parsed.display, col.name, parsed.lines[unknown], values[unknown],
            lambda text, col=col: f"'{text}' is not an id in {col.references}",
            f"unknown {col.name}",
        )


def show_value(value: Any) -> str:
    """A YAML value as the user wrote it, for messages."""
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _check_value(key: Key, value: Any) -> tuple[Any, str | None]:
    """Convert one YAML value for ``key``.

    Returns:
        ``(value, None)`` when valid (ints/floats/strings converted to the key's type),
        else ``(None, message)``.
    """
    shown = show_value(value)
    if value is None:
        return (None, None) if key.nullable else (None, f"value is empty (null); {key.rule()}")
    if key.type == "bool":
        return (value, None) if isinstance(value, bool) else (None, f"{shown} is not true or false; {key.rule()}")
    if key.type == "str":
        ok = isinstance(value, (str, int, float)) and not isinstance(value, bool)
        return (str(value), None) if ok else (None, f"{shown} is not text; {key.rule()}")
    if key.type == "mapping":
        return (value, None) if isinstance(value, dict) else (None, f"{shown} is not a mapping; {key.rule()}")
    if key.type == "enum":
        if isinstance(value, str) and value in key.choices:
            return value, None
        return None, f"{shown} is not a valid {key.leaf}; {key.rule()}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, f"{shown} is not a number; {key.rule()}"
    if not math.isfinite(value):
        return None, f"{shown} is not allowed (only finite numbers); {key.rule()}"
    if key.type == "int":
        if not float(value).is_integer():
            return None, f"{shown} is not a whole number; {key.rule()}"
        value = int(value)
    else:
        value = float(value)
    if not key.in_range(value):
        what = "is negative" if key.min == 0 and value < 0 else "is out of range"
        return None, f"{shown} {what}; {key.rule(with_type=False)}"
    return value, None


def _key_lines(node: yaml.Node | None, prefix: str, lines: dict[str, int], display: str,
               problems: list[Problem]) -> None:
    """Record the line of every mapping key (``a.b`` paths) and report keys written twice."""
    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        path = prefix + str(key_node.value)
        line = key_node.start_mark.line + 1
        if path in lines:
            problems.append(Problem(display, f"key '{key_node.value}' is written twice (first on line "
                                             f"{lines[path]}); remove one of them", line, path))
        lines[path] = line
        _key_lines(value_node, path + ".", lines, display, problems)  # e.g. rebalance.products.ELEC.excess_rate


def _unknown_key(path: str, section: str | None) -> str:
    """The message for an unknown key, suggesting the nearest known one."""
    leaf = path.split(".")[-1]
    siblings = [k.leaf for k in KEYS if k.section == section] + (list(SECTIONS) if section is None else [])
    close = difflib.get_close_matches(leaf, siblings, n=1)
    where = f" in '{section}:'" if section else ""
    if close:
        hint = f"did you mean '{close[0]}'? "
    else:
        leaves = {k.leaf: k for k in KEYS}
        elsewhere = difflib.get_close_matches(leaf, list(leaves), n=1)
        home = leaves[elsewhere[0]] if elsewhere else None
        hint = "" if home is None else (
            f"did you mean '{home.leaf}' under '{home.section}:'? " if home.section
            else f"did you mean '{home.leaf}' at the top level? "
        )
    return f"unknown key '{leaf}'{where}; {hint}known keys here: {', '.join(siblings)}"


def _read_yaml(path: Path, display: str, problems: list[Problem]) -> tuple[dict[str, Any], dict[str, int]] | None:
    """Parse network.yaml into a mapping and the line of each key; None (after a problem) if unusable."""
    loaded = load_yaml(path, display, problems)
    if loaded is None:
        return None
    doc, root = loaded
    if doc is None:
        return {}, {}
    if not isinstance(doc, dict):
        problems.append(Problem(display, f"must be a mapping of 'key: value' lines, found {show_value(doc)}", 1))
        return None
    lines: dict[str, int] = {}
    _key_lines(root, "", lines, display, problems)
    return doc, lines


def _read_settings(path: Path, display: str, problems: list[Problem], product_ids: list[str] | None = None
                   ) -> tuple[Settings, str | None]:
    """The Settings and dataset name from network.yaml (defaults when the file is absent); with the
    products.csv ids, ``rebalance.products`` is checked against them (:func:`rebalance_product_problems`).

    Returns:
        ``(settings, name)``; name is None when not given.  Problems are appended.
    """
    if not os.path.lexists(path):
        return Settings(), None
    parsed = _read_yaml(path, display, problems)
    if parsed is None:
        return Settings(), None
    doc, lines = parsed
    entries: list[tuple[str, Any, str | None]] = []
    for top, value in doc.items():
        if str(top) in SECTIONS:
            if value is None:
                continue
            if not isinstance(value, dict):
                problems.append(Problem(display, f"'{top}' must be a mapping of keys (indented below it), "
                                                 f"found {show_value(value)}", lines.get(str(top)), str(top)))
                continue
            entries += [(f"{top}.{leaf}", child, str(top)) for leaf, child in value.items()]
        else:
            entries.append((str(top), value, None))
    values: dict[str, Any] = {}
    for name, value, section in entries:
        key = _KEYS_BY_NAME.get(name)
        if key is None:
            problems.append(Problem(display, _unknown_key(name, section), lines.get(name), name))
            continue
        converted, message = _check_value(key, value)
        if message is not None:
            problems.append(Problem(display, message, lines.get(name), name))
        else:
            values[name] = converted
    _check_site_counts(values, lines, display, problems)
    if product_ids is not None:
        for field, message in rebalance_product_problems(product_ids, values.get("rebalance.products")):
            line = lines.get(field) or lines.get(field.rpartition(".")[0])
            problems.append(Problem(display, message, line, field))
    top = {k: v for k, v in values.items() if "." not in k and k != "name"}
    constraints = {k.split(".")[1]: v for k, v in values.items() if k.startswith("constraints.")}
    sections = {name: {k.split(".")[1]: v for k, v in values.items() if k.startswith(f"{name}.")}
                for name in ("solver", "transport", "inventory", "rebalance")}
    return Settings(**top, **constraints, solver=SolverSettings(**sections["solver"]),
                    transport=TransportSettings(**sections["transport"]),
                    inventory=InventorySettings(**sections["inventory"]),
                    rebalance=RebalanceSettings(**sections["rebalance"])), values.get("name")


def _check_site_counts(values: dict[str, Any], lines: dict[str, int], display: str, problems: list[Problem]) -> None:
    """min_sites <= max_sites, and exact_sites within them."""
    low, high, exact = (values.get(f"constraints.{k}") for k in ("min_sites", "max_sites", "exact_sites"))

    def add(name: str, message: str) -> None:
        path = f"constraints.{name}"
        problems.append(Problem(display, message, lines.get(path), path))

    if low is not None and high is not None and low > high:
        add("min_sites", f"min_sites ({low}) is greater than max_sites ({high}); min_sites must be <= max_sites")
    if exact is not None and low is not None and exact < low:
        add("exact_sites", f"exact_sites ({exact}) is less than min_sites ({low}); exact_sites must be >= min_sites")
    if exact is not None and high is not None and exact > high:
        add("exact_sites",
            f"exact_sites ({exact}) is greater than max_sites ({high}); exact_sites must be <= max_sites")
