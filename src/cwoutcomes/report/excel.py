"""The report as an Excel workbook, laid out like the county workbooks analysts use: a summary
sheet, one sheet per measure (notes on top: definition, unit, direction, reference values,
the current figures; then the trend, the groups and, for the state, the counties), the practice
model, data quality and the legend. Numbers are real numbers with display formats (G15); a
value that is not shown carries its state as text ("masked", "data quality", ...), never a
blank and never the hidden number."""

from __future__ import annotations

import re
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from cwoutcomes.report import format as fmt
from cwoutcomes.report.document import MeasureBlock, Report, Table
from cwoutcomes.report.flat import flatten

TITLE = Font(bold=True, size=13, color="1F4E79")
BOLD = Font(bold=True)
HEADER = Font(bold=True, color="1F1F1F")
HEADER_FILL = PatternFill("solid", fgColor="EEF2F7")
STATE_FONT = Font(italic=True, color="6C3483")
RED = Font(bold=True, color="A93226")
WRAP = Alignment(wrap_text=True, vertical="top")


def _value_format(unit: str) -> str:
    places = fmt.decimals(unit)
    return "#,##0" if places == 0 else "#,##0." + "0" * places


def sheet_name(text: str, used: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\, unique."""
    name = re.sub(r"[\[\]:*?/\\]", "-", text)[:31]
    base, n = name, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    used.add(name.lower())
    return name


def write_table(ws, table: Table, start_row: int, title: str | None = None) -> int:
    """Write a table from start_row; returns the next free row (one blank row after)."""
    row = start_row
    if title:
        ws.cell(row=row, column=1, value=title).font = BOLD
        row += 1
    columns = flatten(table)
    for j, column in enumerate(columns, start=1):
        cell = ws.cell(row=row, column=j, value=column.label)
        cell.font, cell.fill, cell.alignment = HEADER, HEADER_FILL, WRAP
    row += 1
    for record in table.rows:
        for j, column in enumerate(columns, start=1):
            value = column.get(record)
            cell = ws.cell(row=row, column=j)
            if value is None and column.state_of is not None:
                cell.value = column.state_of(record).replace("_", " ")
                cell.font = STATE_FONT
                continue
            if isinstance(value, bool):
                value = "yes" if value else "no"
            cell.value = value
            if value is None:
                continue
            if column.kind == "value" and column.unit_of is not None:
                cell.number_format = _value_format(column.unit_of(record))
            elif column.kind == "count":
                cell.number_format = "#,##0"
            elif column.kind == "p":
                cell.number_format = "0.0000"
            elif column.kind == "fraction":
                cell.number_format = "0.0%" if "rate" in column.key or column.key == "limit" else "0"
        row += 1
    if table.note:
        ws.cell(row=row, column=1, value=table.note).font = Font(italic=True, size=9)
        row += 1
    return row + 1


def _fit_columns(ws, widths: dict[int, float]) -> None:
    for j, width in widths.items():
        ws.column_dimensions[get_column_letter(j)].width = width


def _header(ws, report: Report, title: str) -> int:
    ws.cell(row=1, column=1, value=title).font = TITLE
    ws.cell(row=2, column=1, value=f"{report.geo_name}, window {report.quarter} "
                                   f"({report.window_start.isoformat()} to {report.window_end.isoformat()})")
    mark = ws.cell(row=3, column=1, value="Public: counts of 1 to 10 are masked (G14)." if report.public
                   else "CONFIDENTIAL — contains small counts. Not for publication.")
    if not report.public:
        mark.font = RED
    return 5


def _measure_sheet(ws, report: Report, block: MeasureBlock) -> None:
    info = block.info
    row = _header(ws, report, f"{info.id} {info.name}")
    notes = [
        ("Version", info.version_label), ("Unit", info.unit_label),
        ("Direction", {"higher": "higher is better", "lower": "lower is better"}.get(info.direction, "context measure")),
        (f"Value, {report.quarter}", fmt.cell_value_text(block.current)),
        ("95% CI", fmt.cell_ci_text(block.current)),
        ("Numerator / denominator", f"{fmt.cell_count_text(block.current, 'numerator')} / "
                                    f"{fmt.cell_count_text(block.current, 'denominator')}"),
        ("Change from a year earlier", fmt.change_text(block.change, verdict=True)),
        ("Reference", f"{fmt.value_text(block.standard.reference, block.standard.unit)} ({block.standard.label})"
                      if block.standard else "none (context measure)"),
        ("Against the reference", fmt.comparison_text(block.standard)),
        ("SIP target", fmt.value_text(block.target.reference, block.target.unit) if block.target else "none set"),
        ("Against the target", fmt.comparison_text(block.target) if block.target else "—"),
    ]
    if block.rank is not None:
        notes.append((f"Rank among counties ({block.rank.order})", fmt.rank_text(block.rank)))
    notes.append(("Methodology", block.methodology))
    for label, text in notes:
        ws.cell(row=row, column=1, value=label).font = BOLD
        cell = ws.cell(row=row, column=2, value=text)
        if label == "Methodology":
            ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=10)
            cell.alignment = WRAP
            ws.row_dimensions[row].height = 15 * max(2, len(text) // 120 + 1)
        row += 1
    row += 1
    row = write_table(ws, block.trend, row, "Trend by window")
    if block.strata is not None:
        row = write_table(ws, block.strata, row, f"By group, {report.quarter}")
    if block.counties is not None:
        row = write_table(ws, block.counties, row, f"Counties, {report.quarter}")
    _fit_columns(ws, {1: 26, **{j: 13 for j in range(2, 20)}})
    ws.freeze_panes = "A5"


def write_workbook(report: Report, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    used: set[str] = set()
    ws = wb.active
    ws.title = sheet_name("Summary", used)
    row = _header(ws, report, report.title)
    write_table(ws, report.cover, row, "Headline measures")
    _fit_columns(ws, {1: 26, 2: 42, **{j: 13 for j in range(3, 24)}})
    for block in report.measure_blocks():
        _measure_sheet(wb.create_sheet(sheet_name(block.info.id, used)), report, block)
    ws = wb.create_sheet(sheet_name("Practice model", used))
    row = _header(ws, report, "Core Practice Model: process measures and the outcomes they target")
    for component in report.practice:
        ws.cell(row=row, column=1, value=component.title).font = TITLE
        ws.cell(row=row + 1, column=1, value="Practices: " + ", ".join(component.practices))
        row = write_table(ws, component.process, row + 2, "Process measures")
        row = write_table(ws, component.outcomes, row, "Outcomes targeted")
        if component.comparison is not None:
            row = write_table(ws, component.comparison, row, "Outcomes by practice received (descriptive)")
    _fit_columns(ws, {1: 40, 2: 42, **{j: 13 for j in range(3, 20)}})
    ws = wb.create_sheet(sheet_name("Data quality", used))
    row = _header(ws, report, "Data quality")
    q = report.quality
    if q.note:
        ws.cell(row=row, column=1, value=q.note)
        row += 2
    for table in (q.limits, q.flagged, q.records, q.cells):
        if table is not None:
            row = write_table(ws, table, row, table.title)
    _fit_columns(ws, {1: 34, 2: 40, **{j: 14 for j in range(3, 20)}})
    ws = wb.create_sheet(sheet_name("Notes", used))
    row = _header(ws, report, "Notes and legend")
    for mark, text in report.legend:
        ws.cell(row=row, column=1, value=mark).font = BOLD
        ws.cell(row=row, column=2, value=text)
        row += 1
    _fit_columns(ws, {1: 22, 2: 120})
    wb.save(str(path))
    return path
