"""Which strategy solves a model: ``compact``, ``sites``, ``decompose``, or ``auto`` (by features and size).

| feature | compact | sites | decompose |
|---|---|---|---|
| multi- and single sourcing, site counts, forced statuses, service radius, region links (capacities too) | yes | yes | yes |
| suppliers, routing through sites, link fixed costs | yes | yes | no: compact, with a message |
| pooled stock (square-root cutting planes) | yes | yes | no: compact, with a message |
| solvers | all | HiGHS (others: compact, with a message) | all |

``auto`` decomposes a supported model with at least :data:`AUTO_MIN_LANES` assignment lanes
(:data:`AUTO_MIN_LANES_SINGLE` with single sourcing, whose heuristic plans need assignment MIPs),
where the compact MIP's root LP starts to dominate; otherwise, with HiGHS, it branches on sites
when the model has fewer than :data:`SITES_MAX_LANES` lanes (3.3x less build + solve time than the
whole MIP over the 37 OR-Library cap instances in benchmarks/RESULTS.md; in-process, about 2x over a
sample of Holmberg's and 6-10x on the demo with linear stock)
or when the whole MIP is slow to prove at any size (pooled stock, or single sourcing with a supply
side: :func:`sites_suits`), and it solves the rest compact (benchmarks/RESULTS.md has the
measurements behind these thresholds).
"""

from __future__ import annotations

import numpy as np

from optimizer.model.build import BuiltModel
from optimizer.strategies import STRATEGIES
from optimizer.strategies.sites import design_columns

#: ``auto`` decomposes supported multi-sourcing models with at least this many assignment lanes.
AUTO_MIN_LANES = 5_000
#: ... and single-sourcing models with at least this many.
AUTO_MIN_LANES_SINGLE = 50_000
#: ``auto`` branches on sites (HiGHS) in any model with fewer lanes than this; beyond, the tree's
#: node LPs (every lane's link row) grow slow: one node of capa8000's 100,000 lanes took 120 s.
SITES_MAX_LANES = 10_000


def unsupported(built: BuiltModel) -> list[str]:
    """Why the decomposition cannot take ``built`` (empty when it can)."""
    reasons = []
    if built.routing.n_flows:
        reasons.append("the supply side (suppliers, routing through sites)")
    if len(built.routing.used_links):
        reasons.append("link fixed costs (a binary per link)")
    if built.network.settings.inventory.model == "pooled":
        reasons.append("pooled stock (its square-root cutting planes)")
    if built.lp.n_rows and not len(built.lane_site):
        reasons.append("a model without assignment lanes")
    return reasons


def sites_unsupported(built: BuiltModel, solver: str) -> list[str]:
    """Why branching on sites cannot take ``built`` with backend ``solver`` (empty when it can)."""
    reasons = []
    if solver != "highs":
        reasons.append(f"the {solver} solver (it needs HiGHS's hot-started LP session)")
    lp = built.lp
    design = design_columns(lp, built.n_sites + np.arange(len(built.lane_site)))
    if not np.any(lp.col_lower[design] < lp.col_upper[design]):
        reasons.append("a model with no open site or link decision left")
    return reasons


def sites_suits(built: BuiltModel) -> bool:
    """Whether ``auto`` branches on sites (when it can): pooled stock, whose cut loop re-solves the whole
    MIP otherwise, or single sourcing with a supply side, where HiGHS branches on thousands of
    assignment binaries before the few site binaries (without a supply side, :data:`AUTO_MIN_LANES`
    decides between compact and decompose)."""
    lp = built.lp
    lanes = built.n_sites + np.arange(len(built.lane_site))
    pooled = built.network.settings.inventory.model == "pooled"
    return pooled or (built.routing.n_cols > 0 and bool(lp.integer[lanes].any()))


def choose(built: BuiltModel, requested: str, solver: str = "highs") -> tuple[str, list[str]]:
    """The strategy to run and the messages explaining a fallback.

    Args:
        built: The model.
        requested: ``auto``, ``compact``, ``sites`` or ``decompose``.
        solver: The backend's name (branching on sites needs HiGHS).

    Returns:
        ``("compact" | "sites" | "decompose", messages)``.
    """
    if requested not in STRATEGIES:
        raise ValueError(f"unknown strategy {requested!r}; expected one of {', '.join(STRATEGIES)}")
    if requested == "compact":
        return "compact", []
    if requested == "sites":
        reasons = sites_unsupported(built, solver)
        if reasons:
            return "compact", [f"Strategy sites does not support {' and '.join(reasons)}: solved compact instead."]
        return "sites", []
    reasons = unsupported(built)
    if requested == "decompose":
        if reasons:
            return "compact", [f"Strategy decompose does not support {' and '.join(reasons)}: solved compact instead."]
        return "decompose", []
    threshold = AUTO_MIN_LANES_SINGLE if built.network.settings.single_sourcing else AUTO_MIN_LANES
    if not reasons and len(built.lane_site) >= threshold:
        return "decompose", []
    small = len(built.lane_site) < SITES_MAX_LANES
    if (small or sites_suits(built)) and not sites_unsupported(built, solver):
        return "sites", []
    return "compact", []
