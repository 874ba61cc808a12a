"""The override grammar of scenario and sweep files: check it, merge it, apply it to a network.

An override mapping changes a base network: scale demand (globally or by region, product or a
region attribute), set or scale columns of sites, products, suppliers (with their supply) and
links, force sites open or closed, scale every distance-based transport rate, and change
network.yaml settings and solver options.  ``docs/SCENARIOS.md`` is the reference.

:func:`normalize_overrides` checks keys, types and ranges without the data (normalizing is
idempotent, and the result is JSON-serialisable); :func:`apply_overrides` checks ids against
the data and returns a new network, never touching the tables it was given;
:func:`merge_overrides` stacks mappings (a sweep's common overrides, then a run's).  Every
problem is collected in a :class:`YamlContext` naming the file, line and key path
(``sites.ids[2]``).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd

from optimizer.errors import InputError, Problem
from optimizer.io.dataset import rebalance_product_problems, show_value
from optimizer.network import Network, Settings
from optimizer.schema import DEMAND, KEYS, LINKS, PRODUCTS, REGIONS, SECTIONS, SITES, SUPPLIERS, SUPPLY, Column, Key, Table


#: Keys describing a scenario file rather than changing the network.
META_KEYS = ("base", "name", "description")
#: Keys that change the network (the overrides).
OVERRIDE_KEYS = ("demand", "sites", "products", "suppliers", "links", "shipping_cost_scale", "settings", "solver")

_SETTING_KEYS = {k.name: k for k in KEYS if k.section != "solver" and k.name != "name"}
_SETTING_ALIASES = {k.leaf: k.name for k in _SETTING_KEYS.values() if k.section in (None, "constraints")}
_SOLVER_KEYS = {k.leaf: k for k in KEYS if k.section == "solver"}


@dataclass(frozen=True)
class _Section:
    """How the entries of one table override section look."""

    name: str
    tables: tuple[Table, ...]      # tables whose non-key columns set/scale may change
    selectors: tuple[str, ...]     # keys holding lists of ids / key values
    where: Table | None            # table whose columns ``where:`` may test
    extras: tuple[str, ...] = ()   # further keys (open, close, remove)


_SECTIONS = {
    "sites": _Section("sites", (SITES,), ("ids",), SITES, ("open", "close")),
    "products": _Section("products", (PRODUCTS,), ("ids",), PRODUCTS),
    "links": _Section("links", (LINKS,), ("from", "to", "mode"), LINKS, ("remove",)),
    "suppliers": _Section("suppliers", (SUPPLIERS, SUPPLY), ("ids", "products"), None, ("remove",)),
}
_DEMAND_KEYS = ("regions", "products", "where", "scale", "std_scale")


@dataclass
class YamlContext:
    """Problems found in one YAML file, with the line of every key path.

    Attributes:
        file: The file as shown in messages.
        lines: Line of each key path (``sites.ids[2]``), 1-based.
        problems: Problems collected so far.
    """

    file: str
    lines: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        """Record a problem at a key path (the line is that of the path or its nearest parent)."""
        probe = path
        while probe and probe not in self.lines:  # drop the last key, index or bracketed name (grid[d=x])
            shorter = re.sub(r"(\.[^.\[]*|\[[^\[\]]*\]|^[^.\[]*)$", "", probe)
            if shorter == probe:
                break
            probe = shorter
        self.problems.append(Problem(self.file, message, self.lines.get(probe), path or None))

    def raise_if_any(self) -> None:
        """Raise the problems collected so far.

        Raises:
            InputError: At least one problem was recorded.
        """
        if self.problems:
            raise InputError(self.problems)


def join(prefix: str, key: str | int) -> str:
    """Key path of ``key`` below ``prefix`` (``a.b``, ``a[2]``)."""
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else str(key)


def unknown_key(ctx: YamlContext, path: str, key: Any, known: tuple[str, ...] | list[str], what: str = "key") -> None:
    """Report an unknown key (or column), suggesting the nearest known one."""
    close = difflib.get_close_matches(str(key), list(known), n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    ctx.add(join(path, str(key)), f"unknown {what} '{key}'; {hint}known {what}s here: {', '.join(known)}")



def merge_overrides(*parts: dict[str, Any]) -> dict[str, Any]:
    """Combine normalized override mappings, later ones applied after earlier ones.

    Table sections become lists of entries applied in order, ``settings`` and ``solver`` keys
    of later parts replace earlier ones, and ``shipping_cost_scale`` factors multiply.

    Args:
        *parts: Normalized override mappings.

    Returns:
        One override mapping (the inputs are not modified).
    """
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            value = copy.deepcopy(value)
            if key not in out:
                out[key] = value
            elif key in ("settings", "solver"):
                out[key] = {**out[key], **value}
            elif key == "shipping_cost_scale":
                out[key] = out[key] * value
            else:
                out[key] = _as_list(out[key]) + _as_list(value)
    return out


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _entries(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(path, entry) of a section written as one mapping or a list of mappings."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield join(path, i), item
    else:
        yield path, value


# ---------------------------------------------------------------------------------------------
# Normalizing: structure, keys, types and ranges (no data needed)
# ---------------------------------------------------------------------------------------------

def normalize_overrides(raw: Any, ctx: YamlContext, prefix: str) -> dict[str, Any]:
    """Check the structure of an override mapping and convert its values to canonical form.

    Args:
        raw: The mapping as read from YAML (or an already normalized one: normalizing is idempotent).
        ctx: Collects problems.
        prefix: Key path of the mapping in its file (``""`` at the top, ``runs[3]`` in a sweep).

    Returns:
        The normalized mapping (problems are recorded in ``ctx``).
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        ctx.add(prefix, f"overrides must be a mapping, found {show_value(raw)}")
        return {}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        path = join(prefix, str(key))
        if key == "demand":
            out[key] = _each(value, path, ctx, _demand_entry)
        elif key in _SECTIONS:
            out[key] = _each(value, path, ctx, lambda e, p, c, s=_SECTIONS[key]: _table_entry(s, e, p, c))
        elif key == "shipping_cost_scale":
            out[key] = _factor(value, path, ctx)
        elif key == "settings":
            out[key] = _settings(value, path, ctx)
        elif key == "solver":
            out[key] = _solver(value, path, ctx)
        else:
            unknown_key(ctx, prefix, key, OVERRIDE_KEYS)
    return out


