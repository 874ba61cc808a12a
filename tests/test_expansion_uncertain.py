"""Stochastic expansion studies (``uncertainty:``): a hand-computed VSS on every solver, the
worst-case weight, the non-anticipativity check, study-file errors and the CLI.

The case: one region RB at 10 degrees of longitude from A (forced open, capacity 100) and at B
(a candidate with capacity 1,000, opening capex K, one build period: opened in period 1, it serves
in period 2).  RB wants 50 a week in period 1; in period 2, 50 on path ``low`` and 150 on path
``high`` (probability 1/2 each), so the expected path wants 100.  Shipping from A costs
``a = 10 x KM_PER_DEG x 0.01`` a unit; demand A cannot serve costs 100 a unit (``unmet_penalty``);
no discounting, no rents, no residual value (``asset_life_years: 1``); a period weighs W = 365 / 7
weeks.  The first stage is whether B opens in period 1:

* open: each path costs ``W x 50a + K``;
* not open: ``low`` costs ``W x 100a``, ``high`` ``W x (150a + 50 x 100)`` (A ships 100, 50 unmet);
  expected ``W x (50a + 75a + 2,500)``;
* the expected path (100 in period 2, all from A) costs ``W x 150a`` without B: it opens B only
  when ``K < W x 100a``.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimizer.checker.expansion import check_uncertain
from optimizer.cli.main import main
from optimizer.errors import InputError
from optimizer.expansion.stochastic import solve_uncertain
from optimizer.expansion.studyfile import load_study
from optimizer.solvers import available_solvers
from tests.factory import KM_PER_DEG
from tests.test_expansion import WEEKS, write_case

SOLVERS = available_solvers()
A = 10 * KM_PER_DEG * 0.01  # shipping from A to RB, a unit
SITES = """
    id,lat,lon,capacity,fixed_cost,status
    A,0,0,100,0,forced_open
    B,0,10,1000,0,candidate
"""
STUDY = """
    base: data
    periods: [{name: "1"}, {name: "2"}]
    unmet_penalty: 100
    asset_life_years: 1
    uncertainty:
      worst_case_weight: WEIGHT
      paths:
        - {name: low, probability: 0.5}
        - {name: high, probability: 0.5, periods: {"2": {demand: {scale: 3}}}}
