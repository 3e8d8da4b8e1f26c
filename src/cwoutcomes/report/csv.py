"""One CSV file per table shown in a report (`<table slug>.csv`, UTF-8, comma, header row):
the raw values behind each cell at full precision, with a status column per value, so a
masked or data-quality cell is an empty value with its reason beside it."""

from __future__ import annotations

import csv as _csv
from pathlib import Path

from cwoutcomes.report.document import Report, Table
from cwoutcomes.report.flat import flatten


def _text(x) -> str:
    if x is None:
        return ""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        return repr(x) if x != int(x) or abs(x) >= 1e15 else str(int(x))
    return str(x)


def write_table(table: Table, path: Path) -> Path:
    columns = flatten(table)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = _csv.writer(handle)
        writer.writerow([c.key for c in columns])
        for row in table.rows:
            writer.writerow([_text(c.get(row)) for c in columns])
    return path


def write_csv_tables(report: Report, folder: Path) -> list[Path]:
    """Every table of the report, in page order, into `folder` (created)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_table(table, folder / f"{table.slug}.csv") for table in report.tables()]
