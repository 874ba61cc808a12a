"""Random capacitated facility-location instances in OR-Library format.

The generator follows Cornuéjols, Sridharan and Thizy (1991, EJOR 50:280-297),
the scheme behind most CFLP test sets since:

* facilities and customers are uniform points in the unit square;
* demand ``d_j`` is uniform on [5, 35] units (rounded to integers);
* raw capacities are uniform on [10, 160] units and are then scaled so that
  total capacity / total demand equals ``ratio`` (rounded to integers);
* fixed costs grow with the square root of capacity (economies of scale):
  ``f_i = U[0, 90] + U[100, 110] * sqrt(s_i)``, currency;
* the cost of serving customer j's whole demand from facility i is
  ``cost_scale * distance_ij * d_j``, currency (distance in unit-square units).

The result is the text of an OR-Library capacitated warehouse location file
(read it back with :func:`optimizer.io.orlib.read_orlib`).  The same seed
always gives the same text.
"""

from __future__ import annotations

import numpy as np

from optimizer.io.orlib import format_orlib

#: Default total capacity / total demand.
DEFAULT_RATIO = 3.0
#: Default currency per unit of demand per unit of distance.
DEFAULT_COST_SCALE = 10.0


def random_capacitated(
    n_sites: int,
    n_customers: int,
    seed: int,
    ratio: float = DEFAULT_RATIO,
    cost_scale: float = DEFAULT_COST_SCALE,
) -> str:
    """Generate a random capacitated instance in OR-Library format.

    Write the text to a file and read it with ``optimizer.load(path, format="orlib")``.

    Args:
        n_sites: Number of candidate facilities (>= 1).
        n_customers: Number of customers (>= 1).
        seed: Seed of the random generator; equal seeds give equal text.
        ratio: Total capacity / total demand (>= 1 so that a plan exists);
            smaller values make the instance tighter and harder.
        cost_scale: Shipping cost, currency per unit of demand per unit of
            distance in the unit square.

    Returns:
        The file contents.

    Raises:
        ValueError: A count is below 1, ``ratio`` below 1 or ``cost_scale`` negative.
    """
    if n_sites < 1 or n_customers < 1:
        raise ValueError(f"need at least one site and one customer, got {n_sites} and {n_customers}")
    if not ratio >= 1.0:
        raise ValueError(f"ratio (total capacity / total demand) must be at least 1, got {ratio}")
    if not cost_scale >= 0.0:
        raise ValueError(f"cost_scale must be non-negative, got {cost_scale}")
    rng = np.random.default_rng(seed)
    sites = rng.random((n_sites, 2))
    customers = rng.random((n_customers, 2))
    demand = rng.integers(5, 36, size=n_customers).astype(float)
    raw = rng.uniform(10.0, 160.0, size=n_sites)
    capacity = np.round(raw * ratio * demand.sum() / raw.sum())
    # Rounding may lose a unit or two: make sure total capacity still covers the demand.
    capacity[np.argmax(capacity)] += max(0.0, demand.sum() - capacity.sum())
    fixed_cost = np.round(rng.uniform(0.0, 90.0, n_sites) + rng.uniform(100.0, 110.0, n_sites) * np.sqrt(capacity), 3)
    distance = np.linalg.norm(sites[:, None, :] - customers[None, :, :], axis=2)
    allocation_cost = np.round(cost_scale * distance * demand[None, :], 3)
    return format_orlib(capacity, fixed_cost, demand, allocation_cost)
