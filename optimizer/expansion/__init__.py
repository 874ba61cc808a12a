"""Expansion planning studies: a multi-period network design over several study periods.

* :mod:`optimizer.expansion.study`: the study and its plan as data (the contract between the
  model side and the independent checker, :mod:`optimizer.checker.expansion`);
* :mod:`optimizer.expansion.studyfile`: reading a study YAML file and its ``expansion.csv``;
* :mod:`optimizer.expansion.model`: the multi-period MIP, built from one
  :func:`optimizer.model.build.build_model` block per study period;
* :mod:`optimizer.expansion.solve`: relax-and-fix plan, full-model bound, decoding and checking;
* :mod:`optimizer.expansion.stochastic`: demand paths (``uncertainty:``), the two-stage model with
  shared first-stage columns, VSS and regret;
* :mod:`optimizer.expansion.report`: JSON, per-period tables and the timeline chart.
"""
