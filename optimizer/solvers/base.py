"""The solver interface: options in, a typed result out.

Each backend lives in its own module and subclasses :class:`Solver`; the
registry in :mod:`optimizer.solvers` maps names to backends.

What "optimal" means (the one definition; the README's "Command line" section
points here): a plan is ``optimal`` when the solver proved it within the relative
gap :data:`DEFAULT_MIP_GAP` (1e-9) or the absolute gap :data:`DEFAULT_ABS_GAP`
(1e-6 currency per period) of its bound (:func:`classify`).  Where the model
approximates a cost (the pooled stock model's square roots, by cutting planes),
the approximation error at the plan must also be within that model's tolerance
(``optimizer.api.POOLED_REL_TOL``, 1e-6 of the holding cost), so the reported
objective (exact costs) may exceed the proven bound by at most that much
(:func:`proven_optimal` with ``slack``).  Every other plan is ``feasible``, with its
gap.  A bound above the objective (beyond :data:`BOUND_TOLERANCE`) is never
clipped: it is reported as it is, and flags an error (:func:`bound_exceeds`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from optimizer.model.linear import LinearModel, validate_model
from optimizer.solvers import interrupt

#: Relative MIP gap used unless the user sets one: "optimal" means proven within it.
DEFAULT_MIP_GAP = 1e-9
#: Absolute MIP gap (currency) accepted as proof of optimality.
DEFAULT_ABS_GAP = 1e-6
#: A bound may exceed the objective by this much (relative, of ``max(1, |objective|)``: the
#: solvers' feasibility tolerance) before it counts as an error.
BOUND_TOLERANCE = 1e-6


class Status(str, enum.Enum):
    """Outcome of a solve, as reported to users (the value is the JSON string)."""

    OPTIMAL = "optimal"  #: proven optimal within the default gap
    FEASIBLE = "feasible"  #: a plan, stopped by a time limit or a user-set gap
    NO_SOLUTION = "no_solution"  #: a limit was hit before any plan was found
    INFEASIBLE = "infeasible"  #: no plan satisfies the constraints

    def __str__(self) -> str:
        return self.value

    @property
    def has_plan(self) -> bool:
        """True when the result carries a solution vector."""
        return self in (Status.OPTIMAL, Status.FEASIBLE)


class Termination(str, enum.Enum):
    """Why a solve stopped (the value is the JSON string); :class:`Status` says what came out of it.

    ``optimal``, ``gap_limit`` (a user-set ``mip_gap`` reached: final), ``time_limit`` and
    ``interrupted`` (SIGINT / SIGTERM: the best plan so far, if any) are the normal endings of a
    run with a plan or without; ``round_limit`` (the pooled stock loop's most rounds of cuts, with the
    holding cost not yet exact: the best plan, ``feasible``, final) ends a run with a plan;
    ``infeasible``, ``unbounded`` and ``numerical`` (the solver gave up on numerical trouble)
    explain a run without a plan.
    """

    OPTIMAL = "optimal"
    GAP_LIMIT = "gap_limit"
    TIME_LIMIT = "time_limit"
    ROUND_LIMIT = "round_limit"
    INTERRUPTED = "interrupted"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    NUMERICAL = "numerical"

    def __str__(self) -> str:
        return self.value

    @property
    def final(self) -> bool:
        """Whether re-running with the same inputs would end the same way (not cut short by the clock or a signal)."""
        return self not in (Termination.TIME_LIMIT, Termination.INTERRUPTED)


class Capability(str, enum.Enum):
    """Features a backend may support."""

    MIP = "mip"
    TIME_LIMIT = "time_limit"
    MIP_GAP = "mip_gap"
    THREADS = "threads"
    WARM_START = "warm_start"
    BOUND = "bound"


#: Every capability: what a full-featured MIP backend declares.
ALL_CAPABILITIES: frozenset[Capability] = frozenset(Capability)


@dataclass(frozen=True)
class SolveOptions:
    """Settings passed to a backend.

    Attributes:
        time_limit: Wall-clock limit in seconds, ``None`` for none.
        mip_gap: Relative gap at which to stop; ``None`` uses :data:`DEFAULT_MIP_GAP`.
        threads: Number of threads, ``None`` lets the solver choose.
        verbose: Send the solver's log to stderr (never stdout).
        proof: The model's warm start is (nearly) optimal: spend the effort on the bound, not on
            finding plans (HiGHS: primal heuristics off, early pseudo-costs); backends may ignore it.
        on_plan: Called with each improving plan the solver finds (its column values); when it
            returns True the solve stops there (termination ``interrupted``, with that plan and a
            valid bound).  HiGHS honours it; other backends ignore it.
        node_limit: Most branch-and-bound nodes (a deterministic work limit for heuristic
            sub-solves; HiGHS only), ``None`` for none.
        lp_method: The LP algorithm (HiGHS's ``solver`` option: ``simplex``, ``ipm``, ``pdlp``),
            ``None`` for the solver's choice; other backends ignore it.
        cutoff: Only plans with an objective below this matter (a plan known elsewhere is this
            good): the solver may prune every branch whose bound exceeds it, and the result's bound
            is then at most ``cutoff`` (a valid bound of every plan; without a plan below the cutoff
            the result may have none).  HiGHS honours it (``objective_bound``); other backends
            ignore it and solve the whole model.
    """

    time_limit: float | None = None
    mip_gap: float | None = None
    threads: int | None = None
    verbose: bool = False
    proof: bool = False
    on_plan: Callable[[np.ndarray], bool] | None = field(default=None, compare=False)
    node_limit: int | None = None
    lp_method: str | None = None
    cutoff: float | None = None

    @property
    def effective_gap(self) -> float:
        """The relative gap the solver is asked to reach."""
        return DEFAULT_MIP_GAP if self.mip_gap is None else self.mip_gap

    @property
    def effective_cutoff(self) -> float | None:
        """The cutoff, ``None`` when there is none (unset or infinite)."""
        return self.cutoff if self.cutoff is not None and np.isfinite(self.cutoff) else None


@dataclass
class SolverResult:
    """What a backend returns.

    Attributes:
        status: Outcome (see :class:`Status`).
        solver: Backend name.
        termination: Why the solver stopped (see :class:`Termination`), ``None`` if not known.
        x: Solution vector (length n_cols) when ``status.has_plan``.
        objective: Objective value including the model offset.
        bound: Best proven lower bound including the offset (``None`` if unknown).
        solve_seconds: Wall-clock time spent in the solver.
        message: Backend's own words on the outcome.
        row_dual: Row duals of an optimal linear program (no integer columns), when the
            backend reports them (HiGHS does), else ``None``.
    """

    status: Status
    solver: str
    termination: Termination | None = None
    x: np.ndarray | None = None
    objective: float | None = None
    bound: float | None = None
    solve_seconds: float = 0.0
    message: str = ""
    row_dual: np.ndarray | None = None

    @property
    def gap(self) -> float | None:
        """Relative gap (objective - bound) / |objective| (0 when both are 0)."""
        return relative_gap(self.objective, self.bound)


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """Return (objective - bound) / |objective|, clipped at 0; ``None`` if unknown."""
    if objective is None or bound is None or not np.isfinite(bound):
        return None
    diff = max(objective - bound, 0.0)
    if diff == 0.0:
        return 0.0
    return diff / max(abs(objective), 1e-10)


def classify(proved_optimal: bool, has_solution: bool, options: SolveOptions,
             objective: float | None, bound: float | None) -> Status:
    """Map a backend's outcome on a feasible-or-unknown model to a :class:`Status`.

    A plan counts as ``optimal`` only when the solver proved it within the
    default gap (relative :data:`DEFAULT_MIP_GAP` or absolute
    :data:`DEFAULT_ABS_GAP`); a plan stopped by a time limit or by a looser
    user-set gap is ``feasible``.
    """
    if not has_solution:
        return Status.NO_SOLUTION
    if proved_optimal and proven_optimal(objective, bound):
        return Status.OPTIMAL
    return Status.FEASIBLE


def proven_optimal(objective: float | None, bound: float | None, slack: float = 0.0) -> bool:
    """Whether ``bound`` proves ``objective`` optimal: within relative :data:`DEFAULT_MIP_GAP` or
    absolute :data:`DEFAULT_ABS_GAP`, plus ``slack`` (currency; an approximated cost's tolerance).
    """
    if objective is None or bound is None or not np.isfinite(bound) or not np.isfinite(objective):
        return False  # no plan (an infinite objective) is never proven
    diff = objective - bound - slack
    return diff <= DEFAULT_ABS_GAP or diff <= DEFAULT_MIP_GAP * abs(objective)


def bound_exceeds(objective: float | None, bound: float | None) -> bool:
    """Whether a lower ``bound`` lies above ``objective`` by more than :data:`BOUND_TOLERANCE`: an error
    (a wrong model, cost or solver answer), never to be clipped away."""
    if objective is None or bound is None or not np.isfinite(bound):
        return False
    return bound - objective > BOUND_TOLERANCE * max(1.0, abs(objective))


def solver_termination(status: Status, proved_optimal: bool, options: SolveOptions) -> Termination:
    """Termination of a solve the backend reported as ended normally (not a limit or a signal).

    ``optimal`` when the plan is proven within the default gap; ``gap_limit`` when the
    solver stopped at a looser gap the user set.
    """
    if status is Status.INFEASIBLE:
        return Termination.INFEASIBLE
    if status is Status.OPTIMAL or (proved_optimal and options.mip_gap is None):
        return Termination.OPTIMAL
    return Termination.GAP_LIMIT


class Solver:
    """Base class of backend adapters.

    Subclasses set :attr:`name` and :attr:`capabilities` and implement
    :meth:`available` and :meth:`_solve`; :meth:`solve` validates the model first.
    """

    name: str = ""
    capabilities: frozenset[Capability] = frozenset()

    @classmethod
    def available(cls) -> bool:
        """Whether the backend can run on this machine."""
        raise NotImplementedError

    def solve(self, model: LinearModel, options: SolveOptions) -> SolverResult:
        """Solve ``model`` and return a typed result (never raises on infeasibility).

        The model is validated first (:func:`optimizer.model.linear.validate_model`); when an
        interrupt was already requested (:mod:`optimizer.solvers.interrupt`) no solve starts.

        Raises:
            InputError: NaN, infinite or huge figures, or crossed bounds, in the model.
        """
        validate_model(model)
        if interrupt.requested():
            return SolverResult(Status.NO_SOLUTION, self.name, termination=Termination.INTERRUPTED,
                                message="interrupted before the solve started")
        return self._solve(model, options)

    def _solve(self, model: LinearModel, options: SolveOptions) -> SolverResult:
        """The backend's own solve of a validated model."""
        raise NotImplementedError