def _each(value: Any, path: str, ctx: YamlContext, one: Any) -> Any:
    """Normalize a section that is one entry mapping or a list of them, keeping its shape."""
    if not isinstance(value, (dict, list)) or (isinstance(value, list) and not value):
        ctx.add(path, f"{show_value(value)} is not a change: write a mapping, or a list of mappings")
        return value
    done = []
    for p, entry in _entries(value, path):
        if isinstance(entry, dict):
            done.append(one(entry, p, ctx))
        else:
            ctx.add(p, f"{show_value(entry)} is not a mapping")
    return done if isinstance(value, list) else (done or [{}])[0]


def finite_number(value: Any) -> bool:
    """Whether ``value`` is an int or float (not a bool) that is a finite float (huge ints are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _checked(ctx: YamlContext, convert: Callable[[], Any]) -> tuple[bool, Any]:
    """Run one conversion; ``(True, value)`` when it recorded no problem, else ``(False, value)``.

    Invalid values are left out of the normalized overrides, so that applying them can still
    check everything else (every problem of a file is reported in one pass).
    """
    before = len(ctx.problems)
    value = convert()
    return len(ctx.problems) == before, value


def _factor(value: Any, path: str, ctx: YamlContext) -> float:
    ok = finite_number(value) and value >= 0
    if not ok:
        ctx.add(path, f"{show_value(value)} is not a scale factor; it must be a number >= 0 (1 = unchanged)")
        return 1.0
    return float(value)


def _ids(value: Any, path: str, ctx: YamlContext) -> list[str]:
    if not isinstance(value, list):
        ctx.add(path, f"{show_value(value)} is not a list of ids; write [id1, id2, ...]")
        return []
    out = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            ctx.add(join(path, i), f"{show_value(item)} is not an id (text)")
        else:
            out.append(str(item).strip())
    return out


def _column_value(col: Column, value: Any, path: str, ctx: YamlContext) -> Any:
    """A table cell value converted to the column's type (floats; ``inf`` kept as the text 'inf')."""
    if col.type == "float":
        if col.allow_inf and (value == "inf" or (isinstance(value, float) and value == math.inf)):
            return "inf"
        if not finite_number(value):
            ctx.add(path, f"{show_value(value)} is not allowed; {col.rule()}")
        elif not col.in_range(float(value)):
            ctx.add(path, f"{show_value(value)} is out of range; {col.rule(with_type=False)}")
        else:
            return float(value)
    elif col.type == "enum":
        if value in col.choices:
            return value
        ctx.add(path, f"{show_value(value)} is not a valid {col.name}; {col.rule()}")
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    else:
        ctx.add(path, f"{show_value(value)} is not text; {col.name} must be text")
    return None


