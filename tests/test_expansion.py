"""Expansion studies: hand-checkable phasing cases on every solver, the study checker, the study file, the CLI.

The networks lie on the equator with circuity 1, so a lane of ``n`` degrees of longitude is
``n x KM_PER_DEG`` road km; one product of volume 1, shipping 0.01 per unit-km.  With a discount
rate of 0 and a period of 7 days, a study period of one year weighs 365 / 7 weeks.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from optimizer.checker.expansion import check_study
from optimizer.cli.main import main
from optimizer.errors import InputError
from optimizer.expansion.floors import period_floors, relaxed_period
from optimizer.expansion.solve import solve_study
from optimizer.expansion.studyfile import is_study, load_study
from optimizer.solvers import available_solvers
from tests.factory import KM_PER_DEG

SOLVERS = available_solvers()
WEEKS = 365 / 7
RATE = 0.01  # shipping, currency per unit-km


def write_case(tmp_path: Path, sites: str, demand: str, study: str, expansion: str | None = None,
               regions: str = "id,lat,lon\nRA,0,0\nRB,0,10\n") -> Path:
    """A dataset folder ``data`` and ``study.yaml`` (and ``expansion.csv``) in ``tmp_path``; returns the study."""
    data = tmp_path / "data"
    data.mkdir(parents=True)
    (data / "sites.csv").write_text(textwrap.dedent(sites).lstrip())
    (data / "regions.csv").write_text(regions)
    (data / "products.csv").write_text(f"id,shipping_cost_per_km\nP,{RATE}\n")
    (data / "demand.csv").write_text(textwrap.dedent(demand).lstrip())
    (data / "network.yaml").write_text("period_days: 7\ncircuity: 1\n")
    (tmp_path / "study.yaml").write_text(textwrap.dedent(study).lstrip())
    if expansion is not None:
        (tmp_path / "expansion.csv").write_text(textwrap.dedent(expansion).lstrip())
    return tmp_path / "study.yaml"


# A existing at RA; B a candidate at RB: serving RB from B saves 40 x 10 degrees of shipping a week,
# far more than B's rent (100 a week) and its capex (1,000), so B opens as early as it may.
TWO_SITES = """
    id,lat,lon,capacity,fixed_cost,status
    A,0,0,100,100,existing
    B,0,10,100,100,candidate
"""
TWO_REGIONS = """
    region,product,quantity
    RA,P,40
    RB,P,40
"""
THREE_PERIODS = 'base: data\nperiods: [{name: "1"}, {name: "2"}, {name: "3"}]\n'


def solved(path: Path, solver: str, **kwargs: object):
    result = solve_study(load_study(path), solver=solver, mip_gap=1e-9, **kwargs)
    assert result.status.value == "optimal", result.messages
    assert result.check is not None and result.check.ok, result.check.violations
    return result


def serving(result, site: str) -> list[bool]:
    return [bool(v) for v in result.plan.serving.loc[site]]


@pytest.mark.parametrize("solver", SOLVERS)
def test_budget_delays_the_opening_by_exactly_the_blocked_periods(tmp_path: Path, solver: str) -> None:
    free = write_case(tmp_path / "free", TWO_SITES, TWO_REGIONS, THREE_PERIODS, "site,opening_capex\nB,1000\n")
    assert serving(solved(free, solver), "B") == [True, True, True]
    capped = write_case(tmp_path / "capped", TWO_SITES, TWO_REGIONS,
                        THREE_PERIODS + 'budget: {per_period: {"1": 999, "2": 0}}\n', "site,opening_capex\nB,1000\n")
    result = solved(capped, solver)
    assert serving(result, "B") == [False, False, True]  # 2 periods without the money: opens 2 periods later
    assert [c["capex"] for c in result.period_costs] == [0.0, 0.0, 1000.0]
    budget = result.to_dict()["budget"]  # 999 left in period 1 < the opening's 1,000: the cap binds there
    assert [p["binds"] for p in budget["per_period"]] == [True, True, False]
    assert budget["per_period"][0]["slack"] == 999.0 and budget["total"]["binds"] is False
    deferred = [{"site": "B", "action": "open", "capex": 1000.0}]  # what period 2's nothing could not pay for
    assert [p["deferred"] for p in budget["per_period"]] == [[], deferred, []]
    roomy = write_case(tmp_path / "roomy", TWO_SITES, TWO_REGIONS,  # 2,500 a period: B opens at once, 1,500 left
                       THREE_PERIODS + 'budget: {per_period: 2500}\n', "site,opening_capex\nB,1000\n")
    assert [p["binds"] for p in solved(roomy, solver).to_dict()["budget"]["per_period"]] == [False, False, False]


def test_period_floors_are_each_periods_best_operating_cost_and_bound_the_study(tmp_path: Path) -> None:
    # B (build 1 period) cannot serve in period 1, so period 1's floor is A serving both regions:
    # rents 100 + shipping 40 x 10 degrees; from period 2 on, both sites serve their own region: rents 200.
    path = write_case(tmp_path, TWO_SITES, TWO_REGIONS, THREE_PERIODS, "site,opening_capex,build_periods\nB,1000,1\n")
    study = load_study(path)
    assert list(relaxed_period(study, 0).sites["status"]) == ["existing", "forced_closed"]
    assert list(relaxed_period(study, 1).sites["status"]) == ["existing", "candidate"]
    floors = period_floors(study, solver="highs", mip_gap=1e-9, time_limit=None, threads=None)
    assert floors.floor == pytest.approx([100 + 40 * 10 * KM_PER_DEG * RATE, 200, 200])
    result = solved(path, "highs")
    weeks = np.array([WEEKS] * 3)
    assert result.bound >= float(floors.floor @ weeks) - 1e-6  # discount rate 0: weight = weeks per year
    assert result.bound <= result.objective * (1 + 1e-9)
    unmet = write_case(tmp_path / "unmet", TWO_SITES, TWO_REGIONS, THREE_PERIODS + "unmet_penalty: 5\n")
    assert period_floors(load_study(unmet), solver="highs", mip_gap=1e-9, time_limit=None, threads=None) is None


MODULE_SITES = """
    id,lat,lon,capacity,fixed_cost,status
    A,0,0,100,100,existing
    B,0,1,100,50,candidate
