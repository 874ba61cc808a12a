"""Sweeps: many scenarios against one base dataset, from one YAML file.

A sweep file names its base dataset and lists its runs in three ways, combined::

    name: demo-sweep
    base: demo                      # relative to this file (or an expansion study file)
    overrides: {solver: {threads: 1}}   # applied to every run, first
    runs:                           # named runs
      - {name: demand+20%, demand: {scale: 1.2}}
    grid:                           # cartesian product: names like demand=high,rents=up
      demand: {low: {demand: {scale: 0.9}}, high: {demand: {scale: 1.2}}}
      rents: {flat: {}, up: {sites: {scale: {fixed_cost: 1.1}}}}
    generate:
      - n_minus_1: {sites: existing}    # close=DC-SEA, ... one per site
      - n_plus_1: {sites: candidates}   # open=DC-PDX, ... one per site (the mirror)
      - p_range: {from: 5, to: 15}      # p=5 ... p=15 (exact_sites)

A run named ``base`` (the common overrides alone) comes first unless ``include_base: false``.
When ``base:`` is an expansion study file (a YAML file with ``periods:``), every run is that study
with the run's overrides applied to every period, and a run may also set ``budget``,
``discount_rate`` and ``uncertainty`` (replacing the study's).
Every fragment is checked against the base dataset when the file is loaded, so problems name the
file, line and key path (``runs[3].sites.ids[0]``).  Names are unique; a repeated name is an error.
A sweep has at most :data:`MAX_RUNS` runs: grids and generators are counted before they are
expanded, so a typo such as ``p_range: {from: 1, to: 1000000}`` is refused at once.
"""

from __future__ import annotations

import functools
import itertools
import math
from pathlib import Path
from typing import Any

from optimizer.errors import InputError
from optimizer.expansion.studyfile import SWEEP_KEYS as STUDY_RUN_KEYS
from optimizer.expansion.studyfile import is_study, load_study
from optimizer.io.dataset import show_value
from optimizer.network import Network
from optimizer.runs.overrides import (OVERRIDE_KEYS, YamlContext, apply_overrides, join, merge_overrides,
                                 normalize_overrides, unknown_key)
from optimizer.runs.scenario import Scenario, base_folder, read_base, read_yaml

#: Top-level keys of a sweep file.
SWEEP_KEYS = ("name", "base", "description", "include_base", "overrides", "runs", "grid", "generate")
#: Generators understood under ``generate:``.
GENERATORS = ("n_minus_1", "n_plus_1", "p_range")
#: Name of the run with the common overrides only.
BASE_RUN = "base"
#: Most runs a sweep may have (split bigger studies into several sweeps).
MAX_RUNS = 10_000