def _changeable(tables: tuple[Table, ...]) -> dict[str, Column]:
    return {c.name: c for t in tables for c in t.columns if c.name not in t.key}


def _where(value: Any, table: Table, path: str, ctx: YamlContext) -> dict[str, dict[str, Any]]:
    """``where:`` conditions: column -> value, list of values, or {min, max, matches, in}."""
    if not isinstance(value, dict) or not value:
        ctx.add(path, f"{show_value(value)} is not a mapping of column: condition")
        return {}
    columns = {c.name: c for c in table.columns}
    out: dict[str, dict[str, Any]] = {}
    for name, cond in value.items():
        p = join(path, str(name))
        col = columns.get(name)
        if col is None:
            unknown_key(ctx, path, name, list(columns), "column")
            continue
        cond = cond if isinstance(cond, dict) else {"in": cond if isinstance(cond, list) else [cond]}
        numeric = col.type == "float"
        norm: dict[str, Any] = {}
        for op, arg in cond.items():
            if op == "in" and isinstance(arg, list):
                items = [_checked(ctx, lambda v=v, i=i: _column_value(col, v, join(join(p, op), i), ctx))
                         for i, v in enumerate(arg)]
                norm[op] = [v for ok, v in items if ok]
            elif op in ("min", "max") and numeric:
                ok, bound = _checked(ctx, lambda: _column_value(dataclasses.replace(col, min=None, max=None),
                                                                arg, join(p, op), ctx))
                if ok:
                    norm[op] = bound
            elif op == "matches" and not numeric and isinstance(arg, str):
                try:
                    re.compile(arg)
                    norm[op] = arg
                except re.error as exc:
                    ctx.add(join(p, op), f"'{arg}' is not a regular expression: {exc}")
            else:
                known = "in, min, max" if numeric else "in, matches (a regular expression)"
                ctx.add(join(p, str(op)), f"'{op}: {show_value(arg)}' is not a condition on {name}; use {known}")
        out[str(name)] = norm
    return out


def _demand_entry(entry: dict[str, Any], path: str, ctx: YamlContext) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in entry.items():
        p = join(path, str(key))
        if key in ("regions", "products"):
            out[key] = _ids(value, p, ctx)
        elif key == "where":
            out[key] = _where(value, REGIONS, p, ctx)
        elif key in ("scale", "std_scale"):
            out[key] = _factor(value, p, ctx)
        else:
            unknown_key(ctx, path, key, _DEMAND_KEYS)
    if "scale" not in out and "std_scale" not in out:
        ctx.add(path, "nothing to change: give scale (demand quantity factor) and/or std_scale")
    return out


def _table_entry(section: _Section, entry: dict[str, Any], path: str, ctx: YamlContext) -> dict[str, Any]:
    known = section.selectors + (("where",) if section.where else ()) + ("set", "scale") + section.extras
    columns = _changeable(section.tables)
    out: dict[str, Any] = {}
    for key, value in entry.items():
        p = join(path, str(key))
        id_list = key in ("open", "close") or (key == "remove" and section.name == "suppliers")
        if key in section.selectors or (id_list and key in section.extras):
            out[key] = _ids(value, p, ctx)
        elif key == "remove" and "remove" in section.extras:
            if not isinstance(value, bool):
                ctx.add(p, f"{show_value(value)} is not true or false")
            out[key] = bool(value)
        elif key == "where" and section.where is not None:
            out[key] = _where(value, section.where, p, ctx)
        elif key in ("set", "scale") and isinstance(value, dict) and value:
            out[key] = {}
            for name, v in value.items():
                col = columns.get(name)
                if col is None or (key == "scale" and col.type != "float"):
                    kind = [c for c, d in columns.items() if key == "set" or d.type == "float"]
                    unknown_key(ctx, p, name, kind, "column")
                else:
                    q = join(p, str(name))
                    ok, converted = _checked(ctx, lambda: _column_value(col, v, q, ctx) if key == "set"
                                             else _factor(v, q, ctx))
                    if ok:
                        out[key][name] = converted
        elif key in ("set", "scale"):
            ctx.add(p, f"{show_value(value)} is not a mapping of column: {'value' if key == 'set' else 'factor'}")
        else:
            unknown_key(ctx, path, key, known)
    if not any(k in out for k in ("set", "scale") + section.extras):
        ctx.add(path, f"nothing to change: give {', '.join(('set', 'scale') + section.extras)}")
    both = set(out.get("open", [])) & set(out.get("close", []))
    if both:
        ctx.add(path, f"site(s) {', '.join(sorted(both))} are both in open and close")
    return out


