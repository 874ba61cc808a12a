"""Published optima: OR-Library cap instances, Holmberg SSCFLP sample, random 25 x 100 instances."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import optimizer
from optimizer.io.instances import random_capacitated
from optimizer.solvers import available_solvers

DATA = Path(__file__).parent / "data"
ORLIB = {row["instance"]: float(row["optimum"])
         for row in csv.DictReader(open(DATA / "orlib" / "optima.csv")) if not row["capacity"]}
SSCFLP = {row["instance"]: float(row["optimum"]) for row in csv.DictReader(open(DATA / "sscflp" / "optima.csv"))}
OTHER_SOLVERS = [s for s in available_solvers() if s != "highs"]
FEW = ["cap41", "cap71", "cap101", "cap131"]
#: Every strategy, forced: every published optimum must come out of each.
STRATEGIES = ["compact", "sites", "decompose"]


def solve_checked(path: Path, fmt: str, solver: str = "highs", strategy: str = "compact") -> optimizer.Result:
    result = optimizer.solve(optimizer.load(path, format=fmt), solver=solver, strategy=strategy)
    assert result.strategy == strategy, result.messages  # no silent fallback
    assert result.status is optimizer.Status.OPTIMAL
    assert result.check is not None and result.check.ok, result.check.violations
    assert result.check.objective == pytest.approx(result.objective, rel=1e-9)
    return result


def test_all_37_cap_instances_present():
    assert len(ORLIB) == 37


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("name", sorted(ORLIB))
def test_orlib_published_optimum_highs(name, strategy):
    result = solve_checked(DATA / "orlib" / name, "orlib", strategy=strategy)
    assert result.objective == pytest.approx(ORLIB[name], rel=1e-6)
    assert result.gap is not None and result.gap <= 1e-9


@pytest.mark.parametrize("solver", OTHER_SOLVERS)
@pytest.mark.parametrize("name", FEW)
def test_orlib_other_solvers_agree(name, solver):
    assert solve_checked(DATA / "orlib" / name, "orlib", solver).objective == pytest.approx(ORLIB[name], rel=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("solver", OTHER_SOLVERS)
@pytest.mark.parametrize("name", sorted(set(ORLIB) - set(FEW)))
def test_orlib_other_solvers_agree_all(name, solver):
    assert solve_checked(DATA / "orlib" / name, "orlib", solver).objective == pytest.approx(ORLIB[name], rel=1e-6)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("name", sorted(SSCFLP))
def test_holmberg_published_optimum(name, strategy):
    result = solve_checked(DATA / "sscflp" / name, "sscflp", strategy=strategy)
    assert result.objective == pytest.approx(SSCFLP[name], rel=1e-6)
    assert result.flows.groupby("to")["from"].nunique().max() == 1  # single sourcing


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_25x100_proven_optimal(tmp_path, seed, strategy):
    path = tmp_path / f"rand{seed}.txt"
    path.write_text(random_capacitated(25, 100, seed=seed))
    result = solve_checked(path, "orlib", strategy=strategy)
    assert result.bound == pytest.approx(result.objective, rel=1e-9)
    assert result.check.objective == pytest.approx(result.objective, rel=1e-9)
