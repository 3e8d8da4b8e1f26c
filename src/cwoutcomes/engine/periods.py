"""Reporting periods (measures.md G1): 12-month windows named by their last quarter, the
federal aliases (`24A24B` = window `2024Q3`), quarters, months and the 6-month data-quality
periods."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from cwoutcomes.errors import CwoutcomesError

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_FEDERAL = re.compile(r"^(\d{2})([AB])(\d{2})([AB])$")


@dataclass(frozen=True, order=True)
class Window:
    """A 12-month window `ps`..`pe` (inclusive) named by its last quarter."""

    year: int
    quarter: int

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.quarter}"

    @property
    def end(self) -> dt.date:
        return quarter_end(self.year, self.quarter)

    @property
    def start(self) -> dt.date:
        return shift_months(quarter_start(self.year, self.quarter), -9)

    @property
    def last_quarter_start(self) -> dt.date:
        """The point-in-time date of the window (first day of its last quarter)."""
        return quarter_start(self.year, self.quarter)

    def shifted(self, quarters: int) -> "Window":
        index = self.year * 4 + (self.quarter - 1) + quarters
        return Window(index // 4, index % 4 + 1)


def quarter_start(year: int, quarter: int) -> dt.date:
    return dt.date(year, 3 * quarter - 2, 1)


def quarter_end(year: int, quarter: int) -> dt.date:
    return shift_months(quarter_start(year, quarter), 3) - dt.timedelta(days=1)


def shift_months(day: dt.date, months: int) -> dt.date:
    """First-of-month arithmetic only (callers pass the 1st)."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, day.day)


def parse_window(text: str) -> Window:
    text = text.strip().upper()
    if m := _QUARTER.match(text):
        return Window(int(m.group(1)), int(m.group(2)))
    if m := _FEDERAL.match(text):
        # Federal 6-month periods: A = October-March, B = April-September; `24A24B` is FFY2024,
        # October 2023 - September 2024, i.e. the window ending 2024Q3; `24B25A` ends 2025Q1.
        y2, h2 = 2000 + int(m.group(3)), m.group(4)
        return Window(y2, 1) if h2 == "A" else Window(y2, 3)
    raise CwoutcomesError(f"{text!r} is not a window label (use e.g. 2024Q4 or 24A24B)")


def parse_windows(text: str) -> list[Window]:
    return sorted({parse_window(part) for part in text.split(",") if part.strip()})


def latest_windows(extract_date: dt.date, count: int) -> list[Window]:
    """The `count` most recent windows whose last day is on or before the extract date."""
    last = Window(extract_date.year, (extract_date.month - 1) // 3 + 1)
    if last.end > extract_date:
        last = last.shifted(-1)
    return [last.shifted(-i) for i in reversed(range(count))]


def dq_period_start(day: dt.date) -> dt.date:
    """Start of the 6-month data-quality period (October-March or April-September) holding day."""
    if 4 <= day.month <= 9:
        return dt.date(day.year, 4, 1)
    return dt.date(day.year if day.month >= 10 else day.year - 1, 10, 1)
