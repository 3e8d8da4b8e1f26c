"""The tables the pages show and the downloads hand out: one definition of rows and columns
per view, formatted for the page (G15 rounding) and written at full precision to CSV and Excel,
so a download holds exactly the rows and columns on the screen."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import pandas as pd

STATUS_LABELS = {
    "ok": "ok", "masked": "masked (1-10)", "data_quality": "data quality", "not_available": "not available",
    "incomplete": "incomplete follow-up",
}
DECIMALS = {"percent": 1, "per_1000_children": 2, "per_1000_days": 2, "per_100k_days": 2}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = "text"  # text, count, value, percent, bool, status


NUMBERS = (
    Column("numerator", "Numerator", "count"),
    Column("denominator", "Denominator", "count"),
    Column("value", "Value", "value"),
    Column("ci_lower", "95% CI lower", "value"),
    Column("ci_upper", "95% CI upper", "value"),
    Column("national_standard", "National standard", "value"),
    Column("target", "SIP target", "value"),
    Column("meets_standard", "Meets standard", "bool"),
    Column("percent_of_standard", "% of standard", "percent"),
    Column("status", "Status", "status"),
)
TREND = (Column("window", "Window"), Column("period_start", "From"), Column("period_end", "To"), *NUMBERS)
STRATA = (Column("stratum", "Stratum"), Column("stratum_value", "Group"), *NUMBERS)
COMPARE = (Column("county", "County code"), Column("name", "County"), *NUMBERS)
QUALITY = (
    Column("county", "County code"), Column("name", "County"), Column("dq_start", "Period from"),
    Column("description", "Check"), Column("of", "Out of"), Column("failing", "Failing", "count"),
    Column("total", "Total", "count"), Column("rate", "Rate (%)", "rate"), Column("limit", "Limit (%)", "rate"),
    Column("passed", "Passed", "bool"),
)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_cell(value, kind: str, unit: str = "percent") -> str:
    if kind == "status":
        return STATUS_LABELS.get(str(value), str(value))
    if _missing(value):
        return ""
    if kind == "count":
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    if kind == "value":
        return f"{value:,.{DECIMALS.get(unit, 1)}f}"
    if kind == "percent":
        return f"{value:,.1f}"
    if kind == "rate":
        return f"{value * 100:,.1f}"
    if kind == "bool":
        return "yes" if value else "no"
    return str(value)


@dataclass
class Table:
    """Rows and columns of one view; `caption` names it for screen readers and file names."""

    caption: str
    columns: tuple[Column, ...]
    rows: pd.DataFrame
    unit: str = "percent"

    def cells(self) -> list[list[str]]:
        keys = [c.key for c in self.columns]
        records = self.rows[keys].itertuples(index=False, name=None) if len(self.rows) else []
        return [[format_cell(v, c.kind, self.unit) for v, c in zip(record, self.columns)] for record in records]

    def frame(self) -> pd.DataFrame:
        """The download: the same rows and columns, numbers at full precision."""
        out = self.rows[[c.key for c in self.columns]].copy()
        return out.rename(columns={c.key: c.header for c in self.columns})

    def to_csv(self) -> bytes:
        return self.frame().to_csv(index=False).encode("utf-8")

    def to_xlsx(self) -> bytes:
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            # Excel limits sheet names to 31 characters without []:*?/\ .
            sheet = "".join(ch for ch in self.caption if ch not in "[]:*?/\\")[:31] or "results"
            self.frame().to_excel(writer, index=False, sheet_name=sheet)
        return buffer.getvalue()
