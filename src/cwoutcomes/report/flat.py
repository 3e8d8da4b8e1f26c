"""A report table as plain columns of raw values, for the Excel and CSV writers: every typed
cell becomes the numbers behind it (value, interval bounds, counts, p-value, ...) plus its
state, at full precision (G15 rounds only for display). A value that is not shown (masked,
data quality, ...) is None here; its state column says why."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from cwoutcomes.report.document import Column, Table


@dataclass(frozen=True)
class FlatColumn:
    key: str  # CSV header (snake_case)
    label: str  # Excel header
    kind: str  # text | value | count | p | fraction | flag
    get: Callable[[dict], Any]
    unit_of: Callable[[dict], str] | None = None  # values: the unit, for the display format
    state_of: Callable[[dict], str] | None = None  # what to write instead of a missing value


def _num(x):
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def _snake(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text.lower()).strip("_").replace("__", "_")


def _cell_columns(column: Column, emitted: set) -> list[FlatColumn]:
    src = column.cell
    prefix = "" if src == "cell" else src.replace("_cell", "") + "_"
    state = (lambda r, s=src: r[s].state)
    unit = (lambda r, s=src: r[s].unit)
    kind = column.kind
    out = []
    if kind == "value":
        out.append(FlatColumn(f"{prefix}value", column.label, "value",
                              lambda r, s=src: _num(r[s].value) if r[s].shows_value else None, unit, state))
    elif kind == "ci":
        out.append(FlatColumn(f"{prefix}ci_lower", "95% CI lower", "value",
                              lambda r, s=src: _num(r[s].ci_lower) if r[s].shows_value else None, unit, state))
        out.append(FlatColumn(f"{prefix}ci_upper", "95% CI upper", "value",
                              lambda r, s=src: _num(r[s].ci_upper) if r[s].shows_value else None, unit, state))
    else:  # numerator / denominator
        out.append(FlatColumn(f"{prefix}{kind}", column.label, "count",
                              lambda r, s=src, k=kind: _num(getattr(r[s], k)), None, state))
    if src not in emitted:
        emitted.add(src)
        out.append(FlatColumn(f"{prefix}status", "Status" if not prefix else f"{column.label} status", "text",
                              lambda r, s=src: r[s].state.replace("_", " ")))
    return out


def flatten(table: Table) -> list[FlatColumn]:
    """The raw columns behind a table's columns, in order."""
    out: list[FlatColumn] = []
    emitted: set = set()
    for column in table.columns:
        key, label, kind = column.key, column.label, column.kind
        if kind in ("value", "ci", "numerator", "denominator"):
            out += _cell_columns(column, emitted)
        elif kind == "text":
            out.append(FlatColumn(key, label, "text", lambda r, k=key: r.get(k)))
        elif kind == "change":
            out.append(FlatColumn(key, label, "value",
                                  lambda r, k=key: _num(r[k].difference) if r.get(k) else None,
                                  lambda r, k=key: r[k].unit if r.get(k) else "",
                                  lambda r, k=key: (r[k].reason or "—") if r.get(k) else "no earlier window"))
            out.append(FlatColumn(f"{key}_p_value", "Change p-value", "p",
                                  lambda r, k=key: _num(r[k].p_value) if r.get(k) else None))
            out.append(FlatColumn(f"{key}_significant", "Significant (p < 0.05)", "flag",
                                  lambda r, k=key: (r[k].significant if r.get(k) and r[k].p_value == r[k].p_value else None)))
            out.append(FlatColumn(f"{key}_verdict", "Change direction", "text",
                                  lambda r, k=key: r[k].verdict if r.get(k) else None))
        elif kind == "reference":
            out.append(FlatColumn(key, label, "value", lambda r, k=key: _num(r[k].reference) if r.get(k) else None,
                                  lambda r, k=key: r[k].unit if r.get(k) else "",
                                  lambda r: "—"))
            out.append(FlatColumn(f"{key}_type", f"{label} type", "text",
                                  lambda r, k=key: r[k].label if r.get(k) else None))
        elif kind == "comparison":
            out.append(FlatColumn(key, label, "text",
                                  lambda r, k=key: (r[k].outcome or r[k].reason) if r.get(k) else None))
            out.append(FlatColumn(f"{key}_percent", f"{label} (% of reference)", "fraction",
                                  lambda r, k=key: _num(r[k].percent_of) if r.get(k) else None))
        elif kind == "rank":
            out.append(FlatColumn(key, label, "count",
                                  lambda r, k=key: _num(r[k].rank) if r.get(k) else None,
                                  None, lambda r, k=key: r[k].reason if r.get(k) else "—"))
            out.append(FlatColumn(f"{key}_of", "Counties ranked", "count",
                                  lambda r, k=key: r[k].of if r.get(k) else None))
        elif kind == "count":
            out.append(FlatColumn(key, label, "count", lambda r, k=key: _num(r.get(k)), None,
                                  lambda r: "masked" if r.get("state") == "masked" or getattr(r.get("rate"), "masked", False) else "—"))
        elif kind == "fraction":
            out.append(FlatColumn(key, label, "fraction", lambda r, k=key: _num(r.get(k))))
        elif kind == "quality":
            out.append(FlatColumn(f"{_snake(key)}_rate", f"{label} rate", "fraction",
                                  lambda r, k=key: (None if r.get(k) is None or r[k].masked else _num(r[k].rate)),
                                  None, lambda r, k=key: "masked" if r.get(k) is not None and r[k].masked else "—"))
            out.append(FlatColumn(f"{_snake(key)}_passed", f"{label} passed", "flag",
                                  lambda r, k=key: r[k].passed if r.get(k) is not None else None))
        else:
            raise ValueError(f"unknown column kind {kind!r}")
    return out