def load_sweep(path: str | Path) -> tuple[str, list[Scenario]]:
    """Read a sweep file and expand it into scenarios.

    Args:
        path: The sweep YAML file.

    Returns:
        ``(sweep name, scenarios)`` in file order: ``base`` first (unless ``include_base: false``),
        then ``runs``, ``grid`` combinations and generated runs.

    Raises:
        InputError: Unknown keys, ids or columns, bad values, bad generators or repeated run
            names (file, line and key path named), or an invalid base dataset.
    """
    path = Path(path)
    doc, ctx = read_yaml(path)
    for key in doc:
        if key not in SWEEP_KEYS:
            unknown_key(ctx, "", key, SWEEP_KEYS)
    study = _study_base(doc.get("base"), path)
    base = study or base_folder(doc.get("base"), path, ctx)
    extra = STUDY_RUN_KEYS if study else ()
    name = doc.get("name", path.stem)
    if not _is_name(name):
        ctx.add("name", f"{show_value(name)} is not a sweep name (text)")
    include_base = doc.get("include_base", True)
    if not isinstance(include_base, bool):
        ctx.add("include_base", f"{show_value(include_base)} is not true or false")
        include_base = True
    if base is None:
        ctx.raise_if_any()
    assert base is not None
    try:
        network = read_base(base) if study is None else load_study(study).base
    except InputError as error:
        ctx.problems.extend(error.problems)
        ctx.raise_if_any()
    # one pass, as for scenario files: what cannot be interpreted is left out, the rest is still checked
    common = _normalize(doc.get("overrides"), ctx, "overrides", extra)
    common_network = apply_overrides(network, common, ctx, "overrides")

    named = _named_runs(doc.get("runs"), ctx, extra)
    grid, options = _grid_runs(doc.get("grid"), ctx, extra)
    generated = _generated_runs(doc.get("generate"), common_network, ctx)
    before = len(ctx.problems)
    _check_count({"runs": len(named), "grid": len(grid), "generate": len(generated)}, int(include_base), ctx)
    if len(ctx.problems) > before:  # too many runs: stop before applying each of them
        ctx.raise_if_any()
    # each fragment alone on top of the common overrides, so that problems name its own key path
    for fragment, key in [(fragment, key) for _, fragment, key in named + generated] + options:
        apply_overrides(common_network, fragment, ctx, key)
        if study is not None:
            _check_study_run(study, _merge(common, fragment), ctx, key)
    runs = ([(BASE_RUN, {}, "overrides")] if include_base else []) + named + grid + generated
    _check_unique(runs, ctx)
    if not runs:
        ctx.add("runs", "the sweep has no runs: give runs, grid or generate (or include_base: true)")
    ctx.raise_if_any()
    sweep = str(name).strip()
    return sweep, [
        Scenario(name=run_name, base=base, overrides=_merge(common, fragment),
                 source=f"{ctx.file}: {key}", sweep=sweep, position=position)
        for position, (run_name, fragment, key) in enumerate(runs)
    ]


def _is_name(value: Any) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool) and bool(str(value).strip())


def _study_base(value: Any, path: Path) -> Path | None:
    """The expansion study a sweep's ``base:`` names (a YAML file with ``periods:``), else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    file = (path.parent / value.strip()).resolve()
    return file if is_study(file) else None


def _normalize(raw: Any, ctx: YamlContext, prefix: str, extra: tuple[str, ...]) -> dict[str, Any]:
    """Normalized overrides, with the study keys ``extra`` (a study base) kept as written."""
    if not extra or not isinstance(raw, dict):
        return normalize_overrides(raw, ctx, prefix)
    out = normalize_overrides({k: v for k, v in raw.items() if k not in extra}, ctx, prefix)
    return {**out, **{k: raw[k] for k in extra if k in raw}}


def _merge(common: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    """A run's overrides after the common ones; study keys of the run replace the common ones."""
    study = {k: v for k, v in {**common, **fragment}.items() if k in STUDY_RUN_KEYS}
    return {**merge_overrides(*({k: v for k, v in part.items() if k not in STUDY_RUN_KEYS}
                                for part in (common, fragment))), **study}


def _check_study_run(study: Path, changes: dict[str, Any], ctx: YamlContext, key: str) -> None:
    """The run's study keys checked by loading the study with them; problems named at the run's key path."""
    if not any(k in changes for k in STUDY_RUN_KEYS):
        return
    try:
        load_study(study, changes)
    except InputError as error:
        for problem in error.problems:
            if problem.field and problem.field.split(".")[0].split("[")[0] in STUDY_RUN_KEYS:
                ctx.add(join(key, problem.field), problem.message)


def _named_runs(value: Any, ctx: YamlContext, extra: tuple[str, ...] = ()) -> list[tuple[str, dict[str, Any], str]]:
    """``runs:``: a list of mappings with a ``name`` (and ``description``) plus overrides."""
    if value is None:
        return []
    if not isinstance(value, list):
        ctx.add("runs", f"{show_value(value)} is not a list of runs (- name: ..., plus overrides)")
        return []
    out = []
    for i, run in enumerate(value):
        key = join("runs", i)
        if not isinstance(run, dict):
            ctx.add(key, f"{show_value(run)} is not a run mapping (name: ..., plus overrides)")
            continue
        if not _is_name(run.get("name")):
            ctx.add(join(key, "name"), f"each run needs a name (text), found {show_value(run.get('name'))}")
            continue
        for field in run:
            if field not in ("name", "description") + OVERRIDE_KEYS + extra:
                unknown_key(ctx, key, field, ("name", "description") + OVERRIDE_KEYS + extra)
        body = {k: v for k, v in run.items() if k in OVERRIDE_KEYS + extra}
        out.append((str(run["name"]).strip(), _normalize(body, ctx, key, extra), key))
    return out


