"""Rebalancing runs: nightly stock transfers between operating sites over the transfer graph (issue 13).

* :mod:`optimizer.rebalance.inputs` reads ``inventory.csv``, ``targets.csv`` and
  ``in_transit.csv`` (declared in :mod:`optimizer.schema`) against a dataset, computes default
  targets from the pooled stock formulas and the penalties of ``network.yaml``'s ``rebalance:``;
* :mod:`optimizer.rebalance.graph` builds the transfer graph among the participating sites;
* :mod:`optimizer.rebalance.penalty` is the penalty of a site's final stock (the objective's
  second half, and the sharing rule);
* :mod:`optimizer.rebalance.engine` decides the transfers: a min-cost flow per product
  (OR-Tools), one multi-commodity LP when capacities couple products, a MIP for packs, minimum
  shipments, trucks and a cap on transfers;
* :mod:`optimizer.rebalance.summary` explains what is left short and writes the outputs;
* :mod:`optimizer.rebalance.job` runs it safely from cron (lock, atomic publication, run store).
"""
