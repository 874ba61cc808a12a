"""Solve strategies: how a built model is taken through one or more solver calls.

``compact`` hands the whole MIP to the backend; ``sites`` (:mod:`optimizer.strategies.sites`)
branches on the site and link binaries over hot-started LP relaxations and solves each site plan's
assignments as a MIP; ``decompose`` (:mod:`optimizer.strategies.decompose`) bounds the model by
Lagrangian relaxation, finds plans by heuristics and solves a reduced MIP; ``auto`` picks
(:mod:`optimizer.strategies.select`).  The pooled stock model's cutting-plane loop is in
:mod:`optimizer.strategies.pooled`.  This module stays light: the command line imports it.
"""

#: Strategy names (``solver.strategy`` in network.yaml, ``--strategy`` on the command line).
STRATEGIES = ("auto", "compact", "sites", "decompose")