def _grid_runs(value: Any, ctx: YamlContext, extra: tuple[str, ...] = ()) -> tuple[
        list[tuple[str, dict[str, Any], str]], list[tuple[dict[str, Any], str]]]:
    """``grid:``: dimension -> option -> overrides; one run per combination, named ``dim=opt,dim=opt``.

    Returns:
        ``(runs, options)``: the combined runs, and each option's overrides with its key path
        (checked one by one, so that problems name the option).
    """
    if value is None:
        return [], []
    if not isinstance(value, dict) or not value:
        ctx.add("grid", f"{show_value(value)} is not a mapping of dimension: {{option: overrides}}")
        return [], []
    dimensions: list[list[tuple[str, dict[str, Any], str]]] = []
    for dim, options in value.items():
        key = join("grid", str(dim))
        if isinstance(options, dict) and not options:
            ctx.add(key, f"grid dimension '{dim}' has no options; give it at least one (option name: overrides)")
            return [], []
        if not isinstance(options, dict):
            ctx.add(key, f"{show_value(options)} is not a mapping of option name: overrides")
            return [], []
        dimensions.append([(f"{dim}={opt}", _normalize(body, ctx, join(key, str(opt)), extra),
                            join(key, str(opt))) for opt, body in options.items()])
    count = math.prod(len(dimension) for dimension in dimensions)
    if count > MAX_RUNS:
        ctx.add("grid", f"the grid has {count:,} combinations ("
                + " x ".join(str(len(dimension)) for dimension in dimensions)
                + f"); a sweep has at most {MAX_RUNS:,} runs: split it into several sweeps")
        return [], []
    runs = []
    for combo in itertools.product(*dimensions):
        name = ",".join(part[0] for part in combo)
        runs.append((name, functools.reduce(_merge, (part[1] for part in combo), {}), f"grid[{name}]"))
    return runs, [(fragment, key) for dimension in dimensions for _, fragment, key in dimension]


def _generated_runs(value: Any, network: Network, ctx: YamlContext) -> list[tuple[str, dict[str, Any], str]]:
    """``generate:``: a list of ``{n_minus_1: {sites: existing | all | [ids]}}``, ``{n_plus_1: {sites: candidates |
    all | [ids]}}`` / ``{p_range: {from, to, step}}``."""
    if value is None:
        return []
    if not isinstance(value, list):
        ctx.add("generate", f"{show_value(value)} is not a list of generators ({', '.join(GENERATORS)})")
        return []
    out: list[tuple[str, dict[str, Any], str]] = []
    for i, item in enumerate(value):
        key = join("generate", i)
        if not isinstance(item, dict) or len(item) != 1:
            ctx.add(key, f"each generator is a one-key mapping, one of: {', '.join(GENERATORS)}")
            continue
        kind, spec = next(iter(item.items()))
        if kind == "n_minus_1":
            out += _n_minus_1(spec, network, ctx, join(key, kind))
        elif kind == "n_plus_1":
            out += _n_plus_1(spec, network, ctx, join(key, kind))
        elif kind == "p_range":
            out += _p_range(spec, ctx, join(key, kind))
        else:
            unknown_key(ctx, key, kind, GENERATORS, "generator")
    return out


def _n_minus_1(spec: Any, network: Network, ctx: YamlContext, key: str) -> list[tuple[str, dict[str, Any], str]]:
    """One run per listed site, that site forced closed; named ``close=<site>``."""
    return _one_site_each(spec, network, ctx, key, "n_minus_1", "close", ("existing", "existing", "forced_closed"))


def _n_plus_1(spec: Any, network: Network, ctx: YamlContext, key: str) -> list[tuple[str, dict[str, Any], str]]:
    """One run per listed site, that site forced open; named ``open=<site>`` (the mirror of ``n_minus_1``)."""
    return _one_site_each(spec, network, ctx, key, "n_plus_1", "open", ("candidates", "candidate", "forced_open"))


