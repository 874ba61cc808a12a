"""Canonical text of a built model, for golden-file tests (independent of optimizer.solvers.mps).

Columns are named from the model's own maps, rows by their content, so the text does not depend on
the order in which the builder lays out columns or rows:

* ``y[SITE]`` site open; ``a[REGION|SITE]`` (single sourcing) or ``a[REGION,PRODUCT|SITE]`` the
  share of an assignment unit served from a site, ``@FROM>TO:MODE`` appended for an outbound link lane;
* ``f[FROM>TO:MODE,PRODUCT]`` an arc flow, ``f[SUPPLIER>>SITE,PRODUCT]`` a shortest-path flow,
  ``u[FROM>TO:MODE]`` a link's "used" binary;
* ``cycle[SITE,PRODUCT]`` and ``safety[SITE,PRODUCT]`` the pooled stock columns;
* ``x[j]`` any other column (a new kind of column shows up as such in the diff).

The text lists the objective offset, then one line per column sorted by name (integrality, bounds,
objective coefficient), then one line per row, ``lower <= coef name + ... <= upper`` with the
terms sorted by column name, the rows sorted as text.  Numbers are written with ``repr``.
"""

from __future__ import annotations

import numpy as np

from optimizer.model.build import BuiltModel
from optimizer.model.pooled import PooledInventory


def column_names(built: BuiltModel, pooled: PooledInventory | None = None) -> list[str]:
    """A name for every column of ``built`` (or of ``pooled.built``), from the model's maps."""
    model = pooled.built if pooled is not None else built
    net = model.network
    names = [f"x[{j}]" for j in range(model.lp.n_cols)]
    sites, regions = list(map(str, net.site_ids)), list(map(str, net.region_ids))
    products = list(map(str, net.product_ids))
    links = net.link_table
    link_name = [f"{f}>{t}:{m}" for f, t, m in zip(links["from"], links["to"], links["mode"])]
    S = model.n_sites
    for i in range(S):
        names[i] = f"y[{sites[i]}]"
    single = bool(net.settings.single_sourcing)
    for c, (site, unit, link) in enumerate(zip(model.lane_site, model.lane_unit, model.lane_link)):
        region = regions[model.unit_region[unit]]
        if not single:
            region += "," + ",".join(products[p] for p in np.flatnonzero(model.unit_mix[unit] > 0))
        names[S + c] = f"a[{region}|{sites[site]}" + (f"@{link_name[link]}" if link >= 0 else "") + "]"
    routing = model.routing
    first = routing.first_col
    for k in range(routing.n_flows):
        product = products[routing.flow_product[k]]
        if routing.form == "arc_flow":
            names[first + k] = f"f[{link_name[routing.flow_link[k]]},{product}]"
        else:
            names[first + k] = f"f[{routing.flow_supplier[k]}>>{routing.flow_site[k]},{product}]"
    for k, link in enumerate(routing.used_links):
        names[first + routing.n_flows + k] = f"u[{link_name[link]}]"
    if pooled is not None:
        for label, term in (("cycle", pooled.cycle), ("safety", pooled.safety)):
            for s, p in zip(*np.nonzero(term.column >= 0)):
                names[term.column[s, p]] = f"{label}[{sites[s]},{products[p]}]"
    return names


def canonical_text(built: BuiltModel, pooled: PooledInventory | None = None) -> str:
    """The canonical text of ``built`` (or of ``pooled.built``, naming its stock columns)."""
    model = pooled.built if pooled is not None else built
    lp = model.lp
    names = column_names(built, pooled)
    assert len(set(names)) == len(names), "column names must be unique"
    lines = [f"# model {lp.name}: {lp.n_cols} columns, {lp.n_rows} rows, {lp.A.nnz} nonzeros",
             f"offset {float(lp.offset)!r}", "columns"]
    for j in sorted(range(lp.n_cols), key=names.__getitem__):
        kind = "int" if lp.integer[j] else "real"
        lines.append(f"{names[j]} {kind} [{float(lp.col_lower[j])!r}, {float(lp.col_upper[j])!r}] "
                     f"cost {float(lp.c[j])!r}")
    lines.append("rows")
    rows = []
    A = lp.A.tocsr()
    for i in range(lp.n_rows):
        start, end = A.indptr[i], A.indptr[i + 1]
        terms = sorted((names[j], float(v)) for j, v in zip(A.indices[start:end], A.data[start:end]))
        body = " + ".join(f"{v!r} {name}" for name, v in terms) or "0"
        rows.append(f"{float(lp.row_lower[i])!r} <= {body} <= {float(lp.row_upper[i])!r}")
    lines += sorted(rows)
    return "\n".join(lines) + "\n"