"""


def case(tmp_path: Path, capex: float, weight: float = 0.0) -> Path:
    return write_case(tmp_path, SITES, "region,product,quantity\nRB,P,50\n", STUDY.replace("WEIGHT", str(weight)),
                      f"site,opening_capex,build_periods\nB,{capex},1\n", regions="id,lat,lon\nRB,0,10\n")


@pytest.mark.parametrize("solver", SOLVERS)
def test_vss_and_regret_match_the_hand_computation(tmp_path: Path, solver: str) -> None:
    K = 100_000.0  # W x 100a = 58,036 < K < W x (75a + 2,500) = 173,880: the expected path says no, the paths yes
    result = solve_uncertain(load_study(case(tmp_path, K)), solver=solver, mip_gap=1e-9)
    assert result.status.value == "optimal" and result.check is not None and result.check.ok, result.check
    rp = WEEKS * 50 * A + K
    eev = WEEKS * (50 * A + 75 * A + 2500)
    doc = result.to_dict()
    assert doc["first_stage"][0]["opened"] == ["B"]                       # decide now: open B
    assert doc["expected_value_plan"]["first_stage"][0]["opened"] == []   # the expected path would not
    assert doc["expected_cost"] == pytest.approx(rp)
    assert [p["cost"] for p in doc["paths"]] == pytest.approx([rp, rp])
    assert doc["vss"]["value"] == pytest.approx(eev - rp)                 # 73,842
    assert doc["vss"]["lower"] <= doc["vss"]["value"] <= doc["vss"]["upper"]
    assert doc["vss"]["within_tolerance"] is False
    low, high = doc["paths"]
    assert low["wait_and_see"]["cost"] == pytest.approx(WEEKS * 100 * A)  # low alone: no B
    assert low["regret"]["value"] == pytest.approx(K - WEEKS * 50 * A)
    assert high["regret"]["value"] == pytest.approx(0.0, abs=1e-6)        # high alone opens B too
    assert doc["paths"][1]["expected_value_plan_cost"] == pytest.approx(WEEKS * (50 * A + 100 * A + 5000))


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_cheap_site_gives_no_vss_and_the_worst_case_weight_changes_the_decision(tmp_path: Path, solver: str) -> None:
    K = 210_000.0  # W x (75a + 2,500) = 173,880 < K < W x (100a + 5,000) = 318,746
    expected = solve_uncertain(load_study(case(tmp_path / "w0", K)), solver=solver, mip_gap=1e-9)
    assert expected.to_dict()["first_stage"][0]["opened"] == []           # in expectation B does not pay
    assert expected.objective == pytest.approx(WEEKS * (50 * A + 75 * A + 2500))
    assert expected.to_dict()["vss"]["value"] == pytest.approx(0.0, abs=1e-6)
    assert expected.to_dict()["vss"]["within_tolerance"] is True
    cautious = solve_uncertain(load_study(case(tmp_path / "w1", K, weight=1.0)), solver=solver, mip_gap=1e-9)
    doc = cautious.to_dict()
    assert doc["first_stage"][0]["opened"] == ["B"]                       # against the high path: B
    assert cautious.objective == pytest.approx(WEEKS * 50 * A + K)        # the dearest path's cost
    assert doc["worst_path_cost"] == pytest.approx(cautious.objective)
    assert cautious.check is not None and cautious.check.ok


def test_checker_rejects_a_plan_that_anticipates_the_path(tmp_path: Path) -> None:
    path = case(tmp_path, 100_000.0)
    study = load_study(path)
    result = solve_uncertain(study, solver="highs", mip_gap=1e-9)
    plans = [p.plan for p in result.paths]
    expected_cost = result.to_dict()["expected_cost"]
    assert check_uncertain(study, plans, expected_cost=expected_cost).ok
    low = plans[0]
    low.held.loc["B", "1"] = False  # path low waits: it knows the future in period 1
    report = check_uncertain(study, plans, expected_cost=expected_cost)
    assert not report.ok
    assert any(v.startswith("non-anticipativity: site B, period 1") for v in report.violations), report.violations
    plans[0] = result.paths[0].plan
    report = check_uncertain(study, plans, expected_cost=expected_cost + 1.0)
    assert any("expected net present cost claimed" in v for v in report.violations)


def test_uncertainty_errors_name_the_key_path(tmp_path: Path) -> None:
    study = """
        base: data
        periods: [{name: "1"}, {name: "2"}]
        uncertainty:
          shared_periods: 3
          paths:
            - {name: low, probability: 0.5, growth: [{rate: -2}]}
            - {name: high, probability: 0.4, periods: {"7": {demand: {scale: 2}}, "2": {sites: {close: [A]}}}}
          colour: red
    """
    path = write_case(tmp_path, SITES, "region,product,quantity\nRB,P,50\n", study, regions="id,lat,lon\nRB,0,10\n")
    with pytest.raises(InputError) as error:
        load_study(path)
    found = {(p.line, p.field) for p in error.value.problems}
    assert (4, "uncertainty.shared_periods") in found
    assert (6, "uncertainty.paths[0].growth[0].rate") in found
    assert (7, "uncertainty.paths[1].periods.7") in found
    assert (7, "uncertainty.paths[1].periods.2") in found
    assert (5, "uncertainty.paths") in found  # probabilities 0.5 + 0.4
    assert (8, "uncertainty.colour") in found


def test_cli_solves_a_stochastic_study(tmp_path: Path) -> None:
    path = case(tmp_path, 100_000.0)
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["solve", str(path), "--json", "--out", str(out)])
    assert done.exit_code == 0, done.output
    doc = json.loads(done.stdout)
    assert doc["kind"] == "expansion" and doc["uncertain"] and doc["check"]["ok"]
    assert [p["name"] for p in doc["paths"]] == ["low", "high"] and doc["shared_periods"] == 1
    written = {p.name for p in out.iterdir()}
    assert {"result.json", "study_sites.csv", "timeline_low.png", "timeline_high.png"} <= written
    text = CliRunner().invoke(main, ["solve", str(path)])
    assert text.exit_code == 0 and "decide now, 1: open B" in text.output and "VSS" in text.output


def test_a_sweep_over_a_study_sets_budget_discount_rate_and_uncertainty(tmp_path: Path) -> None:
    path = case(tmp_path, 100_000.0)
    (tmp_path / "sweep.yaml").write_text(textwrap.dedent(f"""
        name: study-sweep
        base: {path.name}
        runs:
          - {{name: no-money, budget: {{total: 99999}}}}
          - {{name: one-path, uncertainty: {{paths: [{{name: only, probability: 1}}]}}, discount_rate: 0.1}}
          - {{name: more-demand, demand: {{scale: 1.2}}}}
    """).lstrip())
    store = tmp_path / "runs.db"
    done = CliRunner().invoke(main, ["run", str(tmp_path / "sweep.yaml"), "--workers", "1", "--store", str(store),
                                     "--json"])
    assert done.exit_code == 0, done.output
    runs = {r["scenario"]: r for r in map(json.loads, done.stdout.splitlines())}
    assert set(runs) == {"base", "no-money", "one-path", "more-demand"}
    assert all(r["status"] == "optimal" for r in runs.values()), runs
    rp = WEEKS * 50 * A + 100_000.0
    assert runs["base"]["objective"] == pytest.approx(rp)
    assert "B" in runs["base"]["open_sites"] and "B" not in runs["no-money"]["open_sites"]  # the budget binds
    assert runs["no-money"]["objective"] == pytest.approx(WEEKS * (50 * A + 75 * A + 2500))
    assert runs["one-path"]["objective"] == pytest.approx(WEEKS * 50 * A * (1 + 1 / 1.1))  # path low alone, discounted
    assert runs["more-demand"]["objective"] > runs["base"]["objective"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"base: {path.name}\nruns:\n  - {{name: x, budget: {{total: -1}}, colour: 1}}\n")
    refused = CliRunner().invoke(main, ["run", str(bad), "--store", str(store), "--json"])
    assert refused.exit_code == 1
    assert "runs[0].budget.total" in refused.output and "runs[0].colour" in refused.output


def test_the_uncertain_demo_has_three_paths_on_the_demo_settings() -> None:
    study = load_study(Path(__file__).resolve().parents[1] / "scenarios" / "demo-expansion-uncertain.yaml")
    unc = study.uncertainty
    assert unc is not None and [p.name for p in unc.paths] == ["low", "expected", "high"]
    assert sum(p.probability for p in unc.paths) == pytest.approx(1.0) and unc.shared_periods == 1
    last = [p.periods[-1].network.demand["quantity"].sum() for p in unc.paths]
    assert last[0] < last[1] < last[2]  # low < expected < high demand at the end
    expected = study.expected_study().periods[-1].network.demand["quantity"].sum()
    assert expected == pytest.approx(sum(p.probability * q for p, q in zip(unc.paths, last)))
    assert study.base.settings.single_sourcing and study.base.settings.inventory.model == "pooled"
