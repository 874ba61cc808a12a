"""A plan: what the engine decided, in the dataset's own ids.

The plan is the contract between the solver side (which produces it) and the
independent checker (which verifies it from the raw data alone).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

#: Cost components of the foundation model, in currency per planning period.
COST_COMPONENTS = ("shipping", "fixed", "handling", "holding", "closing")

#: Columns of :attr:`Plan.flows`.
FLOW_COLUMNS = ("from", "to", "product", "quantity")


@dataclass
class Plan:
    """Open sites and flows, with the costs the engine claims for them.

    Attributes:
        open_sites: Ids of the sites open (or kept) in the plan.
        flows: Columns ``from`` (site id), ``to`` (region id), ``product``
            (product id), ``quantity`` (units per period); only positive flows.
        costs: Claimed cost per component (:data:`COST_COMPONENTS`), currency
            per period; they sum to ``objective``.
        objective: Claimed total cost, currency per period.
    """

    open_sites: list[str]
    flows: pd.DataFrame
    costs: dict[str, float] = field(default_factory=dict)
    objective: float = 0.0