def _key_value(key: Key, value: Any, path: str, ctx: YamlContext) -> Any:
    """A settings value converted to the key's type (None after a problem or when null)."""
    if value is None:
        if not key.nullable:
            ctx.add(path, f"value is empty (null); {key.rule()}")
        return None
    if key.type == "bool":
        if not isinstance(value, bool):
            ctx.add(path, f"{show_value(value)} is not true or false; {key.rule()}")
        return value
    if key.type in ("enum", "str"):
        if not isinstance(value, str) or (key.type == "enum" and value not in key.choices):
            ctx.add(path, f"{show_value(value)} is not a valid {key.leaf}; {key.rule()}")
        return value
    if key.type == "mapping":  # checked against the tables once they are known (see apply_overrides)
        if not isinstance(value, dict):
            ctx.add(path, f"{show_value(value)} is not a mapping; {key.rule()}")
            return None
        return value
    if not finite_number(value):
        ctx.add(path, f"{show_value(value)} is not a number; {key.rule()}")
        return None
    if key.type == "int" and not float(value).is_integer():
        ctx.add(path, f"{show_value(value)} is not a whole number; {key.rule()}")
        return None
    if not key.in_range(float(value)):
        ctx.add(path, f"{show_value(value)} is out of range; {key.rule(with_type=False)}")
    return int(value) if key.type == "int" else float(value)


def _settings(value: Any, path: str, ctx: YamlContext) -> dict[str, Any]:
    """Settings by network.yaml name (``exact_sites`` or ``constraints.exact_sites``; ``transport: {...}``)."""
    if not isinstance(value, dict):
        ctx.add(path, f"{show_value(value)} is not a mapping of network.yaml settings")
        return {}
    flat: list[tuple[str, str, Any]] = []
    for key, child in value.items():
        if key in SECTIONS and key != "solver" and isinstance(child, dict):
            flat += [(f"{key}.{leaf}", join(join(path, key), str(leaf)), v) for leaf, v in child.items()]
        else:
            flat.append((str(key), join(path, str(key)), child))
    out: dict[str, Any] = {}
    for name, p, child in flat:
        full = _SETTING_ALIASES.get(name, name)
        if full not in _SETTING_KEYS:
            section, _, leaf = name.rpartition(".")
            known = ([k.split(".")[1] for k in _SETTING_KEYS if k.startswith(section + ".")] if section
                     else sorted(_SETTING_ALIASES) + ["transport", "inventory"])
            hint = " (solver options go under the top-level 'solver:' key)" if name == "solver" else ""
            ctx.add(p, f"unknown setting '{leaf}'{hint}; known here: {', '.join(known)}")
            continue
        ok, converted = _checked(ctx, lambda: _key_value(_SETTING_KEYS[full], child, p, ctx))
        if ok:
            out[full] = converted
    return out


def _solver(value: Any, path: str, ctx: YamlContext) -> dict[str, Any]:
    if not isinstance(value, dict):
        ctx.add(path, f"{show_value(value)} is not a mapping of solver options ({', '.join(_SOLVER_KEYS)})")
        return {}
    out: dict[str, Any] = {}
    for key, child in value.items():
        if key in _SOLVER_KEYS:
            ok, converted = _checked(ctx, lambda: _key_value(_SOLVER_KEYS[key], child, join(path, key), ctx))
            if ok:
                out[key] = converted
        else:
            unknown_key(ctx, path, key, list(_SOLVER_KEYS))
    return out


# ---------------------------------------------------------------------------------------------
# Applying: ids and values checked against the data; a new Network, the base left untouched
# ---------------------------------------------------------------------------------------------

