"""Which strategy solves a model: ``compact``, ``decompose``, or ``auto`` (by features and size).

| feature | compact | decompose |
|---|---|---|
| multi- and single sourcing, site counts, forced statuses, service radius, region links without limits | yes | yes |
| suppliers, routing through sites, link capacities or fixed costs | yes | no: compact, with a message |
| pooled stock (square-root cutting planes) | yes | no: compact, with a message |

``auto`` decomposes a supported model with at least :data:`AUTO_MIN_LANES` assignment lanes
(:data:`AUTO_MIN_LANES_SINGLE` with single sourcing, whose heuristic plans need assignment MIPs),
where the compact MIP's root LP starts to dominate, and solves smaller ones compact
(benchmarks/RESULTS.md has the measurements behind these thresholds).
"""

from __future__ import annotations

from optimizer.model.build import BuiltModel
from optimizer.strategies import STRATEGIES

#: ``auto`` decomposes supported multi-sourcing models with at least this many assignment lanes.
AUTO_MIN_LANES = 5_000
#: ... and single-sourcing models with at least this many.
AUTO_MIN_LANES_SINGLE = 50_000


def unsupported(built: BuiltModel) -> list[str]:
    """Why the decomposition cannot take ``built`` (empty when it can)."""
    reasons = []
    if built.routing.n_cols:
        reasons.append("the supply side (suppliers, routing through sites, link capacities or fixed costs)")
    if built.network.settings.inventory.model == "pooled":
        reasons.append("pooled stock (its square-root cutting planes)")
    if built.lp.n_rows and not len(built.lane_site):
        reasons.append("a model without assignment lanes")
    return reasons


def choose(built: BuiltModel, requested: str) -> tuple[str, list[str]]:
    """The strategy to run and the messages explaining a fallback.

    Args:
        built: The model.
        requested: ``auto``, ``compact`` or ``decompose``.

    Returns:
        ``("compact" | "decompose", messages)``.
    """
    if requested not in STRATEGIES:
        raise ValueError(f"unknown strategy {requested!r}; expected one of {', '.join(STRATEGIES)}")
    if requested == "compact":
        return "compact", []
    reasons = unsupported(built)
    if requested == "decompose":
        if reasons:
            return "compact", [f"Strategy decompose does not support {' and '.join(reasons)}: solved compact instead."]
        return "decompose", []
    threshold = AUTO_MIN_LANES_SINGLE if built.network.settings.single_sourcing else AUTO_MIN_LANES
    if reasons or len(built.lane_site) < threshold:
        return "compact", []
    return "decompose", []
