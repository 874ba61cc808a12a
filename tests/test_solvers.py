"""Backend adapters on hand-computed and random LinearModels (every installed solver)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp

from dataclasses import FrozenInstanceError, replace

from optimizer.errors import InputError, SolverUnavailableError
from optimizer.model.linear import LinearModel
from optimizer.solvers import SOLVERS, available_solvers, get_solver
from optimizer.solvers.base import (DEFAULT_ABS_GAP, DEFAULT_MIP_GAP, Capability, SolveOptions, SolverResult, Status,
                                    Termination)
from optimizer.solvers.cbc import parse_bound
from optimizer.solvers.mps import mps_text, write_mps

INSTALLED = available_solvers()
FEAS_TOL = 1e-6


# ----------------------------------------------------------------------------- model factories


def facility_location(fixed: np.ndarray, cost: np.ndarray, demand: np.ndarray | None = None,
                      capacity: np.ndarray | None = None, offset: float = 0.0) -> LinearModel:
    """Facility location: y_i binary (open), x_ij in [0, 1] fraction of customer j served by i.

    Columns are y (n_f) then x row-major (i, j).  Rows: sum_i x_ij = 1 per customer;
    x_ij - y_i <= 0 per pair; with capacities, sum_j demand_j x_ij - capacity_i y_i <= 0.
    ``cost`` is the full cost of serving customer j from i (currency).
    """
    n_f, n_c = cost.shape
    n_x = n_f * n_c
    x_id = n_f + np.arange(n_x).reshape(n_f, n_c)
    pairs = np.arange(n_x)
    blocks = [
        sp.csr_matrix((np.ones(n_x), (np.tile(np.arange(n_c), n_f), x_id.ravel())), shape=(n_c, n_f + n_x)),
        sp.csr_matrix((np.r_[np.ones(n_x), -np.ones(n_x)],
                       (np.r_[pairs, pairs], np.r_[x_id.ravel(), np.repeat(np.arange(n_f), n_c)])),
                      shape=(n_x, n_f + n_x)),
    ]
    lower = [np.ones(n_c), np.full(n_x, -np.inf)]
    upper = [np.ones(n_c), np.zeros(n_x)]
    if capacity is not None:
        assert demand is not None
        rows = np.repeat(np.arange(n_f), n_c + 1)
        cols = np.column_stack([x_id, np.arange(n_f)]).ravel()
        vals = np.column_stack([np.tile(demand, (n_f, 1)), -capacity]).ravel()
        blocks.append(sp.csr_matrix((vals, (rows, cols)), shape=(n_f, n_f + n_x)))
        lower.append(np.full(n_f, -np.inf))
        upper.append(np.zeros(n_f))
    n = n_f + n_x
    return LinearModel(
        c=np.r_[fixed, cost.ravel()], A=sp.vstack(blocks, format="csr"),
        row_lower=np.concatenate(lower), row_upper=np.concatenate(upper),
        col_lower=np.zeros(n), col_upper=np.ones(n), integer=np.r_[np.ones(n_f, bool), np.zeros(n_x, bool)],
        offset=offset, name="facility location",
    )


def random_cfl(n_f: int, n_c: int, seed: int, offset: float = 0.0) -> LinearModel:
    """Random capacitated facility location on the unit square x 100 (total capacity ~2x demand)."""
    rng = np.random.default_rng(seed)
    demand = rng.uniform(1.0, 10.0, n_c)
    capacity = rng.uniform(0.5, 1.5, n_f) * 2.0 * demand.sum() / n_f
    fixed = rng.uniform(200.0, 400.0, n_f)
    sites, customers = rng.uniform(0, 100, (n_f, 2)), rng.uniform(0, 100, (n_c, 2))
    km = np.linalg.norm(sites[:, None, :] - customers[None, :, :], axis=2)
    return facility_location(fixed, km * demand[None, :], demand, capacity, offset=offset)


def hand_ufl() -> LinearModel:
    """3 sites x 3 customers; optimum opens sites 0 and 1: 4 + 5 + (2 + 3 + 6) = 20, plus offset 100.

    Open sets: {0} 22, {1} 22, {2} 25, {0,1} 20, {0,2} 22, {1,2} 24, {0,1,2} 22.
    """
    cost = np.array([[2.0, 9.0, 7.0], [8.0, 3.0, 6.0], [9.0, 8.0, 2.0]])
    return facility_location(np.array([4.0, 5.0, 6.0]), cost, offset=100.0)


def hand_lp() -> LinearModel:
    """Pure LP exercising ranged, free and equality rows, negative and free columns.

    min 2a + 3b + c + 0d - 5  s.t.  4 <= a + b <= 6,  a - b <= 2,  (a + c free),  d - a = 0,
    a in [0, 3], b >= 0, c in [-2, 5], d free.  Optimum a=3, b=1, c=-2, d=3, objective 2.
    """
    A = sp.csr_matrix(np.array([[1.0, 1.0, 0, 0], [1.0, -1.0, 0, 0], [1.0, 0, 1.0, 0], [-1.0, 0, 0, 1.0]]))
    return LinearModel(
        c=np.array([2.0, 3.0, 1.0, 0.0]), A=A,
        row_lower=np.array([4.0, -np.inf, -np.inf, 0.0]), row_upper=np.array([6.0, 2.0, np.inf, 0.0]),
        col_lower=np.array([0.0, 0.0, -2.0, -np.inf]), col_upper=np.array([3.0, np.inf, 5.0, np.inf]),
        integer=np.zeros(4, bool), offset=-5.0, name="hand lp",
    )


def hand_general_integer() -> LinearModel:
    """min -5a - 4b s.t. 6a + 4b <= 24, a + 2b <= 6; a, b >= 0 integer, no upper bounds.

    LP optimum (3, 1.5) = -21; integer optimum (4, 0) = -20 ((3, 1) = -19, (2, 2) = -18).
    """
    return LinearModel(
        c=np.array([-5.0, -4.0]), A=sp.csr_matrix(np.array([[6.0, 4.0], [1.0, 2.0]])),
        row_lower=np.full(2, -np.inf), row_upper=np.array([24.0, 6.0]),
        col_lower=np.zeros(2), col_upper=np.full(2, np.inf), integer=np.ones(2, bool), name="general integer",
    )


def infeasible_models() -> dict[str, LinearModel]:
    """An LP-infeasible MIP, an LP-infeasible LP, an LP-feasible but integer-infeasible MIP, and an
    infeasible MIP with an unbounded ray (HiGHS's presolve calls it "unbounded or infeasible")."""
    A = sp.csr_matrix(np.array([[1.0, 1.0]]))
    both_ge_3 = dict(c=np.ones(2), A=A, row_lower=np.array([3.0]), row_upper=np.array([np.inf]),
                     col_lower=np.zeros(2), col_upper=np.ones(2))
    return {
        "mip": LinearModel(**both_ge_3, integer=np.ones(2, bool)),
        "lp": LinearModel(**both_ge_3, integer=np.zeros(2, bool)),
        "integer": LinearModel(c=np.ones(2), A=sp.csr_matrix(np.array([[2.0, 0.0]])), row_lower=np.ones(1),
                               row_upper=np.ones(1), col_lower=np.zeros(2), col_upper=np.full(2, 5.0),
                               integer=np.ones(2, bool)),
        "unbounded_ray": LinearModel(c=np.array([-1.0, 1.0, 0.0]),
                                     A=sp.csr_matrix(np.array([[0, 1.0, 1.0], [0, 1.0, 2.0]])),
                                     row_lower=np.array([3.0, -np.inf]), row_upper=np.array([np.inf, 1.0]),
                                     col_lower=np.zeros(3), col_upper=np.full(3, np.inf), integer=np.ones(3, bool)),
    }


# ----------------------------------------------------------------------------- checks


def assert_feasible(model: LinearModel, x: np.ndarray) -> None:
    """x meets rows, bounds and integrality within 1e-6."""
    assert x is not None and x.shape == (model.n_cols,)
    activity = model.A @ x
    assert np.all(activity >= model.row_lower - FEAS_TOL), "row lower bound violated"
    assert np.all(activity <= model.row_upper + FEAS_TOL), "row upper bound violated"
    assert np.all(x >= model.col_lower - FEAS_TOL) and np.all(x <= model.col_upper + FEAS_TOL)
    ints = x[model.integer]
    assert np.all(np.abs(ints - np.round(ints)) <= FEAS_TOL), "integrality violated"


def assert_consistent(model: LinearModel, result: SolverResult, options: SolveOptions) -> None:
    """Status, plan, objective and bound agree with each other and with the model."""
    if result.status.has_plan:
        assert_feasible(model, result.x)
        assert result.objective == pytest.approx(float(model.c @ result.x + model.offset), rel=1e-9, abs=1e-9)
    else:
        assert result.x is None and result.objective is None
    if result.status is Status.OPTIMAL:
        assert result.bound is not None
        diff = result.objective - result.bound
        assert result.gap <= DEFAULT_MIP_GAP or diff <= DEFAULT_ABS_GAP
    if result.status is Status.FEASIBLE and result.bound is not None and options.time_limit is None:
        assert result.gap <= options.effective_gap + 1e-9  # stopped by the user-set gap, which it met
    if result.status.has_plan and result.bound is not None:
        assert result.bound <= result.objective + 1e-6 * max(1.0, abs(result.objective))


solver_names = pytest.mark.parametrize("name", INSTALLED)


# ----------------------------------------------------------------------------- registry


def test_registry_lists_the_three_backends():
    assert set(SOLVERS) == {"highs", "cbc", "scip"}
    assert "highs" in INSTALLED
    for name in INSTALLED:
        backend = get_solver(name.upper())
        assert backend.name == name and Capability.MIP in backend.capabilities


def test_unknown_solver_error_lists_available():
    with pytest.raises(SolverUnavailableError, match="gurobi") as info:
        get_solver("gurobi")
    assert "highs" in str(info.value)


def test_unavailable_solver_raises(monkeypatch):
    monkeypatch.setattr(SOLVERS["cbc"], "available", classmethod(lambda cls: False))
    assert "cbc" not in available_solvers()
    with pytest.raises(SolverUnavailableError, match="not available"):
        get_solver("cbc")


# ----------------------------------------------------------------------------- hand-computed models


@solver_names
def test_hand_ufl_optimum_includes_offset_once(name):
    model = hand_ufl()
    result = get_solver(name).solve(model, SolveOptions())
    assert result.status is Status.OPTIMAL and result.solver == name
    assert result.objective == pytest.approx(120.0, abs=1e-7)
    assert result.bound == pytest.approx(120.0, abs=1e-5)
    expected = np.zeros(model.n_cols)
    expected[[0, 1]] = 1.0  # sites 0 and 1 open
    expected[3 + np.array([0 * 3 + 0, 1 * 3 + 1, 1 * 3 + 2])] = 1.0  # c0 <- s0, c1 <- s1, c2 <- s1
    np.testing.assert_allclose(result.x, expected, atol=1e-7)
    assert result.termination is Termination.OPTIMAL
    assert_consistent(model, result, SolveOptions())


@solver_names
@pytest.mark.parametrize("seed", range(3))
def test_a_cutoff_prunes_without_a_false_bound_or_infeasibility(name, seed):
    # HiGHS prunes at the cutoff (objective_bound); below the optimum it finds nothing there, which must
    # be neither "infeasible" nor a bound above the optimum.  Other backends ignore the cutoff.
    model = random_cfl(5, 12, seed)
    best = get_solver(name).solve(model, SolveOptions())
    assert best.status is Status.OPTIMAL
    optimum = float(best.objective)
    for cutoff in (optimum - 1.0, 0.5 * optimum):  # just below; below the root LP (HiGHS then calls a worse
        below = get_solver(name).solve(model, SolveOptions(cutoff=cutoff))  # plan "optimal", bound = that plan)
        assert below.status is not Status.INFEASIBLE
        assert below.bound is not None and below.bound <= optimum + 1e-6
        assert below.objective is None or below.objective >= optimum - 1e-6
        if name == "highs":
            assert below.bound >= cutoff - 1e-6  # the whole tree was searched down to the cutoff
    above = get_solver(name).solve(model, SolveOptions(cutoff=optimum + 1.0))
    assert above.status is Status.OPTIMAL and above.objective == pytest.approx(optimum, rel=1e-9)
    assert above.bound <= optimum + 1e-6


@solver_names
def test_pure_lp(name):
    model = hand_lp()
    result = get_solver(name).solve(model, SolveOptions())
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(2.0, abs=1e-9)
    assert result.bound == pytest.approx(result.objective)
    np.testing.assert_allclose(result.x, [3.0, 1.0, -2.0, 3.0], atol=1e-7)


@solver_names
def test_general_integers_without_upper_bounds(name):
    model = hand_general_integer()
    result = get_solver(name).solve(model, SolveOptions())
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(-20.0, abs=1e-9)
    np.testing.assert_allclose(result.x, [4.0, 0.0], atol=1e-7)


@solver_names
@pytest.mark.parametrize("kind", ["mip", "lp", "integer", "unbounded_ray"])
def test_infeasible(name, kind):
    result = get_solver(name).solve(infeasible_models()[kind], SolveOptions(time_limit=10))
    assert result.status is Status.INFEASIBLE and result.termination is Termination.INFEASIBLE
    assert result.x is None and result.objective is None and result.message


def crossed_or_nan_models() -> dict[str, LinearModel]:
    """Models no solver can represent: input errors, not infeasible models."""
    model = hand_lp()
    lower = np.array(model.col_lower)
    lower[0] = 4.0  # above the upper bound 3
    row_lower = np.array(model.row_lower)
    row_lower[0] = np.array(model.row_upper)[0] + 1.0 if np.isfinite(model.row_upper[0]) else np.inf
    c = np.array(model.c)
    c[1] = np.nan
    A = model.A.copy()
    A.data[0] = np.nan
    upper = np.array(model.col_upper)
    upper[2] = np.nan
    return {
        "crossed column": replace(model, col_lower=lower),
        "crossed row": replace(model, row_lower=row_lower),
        "nan cost": replace(model, c=c),
        "nan matrix": replace(model, A=A),
        "nan bound": replace(model, col_upper=upper),
        "huge cost": replace(model, c=np.where(np.arange(model.n_cols) == 0, 1e300, model.c)),
    }


@solver_names
@pytest.mark.parametrize("kind", list(crossed_or_nan_models()))
def test_nan_and_crossed_bounds_are_input_errors(name, kind):
    """Before the fix CBC called crossed bounds "infeasible" and NaN reached every solver."""
    with pytest.raises(InputError, match="model"):
        get_solver(name).solve(crossed_or_nan_models()[kind], SolveOptions(time_limit=10))


def test_linear_model_is_read_only():
    model = hand_lp()
    with pytest.raises(FrozenInstanceError):
        model.warm_start = np.zeros(model.n_cols)  # type: ignore[misc]
    for values in (model.c, model.col_lower, model.row_upper, model.integer, model.A.data):
        with pytest.raises(ValueError, match="read-only"):
            values[0] = 1.0


# ----------------------------------------------------------------------------- limits and gaps


@solver_names
def test_tiny_time_limit_is_never_falsely_optimal(name):
    model = random_cfl(40, 200, seed=7, offset=50.0)
    options = SolveOptions(time_limit=0.01)
    result = get_solver(name).solve(model, options)
    assert result.status in (Status.FEASIBLE, Status.NO_SOLUTION, Status.OPTIMAL)
    assert_consistent(model, result, options)
    if result.status is Status.NO_SOLUTION:
        assert "time limit" in result.message
    if result.status is not Status.OPTIMAL:
        assert result.termination is Termination.TIME_LIMIT


@solver_names
def test_loose_user_gap(name):
    model = random_cfl(8, 20, seed=3, offset=-25.0)
    best = get_solver("highs").solve(model, SolveOptions()).objective
    options = SolveOptions(mip_gap=0.5)
    result = get_solver(name).solve(model, options)
    assert result.status in (Status.OPTIMAL, Status.FEASIBLE)
    assert_consistent(model, result, options)
    assert result.objective >= best - 1e-6
    assert result.termination is (Termination.OPTIMAL if result.status is Status.OPTIMAL else Termination.GAP_LIMIT)


@solver_names
def test_warm_start_accepted(name):
    backend = get_solver(name)
    if Capability.WARM_START not in backend.capabilities:
        pytest.skip(f"{name} declares no warm start")
    model = random_cfl(20, 60, seed=11)
    start = np.zeros(model.n_cols)
    start[:20] = 1.0  # every site open, each customer split evenly: feasible but poor
    start[20:] = 1.0 / 20
    assert_feasible(model, start)
    model = replace(model, warm_start=start)
    options = SolveOptions(time_limit=1e-3)  # far too short to find a plan without the start
    result = backend.solve(model, options)
    assert result.status.has_plan
    assert_consistent(model, result, options)
    assert result.objective <= model.c @ start + model.offset + 1e-6


@solver_names
def test_threads_can_change_between_solves(name):
    backend = get_solver(name)
    if Capability.THREADS not in backend.capabilities:
        pytest.skip(f"{name} declares no thread control")
    model = random_cfl(8, 20, seed=5)
    objectives = [backend.solve(model, SolveOptions(threads=t)).objective for t in (1, 2, 1, None)]
    assert objectives == pytest.approx([objectives[0]] * 4, rel=1e-9)


def test_all_solvers_agree_on_random_cfl():
    model = random_cfl(8, 20, seed=2024, offset=321.0)
    results = {name: get_solver(name).solve(model, SolveOptions()) for name in INSTALLED}
    reference = results["highs"].objective
    for name, result in results.items():
        assert result.status is Status.OPTIMAL, name
        assert_consistent(model, result, SolveOptions())
        assert result.objective == pytest.approx(reference, rel=1e-8), name
        assert result.bound == pytest.approx(reference, rel=1e-7), name


# ----------------------------------------------------------------------------- MPS writer and CBC parsing


def test_mps_round_trip_through_highs(tmp_path):
    highspy = pytest.importorskip("highspy")
    for model, expected in ((hand_lp(), 2.0), (hand_general_integer(), -20.0), (hand_ufl(), 120.0)):
        path = write_mps(model, tmp_path / "m.mps")
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        assert highs.readModel(str(path)).name != "kError"
        assert highs.getNumCol() == model.n_cols
        highs.run()
        # MPS carries no offset: the file's optimum is the model's minus the offset
        assert highs.getInfo().objective_function_value == pytest.approx(expected - model.offset, abs=1e-9)


def test_mps_text_markers_ranges_and_bounds():
    text = mps_text(hand_lp())
    assert "RANGES\n    RNG R0 2.0\n" in text  # 4 <= a + b <= 6 as L 6 with range 2
    assert " L  R1" in text and " E  R3" in text and " R2" not in text  # free row dropped
    assert " MI BND C3" not in text and " FR BND C3" in text and " LO BND C2 -2.0" in text
    ufl = mps_text(hand_ufl())
    assert ufl.count("'INTORG'") == 1 and ufl.count("'INTEND'") == 1
    body = ufl.split("COLUMNS\n")[1].split("RHS")[0].splitlines()
    assert body[0].endswith("'INTORG'") and body[body.index("    MARKER 'MARKER' 'INTEND'") + 1].startswith("    C3 ")


def test_mps_rejects_crossed_bounds():
    model = crossed_or_nan_models()["crossed column"]
    with pytest.raises(ValueError, match="column 0"):
        mps_text(model)


def test_cbc_bound_parsing_from_real_log_lines():
    stopped = ("Cbc0020I Exiting on maximum time\n"
               "Cbc0005I Partial search - best objective 2544.5711 (best possible 2510.5181), took 0 iterations "
               "and 0 nodes (2.03 seconds)\n\nResult - Stopped on time limit\n\n"
               "Objective value:                2544.57106116\nLower bound:                    2510.518\n")
    assert parse_bound(stopped, 2544.57106116, optimal=False) == pytest.approx(2510.5181)
    gap_exit = ("Cbc0011I Exiting as integer gap of 1.0594633 less than 1e-06 or 50%\n"
                "Result - Optimal solution found (within gap tolerance)\n\nLower bound:                    344.474\n")
    assert parse_bound(gap_exit, 345.53355251, optimal=True) == pytest.approx(344.47408921)
    no_incumbent = "Cbc0005I Partial search - best objective 1e+50 (best possible 2510.5181), took\n"
    assert parse_bound(no_incumbent, None, optimal=False) == pytest.approx(2510.5181)
    assert parse_bound("Result - Optimal solution found\n", 12.5, optimal=True) == 12.5
    assert parse_bound("Result - Stopped on time limit\n", None, optimal=False) is None


# ----------------------------------------------------------------------------- stdout stays clean


def test_nothing_reaches_stdout():
    script = textwrap.dedent("""
        import os, sys
        import numpy as np, scipy.sparse as sp
        from optimizer.model.linear import LinearModel
        from optimizer.solvers import available_solvers, get_solver
        from optimizer.solvers.base import SolveOptions
        from optimizer.solvers.stdio import stdout_to_stderr
        A = sp.csr_matrix(np.array([[1.0, 1.0], [1.0, -1.0]]))
        model = LinearModel(np.array([1.0, 2.0]), A, np.array([1.5, -1.0]), np.array([np.inf, 1.0]),
                            np.zeros(2), np.full(2, 5.0), np.array([True, False]), offset=1.0)
        for verbose in (False, True):
            for name in available_solvers():
                result = get_solver(name).solve(model, SolveOptions(verbose=verbose, time_limit=5))
                assert result.status.value == "optimal", (name, result)
        with stdout_to_stderr(False):
            os.write(1, b"native write swallowed\\n")
            print("python print swallowed")
        sys.stderr.write("done: " + ",".join(available_solvers()) + "\\n")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "done: " + ",".join(INSTALLED) in proc.stderr
    assert "HiGHS" in proc.stderr  # the verbose logs went to stderr instead
    assert "swallowed" not in proc.stderr


def test_stdout_restored_after_guard():
    script = ("import os\nfrom optimizer.solvers.stdio import stdout_to_stderr\n"
              "with stdout_to_stderr(True):\n    os.write(1, b'to stderr')\nos.write(1, b'to stdout')\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "to stdout" and proc.stderr == "to stderr"


def test_improving_plans_reach_on_plan_as_their_own_copies():
    """HiGHS hands each improving plan to the callback as a view of a buffer it reuses: a plan kept by
    ``SolveOptions.on_plan`` must stay the plan HiGHS found (its cost and feasibility unchanged after the
    solve), or a plan that was never found is costed and taken as the best one."""
    rng = np.random.default_rng(1)
    n = 40
    weight, value = rng.uniform(1, 10, n), rng.uniform(1, 10, n)
    model = LinearModel(c=-value, A=sp.csr_matrix(weight[None, :]), row_lower=np.array([-np.inf]),
                        row_upper=np.array([weight.sum() / 3]), col_lower=np.zeros(n), col_upper=np.ones(n),
                        integer=np.ones(n, dtype=bool))
    kept: list[tuple[np.ndarray, np.ndarray]] = []

    def on_plan(x: np.ndarray) -> bool:
        kept.append((x, x.copy()))
        return False

    result = get_solver("highs").solve(model, SolveOptions(on_plan=on_plan))
    assert result.status is Status.OPTIMAL and len(kept) >= 2
    for x, at_call in kept:
        assert np.array_equal(x, at_call)
        assert float(weight @ x) <= weight.sum() / 3 + 1e-6


CBC = pytest.mark.skipif("cbc" not in available_solvers(), reason="CBC not installed")


@CBC
def test_cbc_preprocessing_stopped_by_the_limit_is_no_proof_of_infeasibility(tmp_path):
    # When -sec strikes inside CBC 2.10's cut generators it says "Pre-processing says infeasible" and writes the
    # header "Integer infeasible" for a feasible model: reported infeasible, exit 2 (a 60 x 150 Holmberg file at 0.05 s).
    from optimizer.solvers.cbc import _read_result

    sol = tmp_path / "solution.txt"
    sol.write_text("Integer infeasible - objective value 27618.92054166\n")
    log = ("Continuous objective value is 27618.9 - 0.03 seconds\nCgl0000I Cut generators found to be infeasible! "
           "(or unbounded)\nPre-processing says infeasible or unbounded\n"
           "Total time (CPU seconds):       0.07   (Wallclock seconds):       0.07\n")
    model = hand_ufl()
    limited = _read_result(model, SolveOptions(time_limit=0.05), sol, tmp_path / "x.bin", log)
    assert (limited.status, limited.termination) == (Status.NO_SOLUTION, Termination.TIME_LIMIT)
    proven = _read_result(model, SolveOptions(time_limit=60.0), sol, tmp_path / "x.bin", log)
    assert (proven.status, proven.termination) == (Status.INFEASIBLE, Termination.INFEASIBLE)


@CBC
def test_a_cbc_crash_is_a_solve_without_a_plan_not_an_exception(tmp_path, monkeypatch):
    # CBC 2.10 segfaults now and then with a limit of a few ms and a MIP start: a RuntimeError lost the pooled
    # loop's earlier plans and the command line exited 1 (bad input) with nothing on stdout.
    from optimizer.solvers import cbc

    crashing = tmp_path / "cbc"
    crashing.write_text("#!/bin/sh\nkill -SEGV $$\n")
    crashing.chmod(0o755)
    monkeypatch.setattr(cbc, "cbc_path", lambda: str(crashing))
    result = get_solver("cbc").solve(hand_ufl(), SolveOptions())
    assert (result.status, result.termination) == (Status.NO_SOLUTION, Termination.NUMERICAL)
    assert "crashed (signal 11)" in result.message