def _one_site_each(spec: Any, network: Network, ctx: YamlContext, key: str, generator: str, action: str,
                   group: tuple[str, str, str]) -> list[tuple[str, dict[str, Any], str]]:
    """The runs of ``n_minus_1`` / ``n_plus_1``: one per selected site, that site's status set by ``action``.

    Args:
        generator: The generator's name (for the error messages).
        action: ``close`` or ``open`` (the ``sites:`` override and the run name's prefix).
        group: ``(word, status, excluded)``: ``{sites: word}`` selects the sites of ``status``;
            ``{sites: all}`` every site but those of status ``excluded``.
    """
    word, status_of_word, excluded = group
    sites = spec.get("sites") if isinstance(spec, dict) else None
    if not isinstance(spec, dict) or set(spec) != {"sites"}:
        ctx.add(key, f"write {generator}: {{sites: {word}}}, {{sites: all}} or {{sites: [id, ...]}}")
        return []
    status = network.sites["status"]
    if sites == word:
        ids = list(network.sites.index[(status == status_of_word).to_numpy()])
    elif sites == "all":
        ids = list(network.sites.index[(status != excluded).to_numpy()])
    elif isinstance(sites, list) and all(isinstance(s, str) for s in sites):
        ids = sites
        for j, site in enumerate(sites):
            if site not in network.sites.index:
                ctx.add(join(join(key, "sites"), j), f"unknown site id '{site}'")
    else:
        ctx.add(join(key, "sites"), f"{show_value(sites)} is not '{word}', 'all' or a list of site ids")
        return []
    if not ids:
        ctx.add(join(key, "sites"), f"selects no sites ('{sites}' matches none in the base dataset)")
    return [(f"{action}={site}", {"sites": {action: [str(site)]}}, key) for site in ids]


def _p_range(spec: Any, ctx: YamlContext, key: str) -> list[tuple[str, dict[str, Any], str]]:
    """One run per site count p in from..to (inclusive, by step), ``exact_sites = p``; named ``p=<p>``."""
    if not isinstance(spec, dict) or not {"from", "to"} <= set(spec) or not set(spec) <= {"from", "to", "step"}:
        ctx.add(key, "write p_range: {from: <sites>, to: <sites>} (optionally step: <n>)")
        return []
    values = {k: spec.get(k, 1) for k in ("from", "to", "step")}
    for k, v in values.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < (1 if k == "step" else 0):
            ctx.add(join(key, k), f"{show_value(v)} is not a whole number >= {1 if k == 'step' else 0}")
            return []
    if values["from"] > values["to"]:
        ctx.add(key, f"from ({values['from']}) is greater than to ({values['to']})")
        return []
    count = len(range(values["from"], values["to"] + 1, values["step"]))
    if count > MAX_RUNS:
        ctx.add(key, f"from {values['from']} to {values['to']} by {values['step']} is {count:,} runs; a sweep has "
                f"at most {MAX_RUNS:,}: narrow the range or give a larger step")
        return []
    return [(f"p={p}", {"settings": {"constraints.exact_sites": p}}, key)
            for p in range(values["from"], values["to"] + 1, values["step"])]


def _check_count(counts: dict[str, int], base: int, ctx: YamlContext) -> None:
    """At most :data:`MAX_RUNS` runs in all; too many names the key that contributes most."""
    total = base + sum(counts.values())
    if total > MAX_RUNS:
        key = max(counts, key=lambda k: counts[k])
        parts = ", ".join(f"{k}: {n:,}" for k, n in counts.items() if n)
        ctx.add(key, f"the sweep has {total:,} runs ({parts}); a sweep has at most {MAX_RUNS:,}: "
                "split it into several sweeps")


def _check_unique(runs: list[tuple[str, dict[str, Any], str]], ctx: YamlContext) -> None:
    """Every run name once; a repeat names both places."""
    first: dict[str, str] = {}
    for run_name, _, key in runs:
        if run_name in first:
            ctx.add(key, f"run name '{run_name}' is used twice (also by {first[run_name]}); names must be unique")
        first.setdefault(run_name, key)
