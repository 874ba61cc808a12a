"""The decision report: per-site P&L, lane and assignment tables, offline HTML pages and the Excel workbook.

* :mod:`optimizer.report.tables`: the tables (site P&L that re-adds to the objective, lanes, assignments);
* :mod:`optimizer.report.html`: ``report.html`` and ``map.html``, self-contained pages that work offline;
* :mod:`optimizer.report.xlsx`: ``result.xlsx``, one sheet per table.
"""