def apply_overrides(network: Network, overrides: dict[str, Any], ctx: YamlContext, prefix: str) -> Network:
    """Apply normalized overrides to a copy of ``network``.

    Args:
        network: The network to start from (not modified).
        overrides: Normalized overrides (:func:`normalize_overrides`).
        ctx: Collects problems (unknown ids, values out of range after scaling ...).
        prefix: Key path of the overrides in their file.

    Returns:
        The new network (meaningful only when ``ctx`` holds no problems).
    """
    tables = {f.name: getattr(network, f.name).copy() for f in dataclasses.fields(network)
              if isinstance(getattr(network, f.name), pd.DataFrame)}
    unit_cost = None if network.unit_shipping_cost is None else network.unit_shipping_cost.copy()
    settings = _apply_settings(network.settings, overrides, ctx, prefix)
    for name in ("products", "sites", "links", "suppliers"):
        for path, entry in _entries(overrides.get(name, []), join(prefix, name)):
            _apply_table_entry(_SECTIONS[name], tables, entry, path, ctx)
    factor = overrides.get("shipping_cost_scale", 1.0)
    if factor != 1.0:  # after the other changes: a rate they set is scaled too (fuel is the last word)
        tables["products"]["shipping_cost_per_km"] *= factor
        unit_cost = None if unit_cost is None else unit_cost * factor
        if "links" in tables:
            tables["links"]["cost_per_volume_km"] *= factor
        settings = dataclasses.replace(settings, transport=dataclasses.replace(
            settings.transport, cost_per_volume_km=settings.transport.cost_per_volume_km * factor))
    if "sites" in overrides:
        _fix_closing_costs(network.sites, tables["sites"], ctx, join(prefix, "sites"))
    if "rebalance.products" in overrides.get("settings", {}):  # a scenario's own mapping, checked on its products
        for field, message in rebalance_product_problems([str(i) for i in tables["products"].index],
                                                         settings.rebalance.products):
            ctx.add(join(join(prefix, "settings"), field), message)
    for path, entry in _entries(overrides.get("demand", []), join(prefix, "demand")):
        _apply_demand(tables, entry, path, ctx)
    return dataclasses.replace(network, **tables, settings=settings, unit_shipping_cost=unit_cost)


def _apply_settings(settings: Settings, overrides: dict[str, Any], ctx: YamlContext, prefix: str) -> Settings:
    values = {**overrides.get("settings", {}), **{f"solver.{k}": v for k, v in overrides.get("solver", {}).items()}}
    top = {k.split(".")[-1]: v for k, v in values.items() if "." not in k or k.startswith("constraints.")}
    # every other network.yaml section (solver, transport, inventory ...) is a nested Settings dataclass
    nested = {s: dataclasses.replace(getattr(settings, s), **{k.split(".")[1]: v for k, v in values.items()
                                                             if k.startswith(s + ".")})
              for s in SECTIONS if s != "constraints"}
    out = dataclasses.replace(settings, **top, **nested)
    low, high, exact = out.min_sites, out.max_sites, out.exact_sites
    path = join(prefix, "settings")
    if low is not None and high is not None and low > high:
        ctx.add(path, f"min_sites ({low}) is greater than max_sites ({high}) after the overrides")
    for name, bound, ok in (("min_sites", low, lambda e, b: e >= b), ("max_sites", high, lambda e, b: e <= b)):
        if exact is not None and bound is not None and not ok(exact, bound):
            ctx.add(path, f"exact_sites ({exact}) conflicts with {name} ({bound}) after the overrides; "
                          f"set {name} to null as well")
    return out


def _mask_of(values: pd.Series | pd.Index, cond: dict[str, Any]) -> np.ndarray:
    mask = np.ones(len(values), dtype=bool)
    series = pd.Series(np.asarray(values, dtype=object))
    if "in" in cond:
        wanted = [math.inf if v == "inf" else v for v in cond["in"]]
        mask &= series.isin(wanted).to_numpy()
    if "min" in cond:
        mask &= (series.astype(float) >= float(cond["min"])).to_numpy()
    if "max" in cond:
        mask &= (series.astype(float) <= float(cond["max"])).to_numpy()
    if "matches" in cond:
        pattern = re.compile(cond["matches"])
        mask &= np.fromiter((pattern.search(str(v)) is not None for v in series), dtype=bool, count=len(series))
    return mask


