"""Charge every cost of a solution to one site: the per-site cost table behind the site P&L.

Every column of a built model belongs to at most one site, so the objective splits into
per-site parts that add up to it exactly (the same cost vectors, the same solution):

* a site's open binary (``fixed``, ``closing``) and the constant closing charge of an existing
  or forced-closed site (``closing_cost / horizon``): that site;
* an assignment lane (``shipping``, ``handling``, ``holding``): the site that serves it;
* a supply-side flow over a link (``inbound``: purchase + the supplier's link; ``transfer``: a
  site -> site link; ``handling`` of what a site sends on over it): the site at the link's head,
  the site that **receives** over it.  With ``shortest_path`` routing a whole path is one
  column: all of it goes to the path's last site, the one it delivers to;
* a link's "used" binary (its ``fixed_cost``): the site at its head; an outbound (site ->
  region) link's, the site at its tail, which serves over it;
* the stock columns of the pooled model carry only ``holding``; they are charged to no site
  here (the site P&L takes each site's holding from the stock table).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.model.build import BuiltModel, open_shares
from optimizer.plan import COST_COMPONENTS


def column_sites(built: BuiltModel) -> np.ndarray:
    """The site index each column of ``built`` is charged to (-1: none), shape (n_cols,).

    Args:
        built: A built model (possibly extended by the pooled stock columns).

    Returns:
        One site index per column, by the rule of the module docstring.
    """
    net = built.network
    S = built.n_sites
    routing = built.routing
    out = np.full(built.lp.n_cols, -1, dtype=np.int64)
    out[:S] = np.arange(S)
    out[S:S + len(built.lane_site)] = built.lane_site
    first = routing.first_col
    links = net.link_table
    heads = net.sites.index.get_indexer(links["to"].to_numpy(dtype=object)) if len(links) else np.zeros(0, int)
    tails = net.sites.index.get_indexer(links["from"].to_numpy(dtype=object)) if len(links) else np.zeros(0, int)
    if routing.n_flows:
        if routing.form == "arc_flow":
            out[first:first + routing.n_flows] = heads[routing.flow_link]
        else:
            out[first:first + routing.n_flows] = net.sites.index.get_indexer(
                np.asarray(routing.flow_site, dtype=object))
    used = np.asarray(routing.used_links, dtype=np.int64)
    if len(used):
        out[first + routing.n_flows:first + routing.n_cols] = np.where(heads[used] >= 0, heads[used], tails[used])
    return out


def site_costs(built: BuiltModel, x: np.ndarray) -> pd.DataFrame:
    """Each cost component of solution ``x`` charged to the sites (currency per period).

    The shares the plan decoder drops (on closed sites) are dropped here too, so the table
    re-adds to the plan's costs: each column's sum is ``built.costs`` of the cleaned vector, up
    to the constant parts no site carries (none in the current model).

    Args:
        built: The model that was solved.
        x: Its (rounded) solution vector.

    Returns:
        Indexed by site id (the order of ``network.sites``), one column per cost component.
    """
    S = built.n_sites
    C = len(built.lane_site)
    x = np.asarray(x, dtype=float).copy()
    x[S:S + C] = open_shares(x[S:S + C], built.lane_site, built.lane_unit, x[:S] > 0.5, len(built.unit_region))
    owner = column_sites(built)
    charged = owner >= 0
    sites = built.network.sites
    closing_per_period = sites["closing_cost"].to_numpy(dtype=float) / built.network.settings.closing_horizon
    status = sites["status"].to_numpy()
    constant = {name: np.zeros(S) for name in COST_COMPONENTS}
    constant["closing"] = np.where((status == "existing") | (status == "forced_closed"), closing_per_period, 0.0)
    table = {}
    for name in COST_COMPONENTS:
        contribution = built.cost_vectors[name] * x
        table[name] = np.bincount(owner[charged], weights=contribution[charged], minlength=S) + constant[name]
    return pd.DataFrame(table, index=pd.Index(sites.index.astype(str), name="site"))
