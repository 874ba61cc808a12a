"""The penalty of a site's final stock, and the shortage-sharing rule.

For one site and product with final stock ``F`` (on hand kept + received + in transit arriving
within the run), ``min``, ``target`` and ``max`` (whole units) and the product's rates
``shortage`` (currency per unit below min), ``below_target`` (``target_factor x shortage``) and
``excess`` (currency per unit above max)::

    penalty(F) = sum over the quarters s = 0..3 of [0, min) of
                     (1 + 0.1 x (3 - s)) x shortage x (units of quarter s not covered by F)
               + below_target x max(0, target - max(F, min))
               + excess x max(0, F - max)

Quarter ``s`` is ``[floor(s x min / 4), floor((s + 1) x min / 4))``: the emptiest quarter costs
30 % more per unit than ``shortage``, the next 20 %, then 10 %, and the last quarter below min
costs ``shortage``.  **Sharing rule**: when stock is short overall, a unit goes first to the site
whose stock is the smallest fraction of its min (by quarters), so shortfalls are shared in
proportion to the sites' mins, as far as transfer costs allow (a transfer must still pay for
itself).  The penalty is convex and piecewise linear in ``F``; the engine models it with one
band per piece (:data:`BANDS`).
"""

from __future__ import annotations

import numpy as np

#: Quarters of the below-min band.
QUARTERS = 4
#: Extra weight of each quarter below min, emptiest first: 1.3, 1.2, 1.1, 1.0 times the shortage rate.
QUARTER_WEIGHTS = np.array([1.3, 1.2, 1.1, 1.0])
#: The bands of final stock, in fill order: four quarters below min, min..target, target..max, above max.
BANDS = ("min_q1", "min_q2", "min_q3", "min_q4", "target", "ok", "excess")


def band_edges(minimum: np.ndarray, target: np.ndarray, maximum: np.ndarray) -> np.ndarray:
    """Lower edges of the bands in final-stock units, shape (..., 8): the 7 bands' starts and +inf.

    Args:
        minimum, target, maximum: Whole units (``maximum`` may be inf), same shape.
    """
    minimum = np.asarray(minimum, dtype=float)
    quarters = [np.floor(s * minimum / QUARTERS) for s in range(QUARTERS)]
    return np.stack(quarters + [minimum, np.asarray(target, dtype=float), np.asarray(maximum, dtype=float),
                                np.full(minimum.shape, np.inf)], axis=-1)


def band_rates(shortage: np.ndarray, below_target: np.ndarray, excess: np.ndarray) -> np.ndarray:
    """Penalty saved by one more unit in each band (negative for the excess band), shape (..., 7)."""
    shortage = np.asarray(shortage, dtype=float)
    parts = [w * shortage for w in QUARTER_WEIGHTS]
    parts += [np.asarray(below_target, dtype=float), np.zeros(shortage.shape), -np.asarray(excess, dtype=float)]
    return np.stack(parts, axis=-1)


def penalty(final: np.ndarray, minimum: np.ndarray, target: np.ndarray, maximum: np.ndarray,
            shortage: np.ndarray, below_target: np.ndarray, excess: np.ndarray) -> dict[str, np.ndarray]:
    """The penalty of final stocks, by part (element-wise; every argument broadcasts).

    Returns:
        ``below_min``, ``below_target`` and ``excess`` penalties (currency), and ``short_of_min``,
        ``short_of_target`` and ``above_max`` (units).
    """
    final = np.asarray(final, dtype=float)
    edges = band_edges(*np.broadcast_arrays(minimum, target, maximum))
    uncovered = np.clip(edges[..., 1:QUARTERS + 1] - np.maximum(edges[..., :QUARTERS], final[..., None]), 0, None)
    shortage = np.asarray(shortage, dtype=float)
    below_min = (uncovered * QUARTER_WEIGHTS).sum(axis=-1) * shortage
    minimum = np.asarray(minimum, dtype=float)
    short_target = np.maximum(0.0, np.asarray(target, dtype=float) - np.maximum(final, minimum))
    with np.errstate(invalid="ignore"):
        above = np.maximum(0.0, final - np.asarray(maximum, dtype=float))
    return {
        "below_min": below_min, "below_target": short_target * below_target, "excess": above * excess,
        "short_of_min": np.maximum(0.0, minimum - final),
        "short_of_target": np.maximum(0.0, np.asarray(target, dtype=float) - final), "above_max": above,
    }


def marginal_rate(final: np.ndarray, minimum: np.ndarray, target: np.ndarray, maximum: np.ndarray,
                  shortage: np.ndarray, below_target: np.ndarray, excess: np.ndarray) -> np.ndarray:
    """Penalty saved by one more unit at ``final`` (the rate of the band ``final`` lies in)."""
    edges = band_edges(*np.broadcast_arrays(minimum, target, maximum))
    rates = band_rates(*np.broadcast_arrays(shortage, below_target, excess))
    final = np.asarray(final, dtype=float)
    inside = (final[..., None] >= edges[..., :-1]) & (final[..., None] < edges[..., 1:])
    inside &= edges[..., 1:] > edges[..., :-1]  # empty bands hold nothing
    band = np.where(inside.any(axis=-1), inside.argmax(axis=-1), len(BANDS) - 1)
    return np.take_along_axis(rates, band[..., None], axis=-1)[..., 0]