def _where_mask(df: pd.DataFrame, where: dict[str, dict[str, Any]]) -> np.ndarray:
    mask = np.ones(len(df), dtype=bool)
    for name, cond in where.items():
        mask &= _mask_of(df.index if name == df.index.name or name == "id" else df[name], cond)
    return mask


def _known(values: pd.Series | pd.Index, ids: list[str], path: str, what: str, ctx: YamlContext) -> np.ndarray:
    """Rows whose value is one of ``ids``; unknown ids are reported."""
    present = set(map(str, values))
    for i, item in enumerate(ids):
        if item not in present:
            close = difflib.get_close_matches(item, sorted(present), n=1)
            ctx.add(join(path, i), f"unknown {what} '{item}'" + (f"; did you mean '{close[0]}'?" if close else ""))
    return np.asarray(pd.Series(np.asarray(values, dtype=object)).isin(ids), dtype=bool)


def _apply_table_entry(section: _Section, tables: dict[str, pd.DataFrame | None], entry: dict[str, Any],
                       path: str, ctx: YamlContext) -> None:
    name = section.name
    df = tables.get(name)
    if df is None:
        ctx.add(path, f"the base dataset has no {section.tables[0].file}, so there are no {name} to change")
        return
    if name == "suppliers":
        _apply_suppliers(tables, entry, path, ctx)
        return
    mask = np.ones(len(df), dtype=bool)
    for key in section.selectors:
        if key in entry:
            values = df.index if key == "ids" else df[key]
            what = f"{name[:-1]} id" if key == "ids" else f"link '{key}'"
            mask &= _known(values, entry[key], join(path, key), what, ctx)
    if "where" in entry:
        mask &= _where_mask(df, entry["where"])
    if not mask.any() and any(k in entry for k in section.selectors + ("where",)):
        ctx.add(path, f"selects no {name}")
    _set_and_scale(df, mask, entry, section.tables[0], path, ctx)
    if name == "sites":
        for key, status in (("open", "forced_open"), ("close", "forced_closed")):
            if entry.get(key):
                df.loc[_known(df.index, entry[key], join(path, key), "site id", ctx), "status"] = status
    if entry.get("remove") is True:
        tables[name] = df.loc[~mask].reset_index(drop=True)


def _set_and_scale(df: pd.DataFrame, mask: np.ndarray, entry: dict[str, Any], table: Table, path: str,
                   ctx: YamlContext) -> None:
    """Set and scale the columns of ``table`` present in the entry, on the rows of ``mask``."""
    for name, value in entry.get("set", {}).items():
        if name in table.frame_columns:
            df.loc[mask, name] = math.inf if value == "inf" else value
    for name, factor in entry.get("scale", {}).items():
        if name not in table.frame_columns:
            continue
        col = table.column(name)
        old = df[name].to_numpy(dtype=float)
        blank = mask & np.isnan(old)
        if blank.any():  # a blank cell takes a default the table does not hold: scaling it would change nothing
            row = _row_name(df, table, int(np.flatnonzero(blank)[0]))
            ctx.add(join(join(path, "scale"), name), f"{name} of {row} is blank (its default applies), so scaling "
                                                      "it would change nothing; set a value instead")
        with np.errstate(invalid="ignore"):
            new = np.where(mask, old * factor, old)  # inf x 0 gives NaN, reported below
        bad = mask & ((np.isnan(new) & ~np.isnan(old)) | _out_of_range(col, new))
        if bad.any():
            row = _row_name(df, table, int(np.flatnonzero(bad)[0]))
            ctx.add(join(join(path, "scale"), name), f"scaling by {factor:g} makes {name} of {row} {new[bad][0]:g}; "
                                                      f"{col.rule(with_type=False)}")
        df[name] = new


def _row_name(df: pd.DataFrame, table: Table, i: int) -> str:
    """Row ``i`` of ``df`` as messages name it: its id, or its key columns (``from SUP2, to S1, mode road``)."""
    if table.indexed:
        return str(df.index[i])
    return "the row " + ", ".join(f"{name} {df[name].iloc[i]}" for name in table.key) if table.key else f"row {i + 1}"


def _out_of_range(col: Column, values: np.ndarray) -> np.ndarray:
    """Values outside the column's bounds (NaN counts as inside; inf only where allowed)."""
    with np.errstate(invalid="ignore"):
        bad = np.isinf(values) if not col.allow_inf else np.zeros(len(values), dtype=bool)
        if col.min is not None:
            bad |= values < col.min if col.min_inclusive else values <= col.min
        if col.max is not None:
            finite = ~np.isinf(values)  # an allowed inf (unlimited) is not above the bound
            bad |= finite & (values > col.max if col.max_inclusive else values >= col.max)
    return bad


