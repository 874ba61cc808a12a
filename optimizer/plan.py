"""A plan: what the engine decided, in the dataset's own ids.

The plan is the contract between the solver side (which produces it) and the
independent checker (which verifies it from the raw data alone).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from optimizer import outputs

#: Cost components, in currency per planning period.  ``inbound`` (purchase plus
#: the supplier's link) and ``transfer`` (site -> site links) are 0 without suppliers.
COST_COMPONENTS = outputs.COST_COMPONENTS

#: Required columns of :attr:`Plan.flows` (an optional ``mode`` column names the lane's mode).
FLOW_COLUMNS = tuple(name for name in outputs.FLOWS.names if name != "mode")

#: Columns of :attr:`Plan.routes`.
ROUTE_COLUMNS = outputs.ROUTES.names


@dataclass
class Plan:
    """Open sites and flows, with the costs the engine claims for them.

    Attributes:
        open_sites: Ids of the sites open (or kept) in the plan.
        flows: Columns ``from`` (site id), ``to`` (region id), ``product``
            (product id), ``quantity`` (units per period), optionally ``mode``
            (``road`` for the distance-based lane, else the mode of a site -> region
            link); only positive flows.
        costs: Claimed cost per component (:data:`COST_COMPONENTS`), currency
            per period; they sum to ``objective``.
        objective: Claimed total cost, currency per period.
        routes: How stock reaches the sites from suppliers: columns
            :data:`ROUTE_COLUMNS`; ``path`` is the list of node ids from the supplier
            to the site, ``modes`` the mode of each link, ``km`` and ``transit_days``
            their sums, costs in currency per period.  Empty without suppliers.
    """

    open_sites: list[str]
    flows: pd.DataFrame
    costs: dict[str, float] = field(default_factory=dict)
    objective: float = 0.0
    routes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(ROUTE_COLUMNS)))
