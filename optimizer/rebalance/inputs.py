"""The inputs of a rebalancing run: stock on hand, targets, stock in transit and penalties.

:func:`read_inputs` reads ``inventory.csv``, ``targets.csv`` and ``in_transit.csv`` (declared in
:mod:`optimizer.schema`) with the dataset reader's table parser, so every problem names the
file, line and field, and checks them against the network: ids must exist, every site must be
``existing`` or ``forced_open``, stock and targets are whole units, ``min <= target <= max``.

Without ``targets.csv`` the targets come from the pooled stock formulas on the current network
(:func:`pooled_targets`): each region is served by its nearest participating site (road km);
``min`` is the safety stock, ``target`` cycle plus safety stock (both rounded to whole units),
``max`` unlimited.

Penalties (``network.yaml``, ``rebalance:``): a unit below min costs ``unit_value x
shortage_rate`` (0.1 by default; see :mod:`optimizer.rebalance.penalty` for the quarters), a unit
between min and target ``target_factor`` (0.1) of that, a unit above max ``unit_value x
excess_rate`` (0); ``rebalance: products:`` overrides any of the three per product.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer import stock
from optimizer.errors import InputError, Problem
from optimizer.io.csvtable import ParsedTable, parse_table, report_rows
from optimizer.io.dataset import PENALTY_KEYS, _check_unique, check_whole, rebalance_product_problems
from optimizer.network import Network
from optimizer.schema import IN_TRANSIT, INVENTORY, NETWORK_FILE, TARGETS, Table

#: Site statuses that take part in a rebalancing run.
OPERATING = ("existing", "forced_open")
#: The per-product penalty keys of ``rebalance: products:``.


@dataclass
class RebalanceInputs:
    """Everything a run decides on, as arrays over (participating site, product).

    Attributes:
        sites: Participating site ids, in sites.csv order.
        products: Product ids taking part (listed in any input file), in products.csv order.
        on_hand: Units on hand, int64 (n_sites, n_products).
        arriving: Units in transit arriving within the run, int64 (n_sites, n_products).
        minimum, target: Whole units, float (n_sites, n_products).
        maximum: Whole units or inf, float (n_sites, n_products).
        shortage: Penalty per unit below min, currency per unit, (n_products,).
        below_target: Penalty per unit between min and target, (n_products,).
        excess: Penalty per unit above max, (n_products,).
        volume: Volume units per unit, (n_products,).
        pack_size: Units per pack (whole), (n_products,).
        run_days: Length of the run, days.
        targets_from: ``"targets.csv"`` or ``"pooled stock formulas"``.
        files: Display path of each input file given, by role.
    """

    sites: list[str]
    products: list[str]
    on_hand: np.ndarray
    arriving: np.ndarray
    minimum: np.ndarray
    target: np.ndarray
    maximum: np.ndarray
    shortage: np.ndarray
    below_target: np.ndarray
    excess: np.ndarray
    volume: np.ndarray
    pack_size: np.ndarray
    run_days: float = 1.0
    targets_from: str = "targets.csv"
    files: dict[str, str] = field(default_factory=dict)


def _parse(table: Table, path: Path, problems: list[Problem]) -> ParsedTable | None:
    parsed = parse_table(table, path, str(path), problems)
    if parsed is not None:
        _check_unique(parsed, problems)
    return parsed


def _check_ids(parsed: ParsedTable, column: str, known: pd.Index, what: str, problems: list[Problem]) -> np.ndarray:
    """Report values of ``column`` that are not in ``known``; returns the mask of valid rows."""
    if column not in parsed.values:
        return np.zeros(len(parsed.lines), dtype=bool)
    values = parsed.values[column]
    bad = (values != "") & ~_isin(values, known)
    report_rows(problems, parsed.display, column, parsed.lines[bad], values[bad],
                lambda t: f"'{t}' is not an id in {what}", f"unknown {column}")
    return (values != "") & ~bad


def _isin(values: np.ndarray, known: Any) -> np.ndarray:
    """Element-wise membership of text values (hashed: np.isin on object arrays sorts)."""
    return pd.Series(values, dtype=object).isin(set(known)).to_numpy()


def _check_operating(parsed: ParsedTable, column: str, valid: np.ndarray, network: Network,
                     participating: set[str] | None, problems: list[Problem]) -> None:
    """Sites must operate (``existing`` / ``forced_open``) and, when given, be among ``participating``."""
    values = parsed.values[column]
    status = network.sites["status"].reindex(pd.Index(values, dtype=object)).to_numpy(dtype=object)
    idle = valid & ~_isin(status, OPERATING)
    report_rows(problems, parsed.display, column, parsed.lines[idle], list(zip(values[idle], status[idle])),
                lambda item: f"site '{item[0]}' is {item[1]}; only existing or forced_open sites take part "
                             "in a rebalancing run", "not operating")
    if participating is not None:
        absent = valid & ~idle & ~_isin(values, participating)
        report_rows(problems, parsed.display, column, parsed.lines[absent], values[absent],
                    lambda t: f"site '{t}' is not in the inventory file; only the sites listed there take part",
                    "not taking part")


def _penalties(network: Network, products: pd.Index, problems: list[Problem]) -> dict[str, np.ndarray]:
    """The three rates per product (network.yaml defaults and per-product overrides)."""
    settings = network.settings.rebalance
    rates = {key: np.full(len(products), float(getattr(settings, key))) for key in PENALTY_KEYS}
    display = str(Path(network.source) / NETWORK_FILE) if network.source else NETWORK_FILE
    found = rebalance_product_problems([str(i) for i in network.products.index], settings.products)
    problems += [Problem(display, message, field=field) for field, message in found]
    if not found:
        for product, overrides in (settings.products or {}).items():
            for name, value in overrides.items():
                if str(product) in products:
                    rates[str(name)][products.get_loc(str(product))] = float(value)
    unit_value = network.products["unit_value"].reindex(products).to_numpy(dtype=float)
    shortage = unit_value * rates["shortage_rate"]
    return {"shortage": shortage, "below_target": shortage * rates["target_factor"],
            "excess": unit_value * rates["excess_rate"]}


def _grids(frame: pd.DataFrame, fills: dict[str, float], sites: pd.Index, products: pd.Index
           ) -> dict[str, np.ndarray]:
    """(site, product) matrices of columns of a (site, product) table, each with its ``fill`` where no row."""
    i, k = sites.get_indexer(frame["site"]), products.get_indexer(frame["product"])  # once for all columns
    keep = (i >= 0) & (k >= 0)
    out = {}
    for column, fill in fills.items():
        grid = np.full((len(sites), len(products)), fill, dtype=float)
        if len(frame):
            grid[i[keep], k[keep]] = 0.0
            np.add.at(grid, (i[keep], k[keep]), frame[column].to_numpy(dtype=float)[keep])
        out[column] = grid
    return out


def _frame(parsed: ParsedTable, columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: parsed.values[c] for c in columns})


def pooled_targets(network: Network, sites: pd.Index, products: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """min (safety stock) and target (cycle + safety stock), whole units, each (n_sites, n_products).

    Each region with demand is served by its nearest participating site by road km; a site's
    demand is the sum of its regions', its variance the sum of their variances; lead time as in the
    solve (:func:`optimizer.stock.site_lead_times`: the site's ``lead_time_days``, else
    ``inventory.lead_time_days`` plus the fastest transit from a supplier); the order quantity is the
    EOQ or ``review_days`` of demand (:mod:`optimizer.stock`).
    """
    settings, inventory = network.settings, network.settings.inventory
    columns = network.sites.index.get_indexer(sites)
    nearest = columns[np.argmin(network.distance_km[columns, :], axis=0)]  # per region: a site row
    region_site = pd.Series(network.sites.index[nearest], index=network.regions.index)
    demand = network.demand.assign(site=region_site.reindex(network.demand["region"]).to_numpy(),
                                   variance=network.demand["std"] ** 2)
    grouped = demand.groupby(["site", "product"])[["quantity", "variance"]].sum().reset_index()
    grids = _grids(grouped, {"quantity": 0.0, "variance": 0.0}, sites, products)
    mean, variance = grids["quantity"], grids["variance"]
    params = stock.product_parameters(network).reindex(products)
    lead = pd.Series(stock.site_lead_times(network), index=network.sites.index).reindex(sites).to_numpy()[:, None]
    quantity = stock.order_quantity(mean, params["ordering_cost"].to_numpy()[None, :],
                                    params["holding_per_year"].to_numpy()[None, :], settings.period_days,
                                    inventory.review_days)
    safety = stock.safety_stock(params["z"].to_numpy()[None, :], lead, settings.period_days, variance)
    return np.rint(safety), np.rint(stock.cycle_stock(quantity) + safety)


def read_inputs(network: Network, inventory: Path, targets: Path | None = None, in_transit: Path | None = None,
                run_days: float = 1.0) -> RebalanceInputs:
    """Read and check the run's input files against ``network``.

    Args:
        network: The dataset.
        inventory: inventory.csv (which sites take part, and their stock).
        targets: targets.csv, or None for the pooled stock formulas.
        in_transit: in_transit.csv, or None.
        run_days: Length of the run, days (in-transit stock arriving within it counts).

    Returns:
        The arrays of the run.

    Raises:
        InputError: Every problem found, each naming its file, line and field.
    """
    problems: list[Problem] = []
    files = {"inventory": str(inventory)}
    inv = _parse(INVENTORY, inventory, problems)
    tgt = _parse(TARGETS, targets, problems) if targets is not None else None
    transit = _parse(IN_TRANSIT, in_transit, problems) if in_transit is not None else None
    participating: set[str] | None = None
    if inv is not None and {"site", "product", "on_hand"} <= inv.values.keys():
        check_whole(inv, ("on_hand",), problems)
        ok = _check_ids(inv, "site", network.sites.index, "sites.csv", problems)
        _check_ids(inv, "product", network.products.index, "products.csv", problems)
        _check_operating(inv, "site", ok, network, None, problems)
        participating = set(inv.values["site"])
    if tgt is not None:
        files["targets"] = str(targets)
        if {"site", "product", "target"} <= tgt.values.keys():
            check_whole(tgt, ("target", "min", "max"), problems)
            ok = _check_ids(tgt, "site", network.sites.index, "sites.csv", problems)
            _check_ids(tgt, "product", network.products.index, "products.csv", problems)
            _check_operating(tgt, "site", ok, network, participating, problems)
            _check_target_order(tgt, problems)
    if transit is not None:
        files["in_transit"] = str(in_transit)
        if {"to", "product", "quantity"} <= transit.values.keys():
            check_whole(transit, ("quantity",), problems)
            ok = _check_ids(transit, "to", network.sites.index, "sites.csv", problems)
            _check_ids(transit, "product", network.products.index, "products.csv", problems)
            _check_operating(transit, "to", ok, network, participating, problems)
    pack = network.products["pack_size"] if "pack_size" in network.products.columns else \
        pd.Series(1.0, index=network.products.index)
    fractional = pack[pack != np.round(pack)]
    for product, value in fractional.items():
        problems.append(Problem(str(Path(network.source) / "products.csv"), f"product '{product}': pack_size {value:g} is not a whole number",
                                field="pack_size"))
    if problems or inv is None:
        raise InputError(problems)
    frames = [_frame(inv, ("site", "product"))] + ([_frame(tgt, ("site", "product"))] if tgt is not None else [])
    if transit is not None:
        frames.append(_frame(transit, ("to", "product")).rename(columns={"to": "site"}))
    used = set(pd.concat(frames)["product"].unique().tolist())
    products = pd.Index([p for p in network.products.index if p in used], dtype=object)
    sites = pd.Index([s for s in network.sites.index if s in participating], dtype=object)
    rates = _penalties(network, products, problems)
    if problems:
        raise InputError(problems)
    on_hand = _grids(_frame(inv, ("site", "product", "on_hand")), {"on_hand": 0.0}, sites, products)["on_hand"]
    arriving = np.zeros_like(on_hand)
    if transit is not None:
        rows = _frame(transit, ("to", "product", "quantity", "arrival_days")).rename(columns={"to": "site"})
        rows = rows[rows["arrival_days"] <= run_days]
        arriving = _grids(rows.groupby(["site", "product"], as_index=False)["quantity"].sum(), {"quantity": 0.0},
                          sites, products)["quantity"]
    if tgt is not None:
        rows = _frame(tgt, ("site", "product", "target", "min", "max"))
        rows["min"] = rows["min"].where(~rows["min"].isna(), rows["target"])
        grids = _grids(rows, {"target": 0.0, "min": 0.0, "max": np.inf}, sites, products)
        target, minimum, maximum = grids["target"], grids["min"], grids["max"]
        maximum[np.isnan(maximum)] = np.inf  # inf - inf on a listed row with max blank
        source = "targets.csv"
    else:
        minimum, target = pooled_targets(network, sites, products)
        maximum = np.full_like(target, np.inf)
        source = "pooled stock formulas"
    return RebalanceInputs(
        sites=list(sites), products=list(products), on_hand=on_hand.astype(np.int64),
        arriving=arriving.astype(np.int64), minimum=minimum, target=target, maximum=maximum,
        shortage=rates["shortage"], below_target=rates["below_target"], excess=rates["excess"],
        volume=network.products["volume"].reindex(products).to_numpy(dtype=float),
        pack_size=pack.reindex(products).to_numpy(dtype=float).astype(np.int64), run_days=float(run_days),
        targets_from=source, files=files)


def _check_target_order(parsed: ParsedTable, problems: list[Problem]) -> None:
    """``min <= target <= max`` on every row."""
    target, minimum, maximum = (parsed.values[c] for c in ("target", "min", "max"))
    with np.errstate(invalid="ignore"):
        low = minimum > target
        high = maximum < target
    report_rows(problems, parsed.display, "min", parsed.lines[low], list(zip(minimum[low], target[low])),
                lambda v: f"min {v[0]:g} is above target {v[1]:g}; min must be <= target", "min above target")
    report_rows(problems, parsed.display, "max", parsed.lines[high], list(zip(maximum[high], target[high])),
                lambda v: f"max {v[0]:g} is below target {v[1]:g}; max must be >= target", "max below target")


def describe(inputs: RebalanceInputs) -> dict[str, Any]:
    """A short description of the run's inputs (for the summary)."""
    return {"sites": len(inputs.sites), "products": len(inputs.products), "run_days": inputs.run_days,
            "targets_from": inputs.targets_from, "units_on_hand": int(inputs.on_hand.sum()),
            "units_arriving": int(inputs.arriving.sum())}
