"""Expansion study defects: no plan that breaks the model is kept, and a closing is charged however expressed.

1. **Half openings.**  The relax-and-fix design step relaxed the site columns ``y`` on the claim that
   ``y = u - recent openings`` is integer whenever ``u`` is; but openings ``o`` and closings ``c`` were
   continuous, so a held site could open and close by halves (``o = c = 0.5``) and serve half.  The
   fixed design then rounded to a plan that breaks the model's rows, cheaper than any feasible plan,
   and it was kept over the full MIP's optimum, labelled optimal with its bound above its cost.  The
   two studies of ``tests/data/expansion_defects`` (found by fuzzing; their optima by brute force)
   now solve to their optima; a plan that breaks a row is never kept; a bound above the plan's cost
   is named.
2. **First-period closing.**  A site the base dataset operates, closed by the study in its first
   period (top-level or first-period ``close:`` override, or ``forced_closed`` in sites.csv with a
   closing cost), pays its closing cost there, as a ``close:`` override on a later period does.

The closing cases use :func:`tests.test_expansion.write_case`'s networks: A at RA (lon 0) and B at RB
(lon 10), both existing, 40 units at each region, unlimited capacity, rent 100 a week; B's closing
cost is 50,000.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import optimizer.expansion.solve as solve_module
from optimizer.checker.expansion import check_study
from optimizer.cli.main import main
from optimizer.expansion.model import build_study_model
from optimizer.expansion.solve import solve_study
from optimizer.expansion.studyfile import load_study
from optimizer.solvers import available_solvers
from tests.factory import KM_PER_DEG
from tests.test_expansion import RATE, WEEKS, write_case

SOLVERS = available_solvers()
DATA = Path(__file__).parent / "data" / "expansion_defects"
#: Study file and its optimum (net present cost, currency), by brute force over every held-state sequence.
CASES = {"half_open": 237_497.18018, "c98": 404_789.48056}


def solved(path: Path, solver: str = "highs", **kwargs: object) -> solve_module.ExpansionResult:
    result = solve_study(load_study(path), solver=solver, mip_gap=1e-9, **kwargs)
    assert result.status.value == "optimal", result.messages
    assert result.check is not None and result.check.ok, result.check.violations
    assert not result.bound_violated, result.messages
    return result


# --- 1. No plan that breaks the model ------------------------------------------------------------------

@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_fuzzed_studies_solve_to_their_brute_force_optimum(case: str, solver: str) -> None:
    result = solved(DATA / case / "study.yaml", solver)
    assert result.objective == pytest.approx(CASES[case], rel=1e-9)
    assert result.bound <= result.objective * (1 + 1e-9)
    assert result.check.objective == pytest.approx(CASES[case], rel=1e-9)
    model = build_study_model(load_study(DATA / case / "study.yaml"))
    for name in ("u", "o", "c"):  # every study decision is whole in the returned plan
        values = result.x[getattr(model, name)]
        assert np.array_equal(values, np.round(values)), name


def test_cli_accepts_the_half_open_study(tmp_path: Path) -> None:
    out = CliRunner().invoke(main, ["solve", str(DATA / "half_open" / "study.yaml"), "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["status"] == "optimal" and doc["check"]["ok"]
    assert doc["objective"] == pytest.approx(CASES["half_open"], rel=1e-9)
    assert doc["bound"] <= doc["objective"] * (1 + 1e-9)


def test_openings_and_closings_are_integer_columns_so_a_half_opening_is_not_a_plan() -> None:
    study = load_study(DATA / "half_open" / "study.yaml")
    model = build_study_model(study)
    assert model.lp.integer[model.o].all() and model.lp.integer[model.c].all()
    x = solved(DATA / "half_open" / "study.yaml").x
    assert solve_module._fits(model, x)
    s0, y0 = study.base.sites.index.get_loc("S0"), model.blocks[0].first_col + study.base.sites.index.get_loc("S0")
    bad = x.copy()  # the reported plan: S0 held in Y0, opening and closing by halves, not serving
    bad[[model.u[s0, 0], model.o[s0, 0], model.c[s0, 0], y0]] = [1.0, 0.5, 0.5, 0.0]
    assert not solve_module._fits(model, bad)
    bad[y0] = 0.5  # consistent with the rows, but not whole
    assert not solve_module._fits(model, bad)


def test_a_heuristic_plan_that_breaks_a_row_is_never_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    original = solve_module._plan_heuristic

    def corrupt(model, *args, **kwargs):  # the heuristic hands over a cheaper plan serving no demand in Y0
        model, x, seconds, note = original(model, *args, **kwargs)
        x = x.copy()
        block = model.blocks[0]
        x[block.first_col + model.u.shape[0]:block.first_col + block.n_cols] = 0.0
        return model, x, seconds, note

    monkeypatch.setattr(solve_module, "_plan_heuristic", corrupt)
    result = solved(DATA / "half_open" / "study.yaml")
    assert result.objective == pytest.approx(CASES["half_open"], rel=1e-9)
    assert any("heuristic plan breaks a row" in m for m in result.messages), result.messages


def test_a_bound_above_the_plans_cost_is_named_and_exits_4(monkeypatch: pytest.MonkeyPatch) -> None:
    original = solve_module._lp_cuts

    def inflated(*args, **kwargs):  # a wrong bound, 10 % above the optimum
        model, bound, x, seconds = original(*args, **kwargs)
        return model, 1.1 * CASES["half_open"], x, seconds

    monkeypatch.setattr(solve_module, "_lp_cuts", inflated)
    result = solve_study(load_study(DATA / "half_open" / "study.yaml"), solver="highs", mip_gap=1e-9)
    assert result.bound == pytest.approx(1.1 * CASES["half_open"])  # reported as it is, not clipped
    assert result.objective == pytest.approx(CASES["half_open"], rel=1e-9)
    assert result.bound_violated
    assert any(m.startswith("ERROR: the study's bound") for m in result.messages), result.messages
    out = CliRunner().invoke(main, ["solve", str(DATA / "half_open" / "study.yaml"), "--json"])
    assert out.exit_code == 4, out.output
    assert any("ERROR" in m for m in json.loads(out.stdout)["messages"])


# --- 2. A first-period closing is charged ------------------------------------------------------------

CLOSABLE = """
    id,lat,lon,fixed_cost,status,closing_cost
    A,0,0,100,existing,
    B,0,10,100,existing,50000
