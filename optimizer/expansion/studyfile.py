"""Read an expansion study file (a scenario-like YAML file with ``periods:``) and its ``expansion.csv``.

::

    name: demo-expansion
    base: demo                          # dataset folder, relative to this file
    settings: {...}                     # any scenario override: applied to every period first
    growth:                             # compact growth: rate per year, compounding
      demand:  [{where: {lon: {max: -100}}, rate: 0.08}, {regions: [R-austin-tx], rate: 0.12}]
      sites:   [{rate: {fixed_cost: 0.03}}]
    periods:
      - {name: "2027"}                  # years: 1 by default
      - {name: "2028", sites: {close: [DC-SEA]}}   # scenario overrides of this period
      - {name: "2029-30", years: 2}
    discount_rate: 0.08                 # per year
    budget: {per_period: 2.0e7, total: 5.0e7}      # capex, currency (per_period may map period -> amount)
    committed: [{site: DC-PHX, open: "2027"}, {site: DC-DAL, modules: 1, period: "2027"}]
    unmet_penalty: 500                  # currency per unit not served (else all demand is served)
    asset_life_years: 20                # straight-line life for the residual value of late capex
    expansion: expansion.csv            # per-site options (default: expansion.csv beside the file, if any)

Growth compounds from the start of the study: a period starting ``Y`` years in scales the
selection by ``(1 + rate) ** Y`` (demand: quantity and std; tables: the named columns), written
once for every period.  A period's network is the base, then the top-level overrides, then the
growth, then the period's own overrides (the scenario grammar of :mod:`optimizer.runs.overrides`).
Every problem names the file, line and key path (``periods[2].sites.ids[0]``, ``growth.demand[0].rate``);
problems of ``expansion.csv`` name its line and column.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import InputError, Problem
from optimizer.expansion.study import Committed, DemandPath, Study, StudyPeriod, Uncertainty
from optimizer.io.csvtable import parse_table
from optimizer.io.dataset import show_value
from optimizer.network import Network
from optimizer.runs.overrides import (META_KEYS, OVERRIDE_KEYS, YamlContext, apply_overrides, finite_number, join,
                                      merge_overrides, normalize_overrides, unknown_key)
from optimizer.runs.scenario import base_folder, read_base, read_yaml
from optimizer.schema import EXPANSION

#: Keys of a study file besides the scenario overrides.
STUDY_KEYS = ("periods", "growth", "discount_rate", "budget", "committed", "unmet_penalty", "asset_life_years",
              "expansion", "uncertainty")
#: Study keys a sweep run may set (replacing the study file's).
SWEEP_KEYS = ("budget", "discount_rate", "uncertainty")
#: Keys of ``uncertainty:``.
UNCERTAINTY_KEYS = ("paths", "shared_periods", "worst_case_weight")
#: Keys of one demand path.
PATH_KEYS = ("name", "probability", "growth", "demand", "periods")
#: Most demand paths.
MAX_PATHS = 20
#: Keys of one period besides its overrides.
PERIOD_KEYS = ("name", "years")
#: Sections the compact growth form may scale.
GROWTH_SECTIONS = ("demand", "sites", "products", "suppliers", "links")
#: Default straight-line asset life, years.
DEFAULT_ASSET_LIFE = 20.0
#: Most study periods.
MAX_PERIODS = 50


def is_study(path: str | Path) -> bool:
    """Whether ``path`` is a YAML file whose top-level mapping has a ``periods:`` key (unreadable files: no)."""
    path = Path(path)
    if path.suffix.lower() not in (".yaml", ".yml") or not path.is_file():
        return False
    try:
        doc, _ = read_yaml(path)
    except InputError:
        return False
    return "periods" in doc


def study_problems(path: str | Path) -> list[Problem]:
    """Every problem of the study at ``path`` (empty when it is valid), for ``optimizer validate``."""
    try:
        load_study(path)
    except InputError as error:
        return list(error.problems)
    return []


def load_study(path: str | Path, changes: dict[str, Any] | None = None, name: str | None = None) -> Study:
    """Read and check a study file, build every period's network and read its ``expansion.csv``.

    Args:
        path: The study YAML file.
        changes: A sweep run's changes: scenario overrides (normalized; applied after the file's
            own) and :data:`SWEEP_KEYS` (replacing the file's).
        name: The study's name instead of the file's (a sweep run's name).

    Returns:
        The validated study.

    Raises:
        InputError: Every problem found (file, line and key path, or CSV line and column).
    """
    path = Path(path)
    doc, ctx = read_yaml(path)
    changes = changes or {}
    doc.update({key: changes[key] for key in SWEEP_KEYS if key in changes})
    if name is not None:
        doc["name"] = name
    for key in doc:
        if key not in META_KEYS + OVERRIDE_KEYS + STUDY_KEYS:
            unknown_key(ctx, "", key, META_KEYS + OVERRIDE_KEYS + STUDY_KEYS)
    base_dir = base_folder(doc.get("base"), path, ctx) if "base" in doc else None
    if "base" not in doc:
        ctx.add("base", "missing key 'base': the dataset folder this study starts from, relative to this file")
    name = str(doc.get("name", path.stem)).strip()
    common = merge_overrides(normalize_overrides({k: doc[k] for k in OVERRIDE_KEYS if k in doc}, ctx, ""),
                             {k: changes[k] for k in OVERRIDE_KEYS if k in changes})
    periods = _periods(doc.get("periods"), ctx)
    growth = _growth(doc.get("growth"), ctx)
    rate = _number(doc, "discount_rate", ctx, 0.0, low=0.0, high=1.0)
    penalty = _number(doc, "unmet_penalty", ctx, None, low=0.0, high=1e15)
    life = _number(doc, "asset_life_years", ctx, DEFAULT_ASSET_LIFE, low=1e-9, high=1000.0)
    base = None
    if base_dir is not None:
        try:
            base = read_base(base_dir)
        except InputError as error:
            ctx.problems.extend(error.problems)
    if base is None or not periods:
        ctx.raise_if_any()  # the reason is recorded: no base dataset, or no periods
    common_net = apply_overrides(base, common, ctx, "")
    built = _build_periods(common_net, growth, periods, ctx, f"{name} ", str(path))
    names = [p.name for p in built]
    budget = _budget(doc.get("budget"), names, ctx)
    entries = _committed(doc.get("committed"), names, base, ctx)
    options = _options(doc.get("expansion"), path, names, base, ctx)
    _check_committed(entries, built, options, ctx)
    committed = [decision for _, decision in entries]
    uncertainty = None
    if doc.get("uncertainty") is not None:
        uncertainty = _uncertainty(doc["uncertainty"], common_net, growth, periods, ctx, name, str(path))
    ctx.problems[:] = list(dict.fromkeys(ctx.problems))  # growth problems repeat once per period
    ctx.raise_if_any()
    return Study(name=name, source=str(path), periods=tuple(built), options=options, discount_rate=float(rate),
                 budget_per_period=budget[0], budget_total=budget[1], committed=tuple(committed),
                 unmet_penalty=None if penalty is None else float(penalty), asset_life_years=float(life),
                 uncertainty=uncertainty, base_sites=base.sites[["status", "closing_cost"]].copy())


def _build_periods(common_net: Network, growth: dict[str, list[tuple[str, dict[str, Any], Any]]],
                   periods: list[tuple[str, int, dict[str, Any]]], ctx: YamlContext, label: str, source: str,
                   after_growth: dict[str, Any] | None = None, per_period: dict[str, dict[str, Any]] | None = None,
                   where: str = "") -> list[StudyPeriod]:
    """Each period's network: the common network, the growth, ``after_growth`` (a demand path's
    overrides), the period's own overrides, then ``per_period[name]`` (a path's overrides of the period)."""
    built: list[StudyPeriod] = []
    start = 0
    for k, (period_name, years, overrides) in enumerate(periods):
        net = apply_overrides(common_net, _grown(growth, start), ctx, join(where, "growth")) if growth else common_net
        if after_growth:
            net = apply_overrides(net, after_growth, ctx, where)
        net = apply_overrides(net, overrides, ctx, f"periods[{k}]")
        if per_period and period_name in per_period:
            net = apply_overrides(net, per_period[period_name], ctx, join(join(where, "periods"), period_name))
        built.append(StudyPeriod(period_name, years, start,
                                 dataclasses.replace(net, name=f"{label}{period_name}", source=source)))
        start += years
    return built


def _uncertainty(raw: Any, common_net: Network, growth: dict[str, list[tuple[str, dict[str, Any], Any]]],
                 periods: list[tuple[str, int, dict[str, Any]]], ctx: YamlContext, name: str,
                 source: str) -> Uncertainty | None:
    """``uncertainty:``: {paths: [{name, probability, growth: [demand growth entries], demand: <override>,
    periods: {<period>: {demand: <override>}}}], shared_periods: 1, worst_case_weight: 0}.

    A path's ``growth`` replaces the study's demand growth (``growth.demand``), in the same grammar;
    its ``demand`` override applies to every period after the growth, its ``periods`` overrides to
    the named periods last.  Paths change demand only, so that the expected path is well defined.
    """
    if not isinstance(raw, dict):
        ctx.add("uncertainty", f"{show_value(raw)} is not a mapping; write uncertainty: {{paths: [...], "
                               "shared_periods: 1}")
        return None
    for key in raw:
        if key not in UNCERTAINTY_KEYS:
            unknown_key(ctx, "uncertainty", key, UNCERTAINTY_KEYS)
    names = [p[0] for p in periods]
    shared = raw.get("shared_periods", 1)
    if not finite_number(shared) or not float(shared).is_integer() or not 1 <= shared <= len(names):
        ctx.add("uncertainty.shared_periods", f"{show_value(shared)} is not allowed; shared_periods must be a whole "
                                              f"number between 1 and the number of periods ({len(names)})")
        shared = 1
    weight = raw.get("worst_case_weight", 0.0)
    if not finite_number(weight) or not 0.0 <= float(weight) <= 1.0:
        ctx.add("uncertainty.worst_case_weight", f"{show_value(weight)} is not allowed; worst_case_weight must be "
                                                 "a number between 0 and 1")
        weight = 0.0
    entries = raw.get("paths")
    if not isinstance(entries, list) or not entries or len(entries) > MAX_PATHS:
        ctx.add("uncertainty.paths", f"{show_value(entries)} is not a list of 1 to {MAX_PATHS} demand paths; write "
                                     "paths: [{name: low, probability: 0.3, growth: [{rate: 0.02}]}, ...]")
        return None
    out: list[DemandPath] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = join("uncertainty.paths", i)
        if not isinstance(entry, dict):
            ctx.add(where, f"{show_value(entry)} is not a path; write {{name: ..., probability: ..., growth: [...]}}")
            continue
        for key in entry:
            if key not in PATH_KEYS:
                unknown_key(ctx, where, key, PATH_KEYS)
        path_name = _entry_name(entry, where, ctx, "path", "'high'", i, seen)
        probability = entry.get("probability")
        if not finite_number(probability) or not 0.0 < float(probability) <= 1.0:
            ctx.add(join(where, "probability"), f"{show_value(probability)} is not a probability (a number in (0, 1])")
            probability = 0.0
        path_growth = dict(growth)
        if "growth" in entry:
            path_growth.pop("demand", None)
            path_growth.update(_growth({"demand": entry["growth"]}, _Shifted(ctx, join(where, "growth"),
                                                                               "growth.demand")))
        after = normalize_overrides({"demand": entry["demand"]}, ctx, where) if "demand" in entry else None
        per_period: dict[str, dict[str, Any]] = {}
        raw_periods = entry.get("periods") or {}
        if not isinstance(raw_periods, dict):
            ctx.add(join(where, "periods"), f"{show_value(raw_periods)} is not a mapping of period: {{demand: ...}}")
            raw_periods = {}
        for period, overrides in raw_periods.items():
            at = join(join(where, "periods"), str(period))
            if str(period) not in names:
                unknown_key(ctx, join(where, "periods"), period, names, "period")
            elif not isinstance(overrides, dict) or set(overrides) - {"demand"}:
                ctx.add(at, f"{show_value(overrides)} is not allowed; a path changes demand only: write "
                            "{demand: <override>}")
            else:
                per_period[str(period)] = normalize_overrides(overrides, ctx, at)
        built = _build_periods(common_net, path_growth, periods, ctx, f"{name} [{path_name}] ", source, after,
                               per_period, where)
        out.append(DemandPath(path_name, float(probability), tuple(built)))
    total = sum(p.probability for p in out)
    if out and abs(total - 1.0) > 1e-6 and all(p.probability > 0 for p in out):
        ctx.add("uncertainty.paths", f"the paths' probabilities sum to {total:g}; they must sum to 1")
    return Uncertainty(tuple(out), int(shared), float(weight))


def _number(doc: dict[str, Any], key: str, ctx: YamlContext, default: float | None, *, low: float,
            high: float) -> float | None:
    """A top-level number within [low, high] (``default`` when absent or after a problem)."""
    if key not in doc or doc[key] is None:
        return default
    value = doc[key]
    if not finite_number(value) or not low <= float(value) <= high:
        ctx.add(key, f"{show_value(value)} is not allowed; {key} must be a number between {low:g} and {high:g}")
        return default
    return float(value)


def _periods(raw: Any, ctx: YamlContext) -> list[tuple[str, int, dict[str, Any]]]:
    """``periods:`` as (name, years, normalized overrides)."""
    if not isinstance(raw, list) or not raw:
        ctx.add("periods", f"{show_value(raw)} is not a list of study periods; write periods: [{{name: '2027'}}, ...]")
        return []
    if len(raw) > MAX_PERIODS:
        ctx.add("periods", f"{len(raw)} study periods; at most {MAX_PERIODS} are allowed")
        return []
    out: list[tuple[str, int, dict[str, Any]]] = []
    seen: set[str] = set()
    for k, entry in enumerate(raw):
        path = join("periods", k)
        if not isinstance(entry, dict):
            ctx.add(path, f"{show_value(entry)} is not a period; write {{name: '2027', years: 1, <overrides>}}")
            continue
        for key in entry:
            if key not in PERIOD_KEYS + OVERRIDE_KEYS:
                unknown_key(ctx, path, key, PERIOD_KEYS + OVERRIDE_KEYS)
        name = _entry_name(entry, path, ctx, "period", "'2027'", k, seen)
        years = entry.get("years", 1)
        if not finite_number(years) or not float(years).is_integer() or not 1 <= years <= 100:
            ctx.add(join(path, "years"), f"{show_value(years)} is not allowed; years must be a whole number "
                                         "between 1 and 100")
            years = 1
        overrides = normalize_overrides({k2: v for k2, v in entry.items() if k2 in OVERRIDE_KEYS}, ctx, path)
        out.append((name, int(years), overrides))
    return out


def _entry_name(entry: dict[str, Any], path: str, ctx: YamlContext, what: str, example: str, k: int,
                seen: set[str]) -> str:
    """The ``name`` of a period or path entry (text, unique among ``seen``, which it joins); ``#k+1`` when bad."""
    name = entry.get("name")
    if isinstance(name, bool) or not isinstance(name, (str, int)) or not str(name).strip():
        ctx.add(join(path, "name"), f"{show_value(name)} is not a {what} name (text such as {example})")
        name = f"#{k + 1}"
    name = str(name).strip()
    if name in seen:
        ctx.add(join(path, "name"), f"{what} name '{name}' is used twice")
    seen.add(name)
    return name


