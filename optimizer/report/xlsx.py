"""``result.xlsx``: the plan as an Excel workbook, one sheet per table (openpyxl).

The header row names each column with its unit (``total (USD per week)``); numbers are rounded
for reading (money to cents, quantities to 3 decimals, shares to 4; the CSV files keep full
precision) and shown with thousands separators; the site P&L and the lanes are Excel tables
(filter buttons, banded rows), the other sheets have a frozen, filterable header.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.io.files import replace_file
from optimizer.network import Network
from optimizer.outputs import PATH_SEPARATOR
from optimizer.report.tables import currency, money_unit, period_name

#: Columns holding money (currency per period).
MONEY_COLUMNS = {"shipping", "fixed", "handling", "holding", "holding_cycle", "holding_safety", "closing", "inbound",
                 "transfer", "total", "shipping_cost", "inbound_cost", "transfer_cost", "per_period", "delta",
                 "break_even_fixed_cost", "currency_per_period", "ordering_cost", "objective", "bound"}
#: Other units by column name ({period} is the period's name).
UNITS = {"quantity": "units per {period}", "units": "units per {period}", "units_served": "units per {period}",
         "volume": "volume units per {period}", "throughput_volume": "volume units per {period}",
         "transit_volume": "volume units per {period}", "capacity": "volume units per {period}",
         "km": "km", "transit_days": "days", "utilisation": "fraction", "share": "fraction",
         "demand_share": "fraction", "gap": "fraction", "base_gap": "fraction", "cost_per_unit": "{currency} per unit",
         "demand_per_period": "units per {period}", "std_per_period": "units per {period}",
         "lead_time_days": "days", "order_quantity": "units", "cycle_stock": "units", "safety_stock": "units",
         "reorder_point": "units", "days_of_cover": "days", "per_year": "{currency} per year",
         "value_per_unit": "{currency} per {period} per volume unit"}
#: Sheets written as Excel tables.
TABLE_SHEETS = ("site_pnl", "lanes")


def header(column: str, network: Network) -> str:
    """A column's header with its unit: ``total (USD per week)``."""
    if column in MONEY_COLUMNS:
        unit = money_unit(network)
    else:
        unit = UNITS.get(column, "").format(period=period_name(network), currency=currency(network))
    return f"{column} ({unit})" if unit else column


def _rounded(series: pd.Series, column: str) -> tuple[pd.Series, str]:
    """A numeric column rounded for reading, and its Excel number format."""
    if column in MONEY_COLUMNS:
        return series.round(2), "#,##0.00"
    if UNITS.get(column) == "fraction":
        return series.round(4), "0.00%"
    if series.dtype.kind in "iu":
        return series, "#,##0"
    return series.round(3), "#,##0.###"


def write_workbook(sheets: dict[str, pd.DataFrame], network: Network, path: str | Path) -> Path:
    """Write ``sheets`` (sheet name -> table) to an .xlsx file.

    Args:
        sheets: The tables, in sheet order (names of at most 31 characters).
        network: The network (currency and period for the headers).
        path: The workbook to write (through a temporary file renamed over it).

    Returns:
        The path written.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo

    book = Workbook()
    book.remove(book.active)
    for name, frame in sheets.items():
        sheet = book.create_sheet(name[:31])
        frame = frame.reset_index(drop=True)
        formats = {}
        columns = {}
        for column in frame.columns:
            values = frame[column]
            if values.dtype.kind in "fiu":
                values, formats[column] = _rounded(values.astype(float) if values.dtype.kind == "f" else values,
                                                   column)
            elif values.dtype.kind == "b":
                values = values.astype(bool)
            else:
                values = values.map(lambda v: PATH_SEPARATOR.join(map(str, v)) if isinstance(v, (list, tuple)) else v)
            columns[column] = values
        sheet.append([header(str(c), network) for c in frame.columns])
        data = pd.DataFrame(columns)
        for row in data.itertuples(index=False, name=None):
            values = [_cell(v) for v in row]
            sheet.append(values)
            if any(isinstance(v, str) and v.startswith("=") for v in values):
                for cell in sheet[sheet.max_row]:  # a name such as =cmd|'/C calc'!A0 stays text, never a formula
                    if isinstance(cell.value, str) and cell.value.startswith("="):
                        cell.data_type = "s"
        for j, column in enumerate(frame.columns, start=1):
            letter = get_column_letter(j)
            width = max(len(header(str(column), network)), 8)
            sheet.column_dimensions[letter].width = min(max(width, 10) + 2, 48)
            if column in formats:
                for cell in sheet[letter][1:]:
                    cell.number_format = formats[column]
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        last = f"{get_column_letter(max(1, len(frame.columns)))}{len(frame) + 1}"
        if name in TABLE_SHEETS and len(frame) and len(frame.columns):
            excel_table = Table(displayName=f"t_{name}", ref=f"A1:{last}")
            excel_table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
            sheet.add_table(excel_table)
        elif len(frame.columns):
            sheet.auto_filter.ref = f"A1:{last}"
    path = Path(path)
    with replace_file(path) as tmp:
        book.save(tmp)
    return path


def _cell(value: object) -> object:
    """A value openpyxl can store: numpy scalars to Python, NaN and inf to blanks."""
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value
