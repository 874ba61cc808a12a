"""An expansion study and its plan, as data (no model, no solver).

A study has named study periods, each ``years`` long and each with its own network (the base
dataset with the study's overrides and growth applied); the dataset's quantities and costs stay
per ``period_days`` (a week in the demo).  Money over the study:

* a study period's operating cost is its per-period cost x 365 x years / period_days; year ``j``
  of the study (0 = the first) is discounted by ``(1 + discount_rate) ** -j``, so a period of
  ``years`` years starting ``Y`` years into the study weighs ``sum_{j<years} (1+r)**-(Y+j)`` years
  of operating cost (:func:`operating_weight`);
* capex (opening and modules) and closing costs are one-off, paid at the start of the period of
  the decision (discount ``(1+r)**-Y``), charged once (never spread over ``horizon_periods`` into a
  per-period cost); a site the base dataset operates that the study closes in its first period
  (a ``close:`` override, top-level or the first period's, or ``forced_closed`` in sites.csv with a
  closing cost) operated before the study and closes in the first period, paying its closing cost
  there, as a closing in any later period does (:meth:`Study.initially_held`);
* residual value: capex paid ``Y`` years into a study of ``E`` years is worth
  ``capex x max(0, 1 - (E - Y) / asset_life_years)`` at the end (straight-line), credited
  discounted by ``(1+r)**-E`` (:func:`residual_fraction`).

The plan (:class:`ExpansionPlan`) holds, per period, which sites are held (opened or being
built), which serve, the modules bought, and the period's :class:`~optimizer.plan.Plan`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizer.network import Network, Settings
from optimizer.plan import Plan

#: Days per year of the study's money arithmetic.
DAYS_PER_YEAR = 365.0


@dataclass(frozen=True)
class StudyPeriod:
    """One study period.

    Attributes:
        name: Its name (``"2027"``).
        years: Length in years (whole number >= 1).
        start_years: Years of the study before it starts.
        network: The period's network (base + study overrides + growth + the period's overrides).
    """

    name: str
    years: int
    start_years: int
    network: Network


@dataclass(frozen=True)
class Committed:
    """A decision already taken: ``action`` (``open``, ``close`` or ``modules``) at ``site`` in ``period``.

    Attributes:
        site: Site id.
        period: Index of the study period.
        action: ``open``, ``close`` or ``modules``.
        modules: Number of modules (``modules`` only).
    """

    site: str
    period: int
    action: str
    modules: int = 0


@dataclass(frozen=True)
class DemandPath:
    """One named demand path of an uncertain study.

    Attributes:
        name: Its name (``"high"``).
        probability: Its probability (the paths' sum to 1).
        periods: The study periods with the path's demand (other data as the study's).
    """

    name: str
    probability: float
    periods: tuple[StudyPeriod, ...]


@dataclass(frozen=True)
class Uncertainty:
    """The demand paths of a two-stage stochastic study.

    Attributes:
        paths: The named paths.
        shared_periods: The first ``shared_periods`` study periods' decisions (held sites, modules,
            hence openings and closings) are taken before the path is known: identical on every path.
        worst_case_weight: ``w`` in the objective ``(1 - w) x expected + w x the dearest path``.
    """

    paths: tuple[DemandPath, ...]
    shared_periods: int = 1
    worst_case_weight: float = 0.0

    @property
    def probabilities(self) -> np.ndarray:
        """The paths' probabilities, shape (P,)."""
        return np.array([p.probability for p in self.paths])