"""
DEMAND = """
    region,product,quantity
    RA,P,40
    RB,P,40
"""
PERIODS = '[{name: "1"%s}, {name: "2"%s}, {name: "3"}]'
CLOSE = ", sites: {close: [B]}"


def closing_study(tmp_path: Path, study: str, sites: str = CLOSABLE) -> solve_module.ExpansionResult:
    return solved(write_case(tmp_path, sites, DEMAND, "base: data\n" + study))


def test_a_first_period_close_override_is_charged_like_a_second_period_one(tmp_path: Path) -> None:
    first = closing_study(tmp_path / "first", f"periods: {PERIODS % (CLOSE, '')}\n")
    second = closing_study(tmp_path / "second", f"periods: {PERIODS % ('', CLOSE)}\n")
    for result, t in ((first, 0), (second, 1)):
        assert result.costs["closing"] == pytest.approx(50_000)
        assert result.period_costs[t]["closing"] == pytest.approx(50_000)
        assert result.to_dict()["periods"][t]["closed"] == ["B"]
        assert result.check.costs["closing"] == pytest.approx(50_000)
        assert all(plan.costs["closing"] == 0 for plan in result.plan.plans)  # once, not in a weekly cost
    assert bool(first.plan.held0[1])  # B operated before the study
    assert first.objective == pytest.approx(second.objective)  # B closes one period, reopens free (no capex)


def test_a_first_period_closing_is_discounted_from_the_first_period(tmp_path: Path) -> None:
    rate = "discount_rate: 0.1\n"
    first = closing_study(tmp_path / "first", f"periods: {PERIODS % (CLOSE, '')}\n" + rate)
    second = closing_study(tmp_path / "second", f"periods: {PERIODS % ('', CLOSE)}\n" + rate)
    assert first.costs["closing"] == pytest.approx(50_000)
    assert second.costs["closing"] == pytest.approx(50_000 / 1.1)


def test_a_top_level_close_override_is_charged_in_the_first_period(tmp_path: Path) -> None:
    result = closing_study(tmp_path, 'sites: {close: [B]}\nperiods: [{name: "1"}, {name: "2"}, {name: "3"}]\n')
    assert result.costs["closing"] == pytest.approx(50_000)
    assert result.period_costs[0]["closing"] == pytest.approx(50_000)
    assert [p["closed"] for p in result.to_dict()["periods"]] == [["B"], [], []]
    # A alone serves both regions: rent 100 and 40 units x 10 degrees of shipping a week, three years
    assert result.objective == pytest.approx(50_000 + 3 * WEEKS * (100 + 40 * 10 * KM_PER_DEG * RATE),
                                             rel=1e-6)


def test_a_forced_closed_site_with_a_closing_cost_pays_it_in_the_first_period(tmp_path: Path) -> None:
    sites = CLOSABLE.replace("B,0,10,100,existing,50000", "B,0,10,100,forced_closed,50000")
    result = closing_study(tmp_path, 'periods: [{name: "1"}, {name: "2"}]\n', sites)
    assert result.costs["closing"] == pytest.approx(50_000)
    assert result.period_costs[0]["closing"] == pytest.approx(50_000)
    assert result.to_dict()["periods"][0]["closed"] == ["B"]
    assert result.check.costs["closing"] == pytest.approx(50_000)


def test_a_forced_closed_candidate_without_a_closing_cost_did_not_operate(tmp_path: Path) -> None:
    sites = CLOSABLE.replace("B,0,10,100,existing,50000", "B,0,10,100,forced_closed,")
    study = load_study(write_case(tmp_path, sites, DEMAND, 'base: data\nperiods: [{name: "1"}]\n'))
    assert list(study.initially_held()) == [True, False]


def test_the_checker_rejects_a_plan_that_skips_a_first_period_closing(tmp_path: Path) -> None:
    path = write_case(tmp_path, CLOSABLE, DEMAND, f"base: data\nperiods: {PERIODS % (CLOSE, '')}\n")
    result = solved(path)
    plan = result.plan
    plan.npv_costs["closing"] = 0.0
    plan.objective -= 50_000
    report = check_study(load_study(path), plan)
    assert not report.ok
    assert any("net present closing cost claimed 0" in v for v in report.violations), report.violations