"""
GROWING = """
    base: data
    growth: {demand: [{rate: 0.5}]}
    periods: [{name: "1"}, {name: "2"}]
"""


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("module_capex,expect_module", [(100.0, True), (100000.0, False)])
def test_a_module_is_bought_instead_of_a_site_only_when_cheaper(tmp_path: Path, solver: str, module_capex: float,
                                                                expect_module: bool) -> None:
    # Demand at RA: 80, then 120 > A's capacity 100.  Either A buys a 50 module (capex module_capex), or
    # B opens 1 degree away (capex 1,000, rent 50 a week, 20 units x 1 degree of shipping a week).
    path = write_case(tmp_path, MODULE_SITES, "region,product,quantity\nRA,P,80\n", GROWING,
                      f"site,opening_capex,module_size,module_capex,max_modules\nA,,50,{module_capex},1\nB,1000,,,\n",
                      regions="id,lat,lon\nRA,0,0\n")
    result = solved(path, solver)
    site_cost = 1000 * (1 - 1 / 20) + WEEKS * (50 + 20 * KM_PER_DEG * RATE)  # B: net capex + a year of rent and km
    assert (module_capex * (1 - 1 / 20) < site_cost) == expect_module  # the hand comparison
    assert int(result.plan.modules.loc["A"].sum()) == (1 if expect_module else 0)
    assert serving(result, "B") == [False, not expect_module]
    if expect_module:
        assert result.plan.modules.loc["A", "2"] == 1  # bought when needed, not before
        assert result.to_dict()["periods"][1]["capacity"]["A"] == 150.0


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_module_carries_inbound_flow_beyond_the_base_capacity(tmp_path: Path, solver: str) -> None:
    # One site, fed by a port over a capacitated rail link: demand grows from 80 to 120 > its capacity 100,
    # so the only plan buys the module in period 2 and receives 120 over the link (the model's bounds on
    # flows into a site follow its capacity with every module, not the base capacity).
    path = write_case(tmp_path, "id,lat,lon,capacity,fixed_cost,status\nA,0,0,100,100,existing\n",
                      "region,product,quantity\nRA,P,80\n", GROWING,
                      "site,module_size,module_capex,max_modules\nA,50,100,1\n", regions="id,lat,lon\nRA,0,0\n")
    data = tmp_path / "data"
    (data / "suppliers.csv").write_text("id,lat,lon\nPORT,0,1\n")
    (data / "supply.csv").write_text("supplier,product,capacity,unit_cost\nPORT,P,1000,1\n")
    (data / "links.csv").write_text("from,to,mode,cost_per_volume,cost_per_volume_km,capacity,transit_days\n"
                                    "PORT,A,rail,1,0,500,1\n")
    result = solved(path, solver)
    assert result.plan.modules.loc["A", "2"] == 1
    assert result.period_costs[1]["inbound"] == pytest.approx(120 * 2 * WEEKS)  # unit cost 1 + link 1 per unit


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_site_with_one_build_period_serves_from_the_next_period(tmp_path: Path, solver: str) -> None:
    path = write_case(tmp_path, TWO_SITES, TWO_REGIONS, THREE_PERIODS, "site,opening_capex,build_periods\nB,1000,1\n")
    result = solved(path, solver)
    assert [bool(v) for v in result.plan.held.loc["B"]] == [True, True, True]  # opened in 1 ...
    assert serving(result, "B") == [False, True, True]                         # ... serves from 2
    assert result.to_dict()["periods"][0]["building_sites"] == ["B"]
    # period 1 ships RB from A (10 degrees); B pays no rent while it is built
    assert result.period_costs[0]["fixed"] == pytest.approx(WEEKS * 100)
    assert result.period_costs[0]["shipping"] == pytest.approx(WEEKS * 40 * 10 * KM_PER_DEG * RATE)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("min_open,expected", [(1, [True, False, False]), (3, [True, True, True])])
def test_a_minimum_open_rule_keeps_a_site_open(tmp_path: Path, solver: str, min_open: int,
                                               expected: list[bool]) -> None:
    study = """
        base: data
        periods:
          - {name: "1"}
          - {name: "2", demand: {regions: [RB], scale: 0}}
          - {name: "3", demand: {regions: [RB], scale: 0}}
    """
    path = write_case(tmp_path, TWO_SITES, TWO_REGIONS, study, f"site,opening_capex,min_open_periods\nB,1000,{min_open}\n")
    assert serving(solved(path, solver), "B") == expected  # RB's demand is gone after period 1


@pytest.mark.parametrize("solver", SOLVERS)
def test_committed_decisions_are_honoured(tmp_path: Path, solver: str) -> None:
    study = THREE_PERIODS + 'committed: [{site: B, open: "2"}, {site: A, modules: 1, period: "3"}]\n'
    path = write_case(tmp_path, TWO_SITES, TWO_REGIONS, study,
                      "site,opening_capex,module_size,module_capex,max_modules\nA,,10,500,1\nB,1000,,,\n")
    result = solved(path, solver)
    assert serving(result, "B") == [False, True, True]  # the optimum alone would open B in period 1
    assert list(result.plan.modules.loc["A"]) == [0, 0, 1]  # a module nobody needs, bought as committed


def test_net_present_cost_by_hand_with_discounting_and_residual_value(tmp_path: Path) -> None:
    study = THREE_PERIODS.replace('{name: "3"}', '{name: "3", years: 2}') + "discount_rate: 0.1\nasset_life_years: 8\n"
    path = write_case(tmp_path, TWO_SITES, TWO_REGIONS, study, "site,opening_capex\nB,1000\n")
    result = solved(path, "highs")
    weights = [1.0, 1.1 ** -1, 1.1 ** -2 + 1.1 ** -3]  # years 0; 1; 2 and 3
    assert result.costs["fixed"] == pytest.approx(200 * WEEKS * sum(weights))
    assert result.costs["capex"] == pytest.approx(1000 * (1 - (1 - 4 / 8) * 1.1 ** -4))  # paid in year 0, 4-year study
    assert result.costs["shipping"] == pytest.approx(0.0, abs=1e-6)
    assert sum(result.costs.values()) == pytest.approx(result.objective)
    assert result.check.costs["capex"] == pytest.approx(result.costs["capex"])


def test_unmet_penalty_serves_what_pays_and_the_checker_costs_it(tmp_path: Path) -> None:
    # RB lies 10 degrees from A (shipping 11.1 a unit) and B may not open: a penalty of 5 a unit is cheaper
    study = THREE_PERIODS + "unmet_penalty: 5\n"
    path = write_case(tmp_path, TWO_SITES.replace("candidate", "forced_closed"), TWO_REGIONS, study)
    result = solved(path, "highs")
    assert result.costs["unmet"] == pytest.approx(3 * WEEKS * 40 * 5)
    assert all(len(u) == 1 and u["region"].iat[0] == "RB" for u in result.plan.unmet)


def test_checker_rejects_phasing_budget_and_cost_tampering(tmp_path: Path) -> None:
    path = write_case(tmp_path, TWO_SITES, TWO_REGIONS, THREE_PERIODS + "budget: {total: 1500}\n",
                      "site,opening_capex,build_periods\nB,1000,1\n")
    study = load_study(path)
    result = solved(path, "highs")
    plan = result.plan
    plan.serving.loc["B", "1"] = True  # serves while it is being built
    plan.npv_costs["capex"] += 1.0
    report = check_study(study, plan)
    text = "\n".join(report.violations)
    assert not report.ok
    assert "site B, period 1: serves = True" in text
    assert "net present capex cost claimed" in text


def test_checker_rejects_a_module_bought_at_a_closed_site(tmp_path: Path) -> None:
    path = write_case(tmp_path, MODULE_SITES, "region,product,quantity\nRA,P,80\n", GROWING,
                      "site,opening_capex,module_size,module_capex,max_modules\nA,,50,100,1\nB,1000,50,100,1\n",
                      regions="id,lat,lon\nRA,0,0\n")
    result = solved(path, "highs")
    assert not result.plan.held.loc["B"].any() and result.plan.modules.loc["B"].sum() == 0
    result.plan.modules.loc["B", "1"] = 1
    report = check_study(load_study(path), result.plan)
    assert "site B buys a module in 1, when it is not held (closed)" in report.violations


def test_study_file_errors_name_file_line_and_key_path(tmp_path: Path) -> None:
    study = """
        base: data
        growth:
          demand:
            - {where: {lat: {max: 5}}, rate: -3}
        periods:
          - {name: "1"}
          - {name: "2", sites: {ids: [NOPE], scale: {fixed_cost: 1.1}}}
        budget: {per_period: {"9": 5}}
        committed: [{site: B, open: "7"}]
    """
    path = write_case(tmp_path, TWO_SITES, TWO_REGIONS, study, "site,build_periods\nB,1.5\nZZ,0\n")
    with pytest.raises(InputError) as error:
        load_study(path)
    found = {(p.line, p.field) for p in error.value.problems}
    assert (4, "growth.demand[0].rate") in found
    assert (7, "periods[1].sites.ids[0]") in found
    assert (8, "budget.per_period.9") in found
    assert (9, "committed[0].open") in found
    assert (2, "build_periods") in found and (3, "site") in found  # expansion.csv lines and columns


@pytest.mark.parametrize(("committed", "words"), [
    ('[{site: B, open: "2"}, {site: B, close: "2"}]', "committed to both open and close in 2 (also committed[0])"),
    ('[{site: B, modules: 3, period: "2"}]', "committed to 3 module(s) in all, more than it may buy (2"),
    ('[{site: C, open: "1"}]', "forced closed in 1, so it cannot open there"),
    ('[{site: B, close: "1"}]', "candidate that does not operate before the study, so it cannot close in 1"),
    ('[{site: A, open: "1"}]', "operates before the study (existing), so it cannot open in 1"),
])
def test_contradictory_commitments_are_input_errors(tmp_path: Path, committed: str, words: str) -> None:
    # Each once passed validate and made the solve report a generic infeasibility.
    sites = TWO_SITES + "    C,0,5,100,100,forced_closed\n"
    path = write_case(tmp_path, sites, TWO_REGIONS, THREE_PERIODS + f"committed: {committed}\n",
                      "site,module_size,module_capex,max_modules\nB,10,100,2\n")
    with pytest.raises(InputError) as error:
        load_study(path)
    assert any(words in p.message and p.field.startswith("committed[") and p.line == 3
               for p in error.value.problems), error.value.problems


def test_cli_solves_and_validates_a_study(tmp_path: Path) -> None:
    path = write_case(tmp_path, TWO_SITES, TWO_REGIONS, THREE_PERIODS, "site,opening_capex,build_periods\nB,1000,1\n")
    assert is_study(path) and not is_study(tmp_path / "data")
    runner = CliRunner()
    out = tmp_path / "out"
    done = runner.invoke(main, ["solve", str(path), "--json", "--out", str(out)])
    assert done.exit_code == 0, done.output
    doc = json.loads(done.stdout)
    assert doc["kind"] == "expansion" and doc["status"] == "optimal" and doc["check"]["ok"]
    assert sum(doc["costs"].values()) == pytest.approx(doc["objective"])
    assert [p["name"] for p in doc["periods"]] == ["1", "2", "3"]
    assert doc["periods"][0]["opened"] == ["B"] and doc["periods"][0]["capex"] == 1000.0
    assert {"study_sites.csv", "study_costs.csv", "timeline.png"} <= {p.name for p in out.iterdir()}
    assert (out / "timeline.png").read_bytes()[:4] == b"\x89PNG"
    valid = runner.invoke(main, ["validate", str(path), "--json"])
    assert valid.exit_code == 0 and json.loads(valid.stdout)["valid"]
    (tmp_path / "expansion.csv").write_text("site,opening_capex\nB,-1\n")
    invalid = runner.invoke(main, ["validate", str(path), "--json"])
    assert invalid.exit_code == 1 and json.loads(invalid.stdout)["problems"][0]["field"] == "opening_capex"


def test_infeasible_study_is_explained_per_period(tmp_path: Path) -> None:
    study = THREE_PERIODS.replace('{name: "3"}', '{name: "3", demand: {scale: 10}}')
    path = write_case(tmp_path, TWO_SITES, TWO_REGIONS, study)
    result = solve_study(load_study(path))
    assert result.status.value == "infeasible"
    assert any(m.startswith("Period 3:") for m in result.messages)
    assert np.isnan(result.objective or np.nan)


DEMO_STUDY = Path(__file__).resolve().parents[1] / "scenarios" / "demo-expansion.yaml"


def test_demo_study_is_valid_with_uneven_growth() -> None:
    study = load_study(DEMO_STUDY)
    assert [p.name for p in study.periods] == ["2027", "2028", "2029", "2030", "2031"]
    first, last = study.periods[0].network.demand, study.periods[-1].network.demand
    growth = (last.groupby("region")["quantity"].sum() / first.groupby("region")["quantity"].sum()).round(6)
    assert len(set(growth)) >= 3  # at least three regional growth rates, compounded over 4 years
    assert study.base.settings.single_sourcing and study.base.settings.inventory.model == "pooled"
    assert (study.options["max_modules"] > 0).any() and (study.options["build_periods"] > 0).any()


@pytest.mark.slow
def test_demo_study_solves_to_a_checked_plan() -> None:
    result = solve_study(load_study(DEMO_STUDY), time_limit=300)
    assert result.plan is not None and result.check is not None and result.check.ok, result.check
    opened = sum(len(result.to_dict()["periods"][t]["opened"]) for t in range(5))
    assert opened >= 3
    assert result.bound is not None and result.bound <= result.objective


def test_rounded_design_keeps_budgets_and_never_closes_an_opened_site(tmp_path: Path) -> None:
    from optimizer.expansion.model import build_study_model
    from optimizer.expansion.solve import _rounded_design

    sites = TWO_SITES + "    C,0,5,100,100,candidate\n"
    path = write_case(tmp_path, sites, TWO_REGIONS, THREE_PERIODS + "budget: {per_period: 1500, total: 2500}\n",
                      "site,opening_capex\nB,1000\nC,1000\n")
    model = build_study_model(load_study(path))
    x = np.zeros(model.lp.n_cols)
    x[model.u] = 1.0  # an LP that holds every site in every period
    held = _rounded_design(model, x, 0.5)
    opens = held & ~np.column_stack([[True, False, False], held[:, :-1]])
    assert (opens.sum(axis=0) <= [1, 1, 1]).all() and opens.sum() == 2  # 1,000 each: one a period, two in all
    assert held[0].all() and (held[1:, 1:] >= held[1:, :-1]).all()     # A kept, nothing opened closes


def test_study_outputs_never_mix_two_runs_or_share_a_map(tmp_path: Path) -> None:
    # Periods 'a b' and 'a?b' both became map_a_b.png (one map lost); a study without a plan written into the folder
    # of one with a plan left the earlier tables, maps and timeline beside its result.json.
    study = 'base: data\nperiods: [{name: "a b"}, {name: "a?b"}]\n'
    path = write_case(tmp_path, TWO_SITES, TWO_REGIONS, study, "site,opening_capex\nB,1000\n")
    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(main, ["solve", str(path), "--out", str(out)]).exit_code == 0
    assert {"map_a_b.png", "map_a_b_2.png", "timeline.png", "study_sites.csv"} <= {p.name for p in out.iterdir()}
    (tmp_path / "study.yaml").write_text(study + "growth:\n  demand: [{rate: 10.0}]\n")  # far beyond capacity
    assert runner.invoke(main, ["solve", str(path), "--out", str(out)]).exit_code == 2
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["result.json"]


def test_long_period_names_make_writable_map_names(tmp_path: Path) -> None:
    # A period name of 300 characters passed validate, then 'map_PPP....png: File name too long' after the solve.
    long = "p" * 300
    study = f'base: data\nperiods: [{{name: "{long}"}}, {{name: "{long}x"}}]\n'
    path = write_case(tmp_path, TWO_SITES, TWO_REGIONS, study, "site,opening_capex\nB,1000\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["solve", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    maps = sorted(p.name for p in out.glob("map_*.png"))
    assert len(maps) == 2 and all(len(name) < 200 for name in maps)