@dataclass(frozen=True)
class Study:
    """An expansion study, validated.

    Attributes:
        name: Study name.
        source: The study file, for messages.
        periods: The study periods in order.
        options: Per-site options (expansion.csv columns, every site of the base, defaults filled), indexed
            by site id in the sites' order: ``opening_capex``, ``build_periods``, ``module_size``,
            ``module_capex``, ``max_modules``, ``earliest_close`` (period index), ``min_open_periods``,
            ``may_reopen`` (bool).
        discount_rate: Per year (fraction).
        budget_per_period: Most capex per study period, currency (``inf``: none), shape (T,).
        budget_total: Most capex over the study, currency (``inf``: none).
        committed: Decisions already taken.
        unmet_penalty: Currency per unit of demand not served, ``None``: all demand must be served.
        asset_life_years: Straight-line life of capex for its residual value.
        uncertainty: Demand paths (``None``: one deterministic path, :attr:`periods`).
        base_sites: The base dataset's sites table before the study's overrides (``status`` and
            ``closing_cost`` are read), indexed by site id; ``None``: the first period's.
    """

    name: str
    source: str
    periods: tuple[StudyPeriod, ...]
    options: pd.DataFrame
    discount_rate: float = 0.0
    budget_per_period: np.ndarray = field(default_factory=lambda: np.zeros(0))
    budget_total: float = float("inf")
    committed: tuple[Committed, ...] = ()
    unmet_penalty: float | None = None
    asset_life_years: float = 20.0
    uncertainty: Uncertainty | None = None
    base_sites: pd.DataFrame | None = None

    @property
    def n_periods(self) -> int:
        """Number of study periods."""
        return len(self.periods)

    @property
    def total_years(self) -> int:
        """Length of the study in years."""
        return sum(p.years for p in self.periods)

    @property
    def settings(self) -> Settings:
        """The first period's settings (its solver settings are the study's defaults)."""
        return self.base.settings

    @property
    def base(self) -> Network:
        """The first period's network (its sites define the study's site list)."""
        return self.periods[0].network

    def path_study(self, k: int) -> Study:
        """The deterministic study of demand path ``k``."""
        assert self.uncertainty is not None
        path = self.uncertainty.paths[k]
        return dataclasses.replace(self, name=f"{self.name} [{path.name}]", periods=path.periods, uncertainty=None)

    def expected_study(self) -> Study:
        """The deterministic study of the expected path: each demand row's quantity and standard
        deviation are the probability-weighted means over the paths (rows are aligned: every path
        scales the same rows of the same base)."""
        assert self.uncertainty is not None
        prob = self.uncertainty.probabilities
        periods = []
        for t, period in enumerate(self.periods):
            demand = period.network.demand.copy()
            for column in ("quantity", "std"):
                demand[column] = sum(p * path.periods[t].network.demand[column].to_numpy(dtype=float)
                                     for p, path in zip(prob, self.uncertainty.paths))
            periods.append(dataclasses.replace(period, network=dataclasses.replace(period.network, demand=demand)))
        return dataclasses.replace(self, name=f"{self.name} [expected path]", periods=tuple(periods),
                                   uncertainty=None)

    def module_capacity(self) -> np.ndarray:
        """Capacity all of each site's modules add together, volume units per period, shape (S,)."""
        size = self.options["module_size"].to_numpy(dtype=float)
        return np.where(size > 0, size * self.options["max_modules"].to_numpy(dtype=float), 0.0)

    def initially_held(self) -> np.ndarray:
        """Sites operating before the study starts, shape (S,).

        A site operates before the study when the first period has it ``existing`` or ``forced_open``,
        or when the first period has it ``forced_closed`` and the base dataset (before the study's
        overrides) operates it: ``existing`` or ``forced_open`` there, or ``forced_closed`` with a
        positive ``closing_cost`` (a closure decided outside the model, FORMAT.md).  Such a site closes in
        the first period (it may not serve there), so it pays its closing cost in that period, as a site
        closed by a later period's override does.  A ``forced_closed`` site without a closing cost that
        the base does not operate (a candidate ruled out) does not operate before the study.
        """
        first = self.base.sites
        status = first["status"].to_numpy()
        raw = first if self.base_sites is None else self.base_sites.reindex(first.index)
        raw_status = raw["status"].to_numpy()
        raw_cost = np.nan_to_num(raw["closing_cost"].to_numpy(dtype=float))
        operated = (raw_status == "existing") | (raw_status == "forced_open") | \
            ((raw_status == "forced_closed") & (raw_cost > 0))
        return (status == "existing") | (status == "forced_open") | ((status == "forced_closed") & operated)


def operating_weight(years: int, start_years: int, rate: float, period_days: float) -> float:
    """Discounted weight of a per-period (``period_days``) cost over one study period, in periods."""
    j = start_years + np.arange(years)
    return float(np.sum((1.0 + rate) ** -j.astype(float)) * DAYS_PER_YEAR / period_days)


def residual_fraction(start_years: int, total_years: int, life_years: float) -> float:
    """Share of capex paid ``start_years`` into the study still worth something at its end (straight line)."""
    return max(0.0, 1.0 - (total_years - start_years) / life_years)


@dataclass
class ExpansionPlan:
    """What a study decided, per period.

    Attributes:
        held: Sites x periods, bool: the site is opened (serving or being built) in the period.
        serving: Sites x periods, bool: the site serves in the period.
        modules: Sites x periods, int: modules bought in the period.
        plans: One plan per period (open sites = serving sites, flows, routes, claimed per-period costs).
        unmet: One table per period: ``region``, ``product``, ``quantity`` (units per period not served).
        npv_costs: Claimed net present cost per component (currency), summing to ``objective``.
        objective: Claimed net present cost, currency.
        held0: Sites held before the study, shape (S,).
    """

    held: pd.DataFrame
    serving: pd.DataFrame
    modules: pd.DataFrame
    plans: list[Plan]
    unmet: list[pd.DataFrame]
    npv_costs: dict[str, float] = field(default_factory=dict)
    objective: float = 0.0
    held0: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
