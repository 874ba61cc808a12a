"""The dataset format, declared once.

Every input table (``sites.csv``, ``regions.csv``, ``products.csv``,
``demand.csv``) is a :class:`Table` of :class:`Column` declarations, and every
``network.yaml`` key is a :class:`Key`.  These declarations drive the reader's
validation (:mod:`optimizer.io.dataset`), its error messages and the format
documentation: :func:`format_markdown` renders them, and ``docs/FORMAT.md`` is
its output (regenerate with ``python -m optimizer.schema > docs/FORMAT.md``;
a test fails when the two drift apart).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from optimizer.io.files import MAX_CSV_BYTES, MAX_YAML_BYTES
from optimizer.io.yamlfile import MAX_ALIASES, MAX_DEPTH, MAX_NODES
from optimizer.network import (SITE_STATUSES, InventorySettings, RebalanceSettings, Settings, SolverSettings,
                               TransportSettings)

#: Largest magnitude of a quantity, capacity, distance or duration a dataset may hold (units, km, days).
#: HiGHS treats 1e20 as infinite and loses precision long before; with costs up to :data:`MAX_COST`
#: the products the model forms stay representable.
MAX_QUANTITY = 1e12
#: Largest magnitude of a cost or value a dataset may hold (currency per its unit).
MAX_COST = 1e15

#: Value types a CSV column may have.
COLUMN_TYPES = ("str", "float", "enum")
#: Value types a network.yaml key may have.
KEY_TYPES = ("str", "float", "int", "bool", "enum", "mapping")


def _num(value: float) -> str:
    """A bound as written in rules and docs: ``0``, ``-90``, ``0.5``."""
    return f"{value:g}"


@dataclass(frozen=True, kw_only=True)
class Field:
    """What a CSV column and a YAML key have in common: a typed, bounded value.

    Attributes:
        name: Column name, or dotted YAML path (``constraints.max_sites``).
        type: One of :data:`KEY_TYPES` (CSV columns: :data:`COLUMN_TYPES`).
        description: One sentence for the docs.
        unit: Unit of a number (``"degrees"``, ``"currency per period"``), if any.
        min: Lowest allowed number, if bounded below.
        max: Highest allowed number, if bounded above.
        min_inclusive: Whether ``min`` itself is allowed (False: strictly greater).
        max_inclusive: Whether ``max`` itself is allowed (False: strictly less).
        choices: Allowed values of an ``enum``.
    """

    name: str
    type: str
    description: str
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True
    choices: tuple[str, ...] = ()

    @property
    def numeric(self) -> bool:
        """Whether values are numbers (``float`` or ``int``)."""
        return self.type in ("float", "int")

    def range_text(self) -> str:
        """The bounds in words, e.g. ``>= 0``, ``between -90 and 90``, ``>= 0 and < 1``; empty if unbounded."""
        low = None if self.min is None else (">= " if self.min_inclusive else "> ") + _num(self.min)
        high = None if self.max is None else ("<= " if self.max_inclusive else "< ") + _num(self.max)
        if low and high and self.min_inclusive and self.max_inclusive:
            return f"between {_num(self.min)} and {_num(self.max)}"  # type: ignore[arg-type]
        return " and ".join(part for part in (low, high) if part)

    def in_range(self, value: float) -> bool:
        """Whether a number satisfies the bounds."""
        if self.min is not None and (value < self.min if self.min_inclusive else value <= self.min):
            return False
        if self.max is not None and (value > self.max if self.max_inclusive else value >= self.max):
            return False
        return True

    def type_text(self) -> str:
        """The value type in words, e.g. ``number >= 0``, ``whole number``, ``one of: a, b``."""
        if self.type == "enum":
            return "one of: " + ", ".join(self.choices)
        if self.type == "bool":
            return "true or false"
        if self.type == "str":
            return "text"
        if self.type == "mapping":
            return "mapping"
        kind = "whole number" if self.type == "int" else "number"
        bounds = self.range_text()
        return f"{kind} {bounds}" if bounds else kind

    def rule(self, with_type: bool = True) -> str:
        """What is allowed, for error messages.

        Args:
            with_type: Say what kind of value is expected (``must be a number >= 0``)
                rather than only the bounds (``must be >= 0``).

        Returns:
            E.g. ``capacity must be >= 0 (volume units per period)``.
        """
        if self.numeric and not with_type and self.range_text():
            text = f"{self.name} must be {self.range_text()}"
        elif self.numeric:
            text = f"{self.name} must be a {self.type_text()}"
        else:
            text = f"{self.name} must be {self.type_text()}"
        return f"{text} ({self.unit})" if self.unit else text


@dataclass(frozen=True, kw_only=True)
class Column(Field):
    """One column of a CSV table.

    Blank cells of optional columns (and optional columns left out of the
    file) take the default; required columns must be present and non-blank.

    Attributes:
        required: The column must be in the header and every cell filled.
        default: Value of blank cells of an optional column.
        default_from: Name of the column whose value a blank cell copies (``name`` defaults to ``id``).
        allow_inf: ``inf`` is an allowed value (``capacity``: unlimited).
        references: File name of the table whose ids the values must be (demand's region and product).
        nonzero_only_if: ``(column, values)``: a nonzero value is allowed only on rows where that column has
            one of these values.
        default_doc: The default as written in the docs, when ``default`` alone is not clear.
    """

    required: bool = False
    default: Any = None
    default_from: str | None = None
    allow_inf: bool = False
    references: str | None = None
    nonzero_only_if: tuple[str, tuple[str, ...]] | None = None
    default_doc: str | None = None

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise ValueError(f"column {self.name}: type {self.type!r} is not one of {COLUMN_TYPES}")

    def rule(self, with_type: bool = True) -> str:
        """What is allowed, for error messages (adds what ``inf`` and blank mean)."""
        text = super().rule(with_type)
        if self.allow_inf:
            text += "; blank or 'inf' means unlimited" if self.default == float("inf") else "; 'inf' is allowed"
        return text

    def requirement_text(self) -> str:
        """The required/default cell of the docs."""
        if self.required:
            return "required"
        if self.default_doc is not None:
            return f"optional, default: {self.default_doc}"
        if self.default_from is not None:
            return f"optional, default: the {self.default_from}"
        if self.default == float("inf"):
            return "optional, default: inf (unlimited)"
        value = _num(self.default) if isinstance(self.default, float) else self.default
        return f"optional, default: {value}"


@dataclass(frozen=True)
class Table:
    """One CSV file of a dataset.

    Attributes:
        file: File name in the dataset folder.
        key: Columns whose values identify a row; unique together.
        indexed: The Network's DataFrame is indexed by the single key column.
        columns: Columns in the Network's DataFrame order (the key column of an indexed table first).
        description: What a row is.
        min_rows: Fewest data rows allowed.
        optional: The file may be left out of a dataset.
    """

    file: str
    key: tuple[str, ...]
    indexed: bool
    columns: tuple[Column, ...]
    description: str
    min_rows: int = 1
    optional: bool = False

    @property
    def column_names(self) -> list[str]:
        """Names of all declared columns, in order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The declaration of column ``name``."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def frame_columns(self) -> list[str]:
        """Columns of the Network's DataFrame (the index column excluded)."""
        return [c.name for c in self.columns if not (self.indexed and c.name in self.key)]


@dataclass(frozen=True, kw_only=True)
class Key(Field):
    """One ``network.yaml`` key.

    Attributes:
        default: Value when the key is absent.
        nullable: ``null`` (or an empty value) is allowed and means "no limit" / "not set".
        default_doc: Default as written in the docs, when ``default`` alone is not clear.
    """

    default: Any = None
    nullable: bool = False
    default_doc: str | None = None

    def __post_init__(self) -> None:
        if self.type not in KEY_TYPES:
            raise ValueError(f"key {self.name}: type {self.type!r} is not one of {KEY_TYPES}")

    def rule(self, with_type: bool = True) -> str:
        """What is allowed, for error messages (adds ``or null`` for nullable keys)."""
        text = super().rule(with_type)
        return f"{text}, or null" if self.nullable else text

    @property
    def section(self) -> str | None:
        """The mapping the key lives in (``constraints``, ``solver``), None at top level."""
        return self.name.split(".")[0] if "." in self.name else None

    @property
    def leaf(self) -> str:
        """The key as written in its mapping (``max_sites``)."""
        return self.name.split(".")[-1]


_ID = "Unique identifier (text; compared exactly, surrounding spaces removed)."
_NAME = "Display name used in reports."

SITES = Table(
    file="sites.csv",
    key=("id",),
    indexed=True,
    description="One row per candidate or existing warehouse site.",
    columns=(
        Column(name="id", type="str", required=True, description=_ID),
        Column(name="name", type="str", default_from="id", description=_NAME),
        Column(name="lat", type="float", unit="degrees", required=True, min=-90, max=90, description="Latitude."),
        Column(name="lon", type="float", unit="degrees", required=True, min=-180, max=180, description="Longitude."),
        Column(
            name="capacity", type="float", unit="volume units per period", min=0, max=MAX_QUANTITY, allow_inf=True,
            default=float("inf"),
            description="Most product volume the site can handle per period; blank or `inf` means unlimited.",
        ),
        Column(
            name="fixed_cost", type="float", unit="currency per period", required=True, min=0, max=MAX_COST,
            description="Rent plus fixed operating cost, paid in every period the site is open.",
        ),
        Column(
            name="handling_cost", type="float", unit="currency per volume unit", min=0, max=MAX_COST, default=0.0,
            description="Cost per volume unit of throughput.",
        ),
        Column(
            name="status", type="enum", choices=SITE_STATUSES, default="candidate",
            description="`candidate`: may open; `existing`: open today, may close (paying closing_cost); "
            "`forced_open`: must be open; `forced_closed`: must stay closed.",
        ),
        Column(
            name="closing_cost", type="float", unit="currency", min=0, max=MAX_COST, default=0.0,
            nonzero_only_if=("status", ("existing", "forced_closed")),
            description="One-off cost of closing a site that operates today: paid when an `existing` site "
            "closes, and always by a `forced_closed` one (a closure decided outside the model). Spread over "
            "network.yaml's horizon_periods: each period is charged closing_cost / horizon_periods.",
        ),
        Column(
            name="lead_time_days", type="float", unit="days", min=0, max=MAX_QUANTITY, default=float("nan"),
            default_doc="network.yaml's inventory lead_time_days",
            description="Replenishment lead time of the site (pooled inventory model).",
        ),
        # rebalancing (issue 13): dock limits of a transfer run
        Column(
            name="max_outbound", type="float", unit="units per run", min=0, max=MAX_QUANTITY, allow_inf=True,
            default=float("inf"),
            description="Rebalancing: most units (all products together) leaving the site in one run, "
            "passing-through units included; blank or `inf` means unlimited.",
        ),
        Column(
            name="max_inbound", type="float", unit="units per run", min=0, max=MAX_QUANTITY, allow_inf=True,
            default=float("inf"),
            description="Rebalancing: most units (all products together) arriving at the site in one run, "
            "passing-through units included; blank or `inf` means unlimited.",
        ),
    ),
)

REGIONS = Table(
    file="regions.csv",
    key=("id",),
    indexed=True,
    description="One row per demand region (customers are aggregated at the region's point).",
    columns=(
        Column(name="id", type="str", required=True, description=_ID),
        Column(name="name", type="str", default_from="id", description=_NAME),
        Column(name="lat", type="float", unit="degrees", required=True, min=-90, max=90, description="Latitude."),
        Column(name="lon", type="float", unit="degrees", required=True, min=-180, max=180, description="Longitude."),
    ),
)

PRODUCTS = Table(
    file="products.csv",
    key=("id",),
    indexed=True,
    description="One row per product (or product family).",
    columns=(
        Column(name="id", type="str", required=True, description=_ID),
        Column(name="name", type="str", default_from="id", description=_NAME),
        Column(
            name="unit_value", type="float", unit="currency per unit", min=0, max=MAX_COST, default=0.0,
            description="Value of one unit, the basis of the holding cost.",
        ),
        Column(
            name="volume", type="float", unit="volume units per unit", min=0, max=MAX_QUANTITY, min_inclusive=False,
            default=1.0,
            description="Space one unit takes; site capacity and handling cost are in these volume units.",
        ),
        Column(name="weight_kg", type="float", unit="kg per unit", min=0, max=MAX_QUANTITY, default=0.0,
               description="Weight of one unit."),
        Column(
            name="holding_rate", type="float", unit="fraction per year", min=0, max=MAX_QUANTITY, default=0.0,
            description="Yearly holding cost as a fraction of unit_value (0.25 = 25 % per year).",
        ),
        Column(
            name="shipping_cost_per_km", type="float", unit="currency per unit per km", required=True, min=0,
            max=MAX_COST,
            description="Cost of moving one unit one road km from a site to a region.",
        ),
        Column(
            name="service_level", type="float", unit="fraction", min=0, max=1, min_inclusive=False,
            max_inclusive=False, default=0.95,
            description="Probability of no stock-out in a replenishment cycle (pooled inventory model).",
        ),
        Column(
            name="ordering_cost", type="float", unit="currency per order", min=0, max=MAX_COST, default=0.0,
            description="Fixed cost of one replenishment order; 0 orders every inventory review_days "
            "instead of the EOQ (pooled inventory model).",
        ),
        # rebalancing (issue 13)
        Column(
            name="pack_size", type="float", unit="units", min=1, max=MAX_QUANTITY, default=1.0,
            description="Rebalancing: transfers move whole packs of this many units (a whole number; 1 = "
            "single units). A pack size above 1 makes the rebalancing model a MIP.",
        ),
    ),
)

DEMAND = Table(
    file="demand.csv",
    key=("region", "product"),
    indexed=False,
    description="One row per (region, product) pair with demand; pairs not listed have no demand.",
    columns=(
        Column(name="region", type="str", required=True, references="regions.csv", description="A region id."),
        Column(name="product", type="str", required=True, references="products.csv", description="A product id."),
        Column(
            name="quantity", type="float", unit="units per period", required=True, min=0, max=MAX_QUANTITY,
            description="Mean demand.",
        ),
        Column(
            name="std", type="float", unit="units per period", min=0, max=MAX_QUANTITY, default=0.0,
            description="Standard deviation of demand, independent between regions (drives safety stock "
            "in the pooled inventory model).",
        ),
    ),
)

SUPPLIERS = Table(
    file="suppliers.csv",
    key=("id",),
    indexed=True,
    optional=True,
    description="Optional: one row per supplier (plant, port, vendor). With suppliers, every unit a site "
    "ships must reach it from a supplier over links; without, every open site is its own source.",
    columns=(
        Column(name="id", type="str", required=True, description=_ID + " Distinct from every site id."),
        Column(name="name", type="str", default_from="id", description=_NAME),
        Column(name="lat", type="float", unit="degrees", required=True, min=-90, max=90, description="Latitude."),
        Column(name="lon", type="float", unit="degrees", required=True, min=-180, max=180, description="Longitude."),
    ),
)

SUPPLY = Table(
    file="supply.csv",
    key=("supplier", "product"),
    indexed=False,
    optional=True,
    description="What each supplier provides (needs suppliers.csv); a supplier provides only the products "
    "listed for it.",
    columns=(
        Column(name="supplier", type="str", required=True, references="suppliers.csv",
               description="A supplier id."),
        Column(name="product", type="str", required=True, references="products.csv", description="A product id."),
        Column(name="capacity", type="float", unit="units per period", min=0, max=MAX_QUANTITY, allow_inf=True,
               default=float("inf"), description="Most units the supplier provides per period."),
        Column(name="unit_cost", type="float", unit="currency per unit", min=0, max=MAX_COST, default=0.0,
               description="Purchase or production cost, part of the inbound cost."),
    ),
)

LINKS = Table(
    file="links.csv",
    key=("from", "to", "mode"),
    indexed=False,
    optional=True,
    description="Optional: transport links. `from` -> `to` may be supplier -> site (inbound), site -> site "
    "(transfer) or site -> region (an outbound lane in addition to the distance-based ones). Moving one "
    "volume unit over a link costs cost_per_volume + cost_per_volume_km x km. Without this file a network "
    "with suppliers links every supplier to every site and each site to its transport k_nearest sites by road.",
    columns=(
        Column(name="from", type="str", required=True, description="A supplier or site id."),
        Column(name="to", type="str", required=True,
               description="A site or region id (an id that is also a site or supplier id is ambiguous here)."),
        Column(name="mode", type="str", default="road",
               description="Transport mode (truck, rail, sea, ...); parallel links differ by mode."),
        Column(name="cost_per_volume", type="float", unit="currency per volume unit", min=0, max=MAX_COST, default=0.0,
               description="Cost per volume unit moved, independent of distance."),
        Column(name="cost_per_volume_km", type="float", unit="currency per volume unit per km", min=0, max=MAX_COST,
               default=0.0, description="Cost per volume unit per km of the link."),
        Column(name="distance_km", type="float", unit="km", min=0, max=MAX_QUANTITY, default=float("nan"),
               default_doc="great-circle km x circuity",
               description="Length of the link (sea and rail lanes are rarely great circles)."),
        Column(name="capacity", type="float", unit="volume units per period", min=0, max=MAX_QUANTITY, allow_inf=True,
               default=float("inf"), description="Most volume over the link per period, all products together."),
        Column(name="transit_days", type="float", unit="days", min=0, max=MAX_QUANTITY, default=float("nan"),
               default_doc="km / transport km_per_day", description="Time goods spend on the link."),
        Column(name="fixed_cost", type="float", unit="currency per period", min=0, max=MAX_COST, default=0.0,
               description="Paid in every period the link carries anything."),
        # rebalancing (issue 13): per-truck costs of site -> site transfers
        Column(name="truck_capacity", type="float", unit="volume units per truck", min=0, max=MAX_QUANTITY,
               min_inclusive=False, allow_inf=True, default=float("inf"),
               description="Rebalancing: volume one truck carries over the link; with truck_cost, each run pays "
                           "truck_cost per truck started (a MIP). Blank or `inf`: no trucks."),
        Column(name="truck_cost", type="float", unit="currency per truck", min=0, max=MAX_COST, default=0.0,
               description="Rebalancing: cost of one truck over the link in a run (needs truck_capacity)."),
    ),
)

# --- Expansion studies (issue 12): expansion.csv beside a study file -----------------------------

EXPANSION = Table(
    file="expansion.csv",
    key=("site",),
    indexed=True,
    optional=True,
    description="Expansion studies only (a study file with `periods:`, see the README): per-site options, "
    "beside the study file. Sites not listed take every default (no capex, serve at once, no modules). "
    "Periods here are study periods.",
    columns=(
        Column(name="site", type="str", required=True, references="sites.csv",
               description="A site id of the base dataset."),
        Column(name="opening_capex", type="float", unit="currency", min=0, max=MAX_COST, default=0.0,
               description="One-off investment paid in the study period a site is opened (a candidate, or a "
               "closed site reopened)."),
        Column(name="build_periods", type="float", unit="study periods", min=0, max=100, default=0.0,
               description="Whole study periods between the opening decision and the first period the site "
               "serves (1: opened in 2027, serves from 2028). Rent is paid from the first period it serves."),
        Column(name="module_size", type="float", unit="volume units per period", min=0, max=MAX_QUANTITY,
               default=0.0, description="Capacity one expansion module adds, from the period it is bought "
               "(needs a finite site capacity)."),
        Column(name="module_capex", type="float", unit="currency", min=0, max=MAX_COST, default=0.0,
               description="One-off investment of one module."),
        Column(name="max_modules", type="float", unit="modules", min=0, max=1000, default=0.0,
               description="Most modules the site may buy over the study (whole number)."),
        Column(name="earliest_close", type="str", default="",
               default_doc="the first study period",
               description="Name of the first study period in which the site may close."),
        Column(name="min_open_periods", type="float", unit="study periods", min=1, max=100, default=1.0,
               description="Once opened, the site serves at least this many study periods (whole number)."),
        Column(name="may_reopen", type="enum", choices=("true", "false"), default="true",
               description="Whether a site that closed (or an existing site that closes) may open again."),
    ),
)

#: Tables of an expansion study (beside the study file, not in a dataset).
STUDY_TABLES: tuple[Table, ...] = (EXPANSION,)

#: The CSV tables in reading order.
TABLES: tuple[Table, ...] = (SITES, REGIONS, PRODUCTS, DEMAND, SUPPLIERS, SUPPLY, LINKS)

# -- rebalancing inputs (issue 13; `optimizer rebalance`): files given on the command line, not in the dataset --

INVENTORY = Table(
    file="inventory.csv",
    key=("site", "product"),
    indexed=False,
    description="`optimizer rebalance --inventory`: stock on hand today. Only the sites listed take part in the "
    "run, and each must be `existing` or `forced_open` in sites.csv.",
    columns=(
        Column(name="site", type="str", required=True, references="sites.csv", description="A site id."),
        Column(name="product", type="str", required=True, references="products.csv", description="A product id."),
        Column(name="on_hand", type="float", unit="units", required=True, min=0, max=MAX_QUANTITY,
               description="Units in stock (a whole number)."),
    ),
)

TARGETS = Table(
    file="targets.csv",
    key=("site", "product"),
    indexed=False,
    optional=True,
    description="`optimizer rebalance --targets`: the stock each site should hold. Pairs not listed have target, "
    "min and max 0 / 0 / unlimited (their stock may all be sent elsewhere). Without this file, targets are "
    "computed from the pooled stock formulas (see the README).",
    columns=(
        Column(name="site", type="str", required=True, references="sites.csv", description="A site id."),
        Column(name="product", type="str", required=True, references="products.csv", description="A product id."),
        Column(name="target", type="float", unit="units", required=True, min=0, max=MAX_QUANTITY,
               description="Stock wanted after the run (a whole number)."),
        Column(name="min", type="float", unit="units", min=0, max=MAX_QUANTITY, default=float("nan"),
               default_doc="the target",
               description="Stock below which a unit short pays the full shortage penalty (e.g. the safety "
               "stock; a whole number, at most target)."),
        Column(name="max", type="float", unit="units", min=0, max=MAX_QUANTITY, allow_inf=True,
               default=float("inf"),
               description="Stock above which each unit pays the excess penalty (a whole number, at least "
               "target); blank or `inf` means unlimited."),
    ),
)

IN_TRANSIT = Table(
    file="in_transit.csv",
    key=("from", "to", "product", "arrival_days"),
    indexed=False,
    optional=True,
    description="`optimizer rebalance --in-transit`: stock on its way. It counts at its destination when it "
    "arrives within the run (arrival_days <= --run-days), and cannot be sent on in this run.",
    columns=(
        Column(name="from", type="str", required=True, description="Where it comes from (any text: a site, "
               "supplier or vendor id)."),
        Column(name="to", type="str", required=True, references="sites.csv", description="The site it goes to."),
        Column(name="product", type="str", required=True, references="products.csv", description="A product id."),
        Column(name="quantity", type="float", unit="units", required=True, min=0, max=MAX_QUANTITY,
               description="Units on the way (a whole number)."),
        Column(name="arrival_days", type="float", unit="days", required=True, min=0, max=MAX_QUANTITY,
               description="Days from now until it arrives."),
    ),
)

#: The rebalancing input tables, in the order the docs list them.
REBALANCE_TABLES: tuple[Table, ...] = (INVENTORY, TARGETS, IN_TRANSIT)

#: Optional settings file of a dataset.
NETWORK_FILE = "network.yaml"

_S = Settings()
_V = SolverSettings()
_T = TransportSettings()
_I = InventorySettings()
_R = RebalanceSettings()

#: The network.yaml keys (dotted paths for nested mappings).
KEYS: tuple[Key, ...] = (
    Key(name="name", type="str", nullable=True, default=None, default_doc="the folder name",
        description="Dataset name used in reports."),
    Key(name="period_days", type="float", unit="days", min=0, min_inclusive=False, max=MAX_QUANTITY,
        default=_S.period_days,
        description="Length of the planning period; every quantity and cost 'per period' refers to it."),
    Key(name="circuity", type="float", unit="road km per great-circle km", min=1, max=MAX_QUANTITY,
        default=_S.circuity,
        description="Road distance = great-circle distance x circuity."),
    Key(name="distance_method", type="enum", choices=("haversine", "geodesic"), default=_S.distance_method,
        description="`haversine` (sphere, fast) or `geodesic` (WGS-84 ellipsoid, slower, about 0.5 % more exact)."),
    Key(name="days_of_cover", type="float", unit="days", min=0, max=MAX_QUANTITY, default=_S.days_of_cover,
        description="Stock each open site holds, in days of its throughput (the linear inventory model)."),
    Key(name="horizon_periods", type="int", unit="periods", min=1, nullable=True, default=_S.horizon_periods,
        default_doc="one year: 365 / period_days, rounded (52 for weeks)",
        description="Periods over which a one-off cost is spread: an existing site that closes is charged "
                    "closing_cost / horizon_periods in each period."),
    Key(name="constraints.min_sites", type="int", unit="sites", min=0, nullable=True, default=_S.min_sites,
        description="Fewest open sites; null for no minimum."),
    Key(name="constraints.max_sites", type="int", unit="sites", min=0, nullable=True, default=_S.max_sites,
        description="Most open sites; null for no maximum; must be >= min_sites."),
    Key(name="constraints.exact_sites", type="int", unit="sites", min=0, nullable=True, default=_S.exact_sites,
        description="Exact number of open sites; null for free; must lie within min_sites..max_sites."),
    Key(name="constraints.single_sourcing", type="bool", default=_S.single_sourcing,
        description="Each region is served over exactly one lane, for all its products: one site and one mode "
        "(the site's distance-based road lane or one of its site -> region links)."),
    Key(name="constraints.max_service_km", type="float", unit="km", min=0, min_inclusive=False, max=MAX_QUANTITY,
        nullable=True,
        default=_S.max_service_km,
        description="Lanes longer than this road distance do not exist; null for no limit."),
    Key(name="solver.name", type="enum", choices=("highs", "cbc", "scip"), default=_V.name,
        description="Solver backend (the command line can override it)."),
    Key(name="solver.time_limit", type="float", unit="seconds", min=0, min_inclusive=False, nullable=True,
        default=_V.time_limit, description="Stop after this long with the best plan found; null for no limit."),
    Key(name="solver.mip_gap", type="float", unit="fraction", min=0, max=1, max_inclusive=False, nullable=True,
        default=_V.mip_gap,
        description="Stop when the relative gap is below this; null for proven optimality (1e-9)."),
    Key(name="solver.threads", type="int", unit="threads", min=1, nullable=True, default=_V.threads,
        description="Solver threads; null for the solver's choice."),
    Key(name="solver.strategy", type="enum", choices=("auto", "compact", "sites", "decompose"), default=_V.strategy,
        description="`compact`: the whole MIP to the solver; `sites`: branch on the site and link binaries "
        "(HiGHS; small models, pooled stock and single sourcing with suppliers); `decompose`: Lagrangian bound, heuristic plan and a "
        "reduced MIP (one-echelon networks with linear stock); `auto` picks by size and features (the command "
        "line can override it)."),
    Key(name="transport.outbound", type="enum", choices=("distance_and_links", "links_only"), default=_T.outbound,
        description="`distance_and_links`: site -> region links add to the distance-based lanes; "
        "`links_only`: only links serve regions."),
    Key(name="transport.routing", type="enum", choices=("auto", "arc_flow", "shortest_path"), default=_T.routing,
        description="How goods are routed from suppliers to sites: `arc_flow` (exact with link capacities and "
        "fixed costs), `shortest_path` (one cheapest path per supplier and site, a smaller model; only for "
        "uncapacitated links without fixed costs), `auto` picks."),
    Key(name="transport.k_nearest", type="int", unit="sites", min=0, default=_T.k_nearest,
        description="Default lane graph (no links.csv): each site is linked both ways to this many nearest sites."),
    Key(name="transport.cost_per_volume_km", type="float", unit="currency per volume unit per km", min=0,
        max=MAX_COST,
        default=_T.cost_per_volume_km, description="Cost of the default links."),
    Key(name="transport.km_per_day", type="float", unit="km per day", min=0, min_inclusive=False, max=MAX_QUANTITY,
        default=_T.km_per_day, description="Speed for links without transit_days."),
    Key(name="inventory.model", type="enum", choices=("linear", "pooled"), default=_I.model,
        description="`linear`: each site holds days_of_cover days of throughput (fast); `pooled`: cycle plus "
        "safety stock with square-root risk pooling (EOQ cycle stock needs single_sourcing)."),
    Key(name="inventory.lead_time_days", type="float", unit="days", min=0, max=MAX_QUANTITY,
        default=_I.lead_time_days,
        description="Replenishment lead time of sites without their own lead_time_days."),
    Key(name="inventory.review_days", type="float", unit="days", min=0, min_inclusive=False, max=MAX_QUANTITY,
        default=_I.review_days, description="Order interval of products whose ordering_cost is 0."),
    # rebalancing (issue 13): penalties of `optimizer rebalance`
    Key(name="rebalance.shortage_rate", type="float", unit="fraction of unit_value per unit", min=0, max=MAX_COST,
        default=_R.shortage_rate,
        description="Penalty of one unit below a site's min: unit_value x this (the deeper quarters of the "
        "shortfall cost 10, 20 and 30 % more: the sharing rule)."),
    Key(name="rebalance.target_factor", type="float", unit="fraction", min=0, max=1, default=_R.target_factor,
        description="Penalty of one unit between min and target, as a fraction of the below-min penalty."),
    Key(name="rebalance.excess_rate", type="float", unit="fraction of unit_value per unit", min=0, max=MAX_COST,
        default=_R.excess_rate, description="Penalty of one unit above a site's max: unit_value x this."),
    Key(name="rebalance.products", type="mapping", nullable=True, default=None, default_doc="none",
        description="Per-product overrides: product id -> a mapping of shortage_rate, target_factor and/or "
        "excess_rate, e.g. `ELEC: {shortage_rate: 0.2}`."),
    # reports (issue 14): the currency named in headers, the KPI service distance
    Key(name="currency", type="str", nullable=True, default=_S.currency, default_doc="unnamed ('currency')",
        description="Currency of every cost and price (e.g. `USD`); reports name it in every header."),
    Key(name="service_km", type="float", unit="km", min=0, min_inclusive=False, max=MAX_QUANTITY, nullable=True,
        default=_S.service_km, default_doc="max_service_km if set, else 500",
        description="Service distance of the KPI share_within_service_km (share of units delivered within it)."),
)

#: Mappings (sections) of network.yaml.
SECTIONS: tuple[str, ...] = ("constraints", "solver", "transport", "inventory", "rebalance")


def _cell(text: str) -> str:
    """Escape a Markdown table cell."""
    return text.replace("|", "\\|")


def _column_description(table: Table, col: Column) -> str:
    text = col.description
    if col.references:
        text += f" Must be an id of {col.references}."
    if col.nonzero_only_if:
        other, values = col.nonzero_only_if
        text += f" Nonzero only where {other} is " + " or ".join(f"`{v}`" for v in values) + "."
    return text


def _table_markdown(table: Table) -> list[str]:
    key = " + ".join(f"`{k}`" for k in table.key)
    lines = [
        f"## {table.file}",
        "",
        f"{table.description} Rows are identified by {key}"
        + (" (unique)." if len(table.key) == 1 else " (each pair at most once).")
        + f" At least {table.min_rows} data row{'s' if table.min_rows != 1 else ''} required.",
        "",
        "| column | type | unit | required / default | description |",
        "|---|---|---|---|---|",
    ]
    for col in table.columns:
        type_text = col.type_text() + (", or inf" if col.allow_inf else "")
        requirement = col.requirement_text() + (", unique" if table.key == (col.name,) else "")
        lines.append(
            f"| `{col.name}` | {_cell(type_text)} | {col.unit or ''} | {requirement} | "
            f"{_cell(_column_description(table, col))} |"
        )
    return lines + [""]


def _key_default(key: Key) -> str:
    if key.default_doc is not None:
        return key.default_doc
    if key.default is None:
        return "null"
    if isinstance(key.default, bool):
        return str(key.default).lower()
    return _num(key.default) if isinstance(key.default, float) else str(key.default)


def format_markdown() -> str:
    """The dataset format as Markdown (the content of ``docs/FORMAT.md``).

    Returns:
        One Markdown document with a table per input file and one for the network.yaml keys.
    """
    required = ", ".join(f"`{t.file}`" for t in TABLES if not t.optional)
    optional = ", ".join(f"`{t.file}`" for t in TABLES if t.optional)
    lines = [
        "# Dataset format",
        "",
        "<!-- Generated from optimizer/schema.py by `python -m optimizer.schema > docs/FORMAT.md`; do not edit. -->",
        "",
        f"A dataset is a folder holding {required} and optionally {optional} and `{NETWORK_FILE}`. "
        "Other files in the folder are ignored.",
        "",
        "CSV rules, for every table:",
        "",
        "- UTF-8 text (a byte-order mark is accepted), comma separated; the first non-blank line is the header.",
        "- Columns may come in any order; unknown columns are errors (they are usually typos).",
        "- Surrounding spaces of every field are removed; blank lines are ignored.",
        "- Optional columns may be left out of the file or left blank in a row: the default applies.",
        "- Numbers are plain decimals (`12`, `-3.5`, `1e6`; no digit groups such as `1_000` or `1,000`); "
        "`nan` is never allowed, `inf` only where stated.",
        f"- Magnitudes are bounded so that the solver can represent the model: quantities, capacities, "
        f"distances and durations at most {_num(MAX_QUANTITY)}, costs and values at most {_num(MAX_COST)} "
        "(HiGHS treats 1e20 as infinite and loses precision long before). Scenario scaling is checked "
        "against the same bounds.",
        f"- Every file must be a plain file (not a folder, pipe or broken link). CSV files may hold at most "
        f"{MAX_CSV_BYTES >> 20:,} MiB; network.yaml (like scenario and sweep files) at most "
        f"{MAX_YAML_BYTES >> 20} MiB, nested at most {MAX_DEPTH} levels, with at most {MAX_ALIASES} aliases "
        f"(`*name`) and {MAX_NODES:,} values with every alias expanded.",
        "- Ids are text: `007` and `7` are different ids.",
        "- A period is `period_days` long (network.yaml); quantities and costs per period refer to it.",
        "- Demand is in units of each product; capacity and handling are in volume units (units x `volume`).",
        "",
    ]
    for table in TABLES:
        lines += _table_markdown(table)
    lines += [
        "## Rebalancing inputs",
        "",
        "`optimizer rebalance` reads these files besides the dataset (same CSV rules). Stock, targets and "
        "quantities are whole units. Products may carry `pack_size`, sites `max_outbound` / `max_inbound` and "
        "site -> site links `truck_capacity` / `truck_cost` (see their tables above).",
        "",
    ]
    for table in REBALANCE_TABLES:
        lines += ["#" + line if line.startswith("## ") else line for line in _table_markdown(table)]
    lines += [
        f"## {NETWORK_FILE}",
        "",
        "Optional; when absent every key takes its default. When present it must be a YAML mapping. "
        "Nested keys are written inside their section, e.g. `max_sites` under `constraints:`. "
        "Unknown keys are errors. `min_sites` must not exceed `max_sites`, and `exact_sites` must lie "
        "between them when they are set. Numbers are plain decimals as in the CSV files (`1_000`, `0x10` "
        "and `1:30` are not numbers), within the same magnitude bounds.",
        "",
        "| key | type | unit | default | description |",
        "|---|---|---|---|---|",
    ]
    for key in KEYS:
        type_text = key.type_text() + (", or null" if key.nullable else "")
        path = f"{key.section}: {key.leaf}" if key.section else key.name
        lines.append(
            f"| `{path}` | {_cell(type_text)} | {key.unit or ''} | {_key_default(key)} | {_cell(key.description)} |"
        )
    lines.append("")
    for table in STUDY_TABLES:
        lines += _table_markdown(table)
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    sys.stdout.write(format_markdown())