def _rate(value: Any, path: str, ctx: YamlContext) -> float | None:
    if not finite_number(value) or not -1.0 < float(value) <= 10.0:
        ctx.add(path, f"{show_value(value)} is not a growth rate; write a fraction per year above -1 "
                      "(0.06 = +6 % a year)")
        return None
    return float(value)


def _growth(raw: Any, ctx: YamlContext) -> dict[str, list[tuple[str, dict[str, Any], Any]]]:
    """``growth:`` as section -> [(path, entry without rate, rate or {column: rate})]."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        ctx.add("growth", f"{show_value(raw)} is not a mapping of section: [entries with rate]")
        return {}
    out: dict[str, list[tuple[str, dict[str, Any], Any]]] = {}
    for section, entries in raw.items():
        path = join("growth", str(section))
        if section not in GROWTH_SECTIONS:
            unknown_key(ctx, "growth", section, GROWTH_SECTIONS)
            continue
        entries = entries if isinstance(entries, list) else [entries]
        for i, entry in enumerate(entries):
            p = join(path, i) if isinstance(raw[section], list) else path
            if not isinstance(entry, dict) or "rate" not in entry:
                ctx.add(p, f"{show_value(entry)} is not a growth entry; write {{<selection>, rate: ...}}")
                continue
            rest = {k: v for k, v in entry.items() if k != "rate"}
            if section == "demand":
                rate = _rate(entry["rate"], join(p, "rate"), ctx)
            elif isinstance(entry["rate"], dict) and entry["rate"]:
                rate = {col: _rate(r, join(join(p, "rate"), str(col)), ctx) for col, r in entry["rate"].items()}
            else:
                ctx.add(join(p, "rate"), f"{show_value(entry['rate'])} is not a mapping of column: rate per year")
                continue
            # check the selection and columns once, with a neutral factor, in the scenario grammar
            probe = {**rest, "scale": 1.0 if section == "demand" else {c: 1.0 for c in rate}}
            normalize_overrides({section: [probe]}, _Shifted(ctx, p, f"{section}[0]"), "")
            out.setdefault(section, []).append((p, rest, rate))
    return out


class _Shifted(YamlContext):
    """A context that reports ``<prefix>.x`` problems (of a probe, or of a path's growth) at ``<path>.x``."""

    def __init__(self, ctx: YamlContext, path: str, prefix: str):
        super().__init__(ctx.file, ctx.lines, ctx.problems)
        self._prefix, self._path = prefix, path

    def add(self, path: str, message: str) -> None:
        super().add(self._path + path[len(self._prefix):] if path.startswith(self._prefix) else path, message)


def _grown(growth: dict[str, list[tuple[str, dict[str, Any], Any]]], years: int) -> dict[str, Any]:
    """The growth as normalized overrides for a period starting ``years`` into the study."""
    out: dict[str, Any] = {}
    for section, entries in growth.items():
        items = []
        for _, rest, rate in entries:
            if section == "demand":
                if rate is not None:
                    items.append({**rest, "scale": (1.0 + rate) ** years})
            elif all(r is not None for r in rate.values()):
                items.append({**rest, "scale": {c: (1.0 + r) ** years for c, r in rate.items()}})
        if items:
            out[section] = items
    return normalize_overrides(out, YamlContext("growth"), "")


def _budget(raw: Any, names: list[str], ctx: YamlContext) -> tuple[np.ndarray, float]:
    """``budget:`` (a number per period, or {per_period: number or {period: number}, total: number})."""
    per = np.full(len(names), np.inf)
    total = math.inf
    if raw is None:
        return per, total
    if finite_number(raw):
        raw = {"per_period": raw}
    if not isinstance(raw, dict):
        ctx.add("budget", f"{show_value(raw)} is not a budget; write budget: {{per_period: ..., total: ...}}")
        return per, total

    def amount(value: Any, path: str) -> float:
        if not finite_number(value) or value < 0:
            ctx.add(path, f"{show_value(value)} is not a budget; it must be a number >= 0 (currency)")
            return math.inf
        return float(value)

    for key, value in raw.items():
        path = join("budget", str(key))
        if key == "total":
            total = amount(value, path)
        elif key == "per_period" and isinstance(value, dict):
            for period, v in value.items():
                if str(period) not in names:
                    unknown_key(ctx, path, period, names, "period")
                else:
                    per[names.index(str(period))] = amount(v, join(path, str(period)))
        elif key == "per_period":
            per[:] = amount(value, path)
        else:
            unknown_key(ctx, "budget", key, ["per_period", "total"])
    return per, total


def _committed(raw: Any, names: list[str], base: Network, ctx: YamlContext) -> list[tuple[int, Committed]]:
    """``committed:``: [{site, open: period} | {site, close: period} | {site, modules: n, period}], each valid
    entry with its position in the list."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        ctx.add("committed", f"{show_value(raw)} is not a list of decisions")
        return []
    out = []
    for i, entry in enumerate(raw):
        path = join("committed", i)
        if not isinstance(entry, dict) or str(entry.get("site", "")) not in base.sites.index:
            what = show_value(entry.get("site")) if isinstance(entry, dict) else show_value(entry)
            ctx.add(join(path, "site") if isinstance(entry, dict) else path,
                    f"{what} is not a site id of the base dataset; write {{site: <id>, open: <period>}}, "
                    "{site: <id>, close: <period>} or {site: <id>, modules: <n>, period: <period>}")
            continue
        actions = [a for a in ("open", "close", "modules") if a in entry]
        unknown = [k for k in entry if k not in ("site", "open", "close", "modules", "period")]
        for key in unknown:
            unknown_key(ctx, path, key, ["site", "open", "close", "modules", "period"])
        if len(actions) != 1:
            ctx.add(path, "give exactly one of open: <period>, close: <period> or modules: <n> (with period:)")
            continue
        action = actions[0]
        period = entry.get("period") if action == "modules" else entry[action]
        key = "period" if action == "modules" else action
        if str(period) not in names:
            ctx.add(join(path, key), f"{show_value(period)} is not a study period; known: {', '.join(names)}")
            continue
        count = entry.get("modules", 0)
        if action == "modules" and (not finite_number(count) or not float(count).is_integer() or count < 1):
            ctx.add(join(path, "modules"), f"{show_value(count)} is not a number of modules (whole number >= 1)")
            continue
        out.append((i, Committed(str(entry["site"]), names.index(str(period)), action, int(count))))
    return out


def _check_committed(entries: list[tuple[int, Committed]], built: list[StudyPeriod], options: pd.DataFrame,
                     ctx: YamlContext) -> None:
    """Committed decisions that contradict each other or the study's data, each named at its entry: open and
    close of one site in one period; opening (or modules) where the period forces the site closed; opening
    in the first period a site that operates already, or closing there one that does not; more modules
    than expansion.csv's max_modules (or any where module_size is 0)."""
    seen: dict[tuple[str, int], tuple[str, int]] = {}
    modules: dict[str, int] = {}
    first = built[0].network.sites["status"]
    for i, decision in entries:
        path, site, name = join("committed", i), decision.site, built[decision.period].name
        earlier = seen.setdefault((site, decision.period), (decision.action, i))
        if {earlier[0], decision.action} == {"open", "close"}:
            ctx.add(path, f"site {site} is committed to both open and close in {name} (also committed[{earlier[1]}])")
        status = built[decision.period].network.sites.at[site, "status"]
        if decision.action != "close" and status == "forced_closed":
            what = "open" if decision.action == "open" else "buy modules"
            ctx.add(path, f"site {site} is forced closed in {name}, so it cannot {what} there")
        if decision.period == 0 and decision.action == "open" and first[site] in ("existing", "forced_open"):
            ctx.add(path, f"site {site} operates before the study ({first[site]}), so it cannot open in {name}")
        if decision.period == 0 and decision.action == "close" and first[site] == "candidate":
            ctx.add(path, f"site {site} is a candidate that does not operate before the study, so it cannot close "
                          f"in {name}")
        if decision.action == "modules":
            modules[site] = modules.get(site, 0) + decision.modules
            most = float(options.at[site, "max_modules"]) if float(options.at[site, "module_size"]) > 0 else 0.0
            if modules[site] > most:
                ctx.add(path, f"site {site} is committed to {modules[site]} module(s) in all, more than it may buy "
                              f"({most:g}: max_modules and module_size in expansion.csv)")


def _options(raw: Any, path: Path, names: list[str], base: Network, ctx: YamlContext) -> pd.DataFrame:
    """Per-site options from expansion.csv (every base site, defaults where not listed)."""
    sites = base.sites
    frame = pd.DataFrame({c.name: c.default for c in EXPANSION.columns if c.name != "site"}, index=sites.index)
    frame["earliest_close"] = 0
    frame["may_reopen"] = True
    if raw is not None and (not isinstance(raw, str) or not raw.strip()):
        ctx.add("expansion", f"{show_value(raw)} is not a file name; write expansion: expansion.csv")
        return frame
    file = path.parent / (raw.strip() if raw else EXPANSION.file)
    if raw is None and not file.exists():
        return frame
    problems: list[Problem] = []
    parsed = parse_table(EXPANSION, file, str(file), problems)
    if parsed is None or problems:
        ctx.problems.extend(problems)
        return frame
    values, lines = parsed.values, parsed.lines

    def bad(row: int, column: str, message: str) -> None:
        ctx.problems.append(Problem(str(file), message, int(lines[row]), column))

    seen: dict[str, int] = {}
    capacity = sites["capacity"].to_numpy(dtype=float)
    for row, site in enumerate(values["site"]):
        if site not in sites.index:
            bad(row, "site", f"'{site}' is not a site id of the base dataset (sites.csv)")
            continue
        if site in seen:
            bad(row, "site", f"duplicate site '{site}'; it is already used on line {int(lines[seen[site]])}")
            continue
        seen[site] = row
        for column in ("build_periods", "max_modules", "min_open_periods"):
            if not float(values[column][row]).is_integer():
                bad(row, column, f"{values[column][row]:g} is not a whole number; {EXPANSION.column(column).rule()}")
        close = values["earliest_close"][row]
        if close and close not in names:
            bad(row, "earliest_close", f"'{close}' is not a study period; known: {', '.join(names)}")
        if values["max_modules"][row] > 0 and values["module_size"][row] > 0 and \
                not np.isfinite(capacity[sites.index.get_loc(site)]):
            bad(row, "module_size", f"site '{site}' has unlimited capacity, so a module adds nothing; give it a "
                                    "capacity in sites.csv or set max_modules to 0")
        for column in ("opening_capex", "build_periods", "module_size", "module_capex", "max_modules",
                       "min_open_periods"):
            frame.at[site, column] = float(values[column][row])
        frame.at[site, "earliest_close"] = names.index(close) if close in names else 0
        frame.at[site, "may_reopen"] = values["may_reopen"][row] != "false"
    return frame