def _apply_suppliers(tables: dict[str, Any], entry: dict[str, Any], path: str, ctx: YamlContext) -> None:
    suppliers, supply = tables["suppliers"], tables.get("supply")
    if entry.get("remove"):
        gone = _known(suppliers.index, entry["remove"], join(path, "remove"), "supplier id", ctx)
        if gone.all():
            ctx.add(join(path, "remove"), "removes every supplier, which would make every open site its own "
                                          "source; keep at least one supplier, or use a base dataset without "
                                          "suppliers.csv")
        removed = set(suppliers.index[gone])
        tables["suppliers"] = suppliers.loc[~gone]
        if supply is not None:
            tables["supply"] = supply.loc[~supply["supplier"].isin(removed)].reset_index(drop=True)
        if tables.get("links") is not None:
            links = tables["links"]
            tables["links"] = links.loc[~links["from"].isin(removed)].reset_index(drop=True)
        return
    ids = entry.get("ids")
    rows = (_known(suppliers.index, ids, join(path, "ids"), "supplier id", ctx) if ids is not None
            else np.ones(len(suppliers), dtype=bool))
    _set_and_scale(suppliers, rows, entry, SUPPLIERS, path, ctx)
    if supply is not None:
        mask = np.array(supply["supplier"].isin(suppliers.index[rows]), dtype=bool)
        if "products" in entry:
            mask &= _known(supply["product"], entry["products"], join(path, "products"), "supplied product", ctx)
            if not mask.any() and rows.any():
                ctx.add(join(path, "products"), "selects no supply rows: the selected suppliers supply none of "
                                                "these products")
        _set_and_scale(supply, mask, entry, SUPPLY, path, ctx)


def _fix_closing_costs(before: pd.DataFrame, after: pd.DataFrame, ctx: YamlContext, path: str) -> None:
    """Existing sites forced open lose their closing cost (they cannot close); other misplaced ones are errors.

    An existing site forced closed keeps it: the scenario closes it and pays for that.
    """
    kept_open = (before["status"] == "existing").to_numpy() & (after["status"] == "forced_open").to_numpy()
    after.loc[kept_open, "closing_cost"] = 0.0
    allowed = after["status"].isin(["existing", "forced_closed"]).to_numpy()
    bad = (after["closing_cost"].to_numpy(dtype=float) != 0) & ~allowed
    for site in after.index[bad]:
        ctx.add(path, f"site '{site}' has a nonzero closing_cost but status '{after.at[site, 'status']}'; "
                      "closing_cost applies only to existing and forced_closed sites")


def _apply_demand(tables: dict[str, Any], entry: dict[str, Any], path: str, ctx: YamlContext) -> None:
    demand, regions = tables["demand"], tables["regions"]
    mask = np.ones(len(demand), dtype=bool)
    if "regions" in entry:
        _known(regions.index, entry["regions"], join(path, "regions"), "region id", ctx)
        mask &= demand["region"].isin(entry["regions"]).to_numpy()
    if "products" in entry:
        _known(tables["products"].index, entry["products"], join(path, "products"), "product id", ctx)
        mask &= demand["product"].isin(entry["products"]).to_numpy()
    if "where" in entry:
        mask &= demand["region"].isin(regions.index[_where_mask(regions, entry["where"])]).to_numpy()
    if not mask.any():
        ctx.add(path, "selects no demand rows")
    scale = entry.get("scale", 1.0)
    for name, factor, key in (("quantity", scale, "scale"), ("std", entry.get("std_scale", scale),
                                                             "std_scale" if "std_scale" in entry else "scale")):
        old = demand[name].to_numpy(dtype=float)
        new = np.where(mask, old * factor, old)
        bad = mask & _out_of_range(DEMAND.column(name), new)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            ctx.add(join(path, key), f"scaling by {factor:g} makes the demand {name} of region "
                                     f"'{demand['region'].iat[row]}', product '{demand['product'].iat[row]}' "
                                     f"{new[row]:g}; {DEMAND.column(name).rule(with_type=False)}")
        demand[name] = new


# ---------------------------------------------------------------------------------------------
# Hashing
