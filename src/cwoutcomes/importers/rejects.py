"""The list of everything an import did not take as given: records dropped (with the reason),
values set to null because they were not valid, and files that could not be read.

It is written to `import_rejects.csv` in the data-set folder, one row per problem, so that no
record disappears without a trace (data-quality.md: "nothing is dropped silently"). Values and
keys are child-level data: the file belongs with the data set, never in logs or console output.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

COLUMNS = ("source", "file", "line", "key", "field", "value", "reason", "action")
# action: what happened to the record.
RECORD_DROPPED = "record_dropped"  # nothing from the record was imported
VALUE_DROPPED = "value_dropped"  # the record was imported with this field left empty
FILE_SKIPPED = "file_skipped"  # the whole file (or its unreadable rest) was not imported
SUPERSEDED = "superseded"  # a later submission of the same period/report replaced the record


class Rejects:
    """Collects problems vectorised (one call per rule and field) so that millions of records
    cost one DataFrame per rule, not one Python object per problem."""

    def __init__(self, source: str):
        self.source = source
        self._parts: list[pd.DataFrame] = []

    def add(self, *, file: str, line, key, field: str, value, reason: str, action: str) -> None:
        """Add one problem, or many at once when line/key/value are Series of equal length."""
        if isinstance(line, pd.Series):
            if line.empty:
                return
            frame = pd.DataFrame({
                "file": file if not isinstance(file, pd.Series) else file.to_numpy(),
                "line": line.to_numpy(),
                "key": key.to_numpy() if isinstance(key, pd.Series) else key,
                "value": value.to_numpy() if isinstance(value, pd.Series) else value,
            })
        else:
            frame = pd.DataFrame({"file": [file], "line": [line], "key": [key], "value": [value]})
        frame["field"] = field
        frame["reason"] = reason
        frame["action"] = action
        frame["source"] = self.source
        self._parts.append(frame)

    def add_masked(self, records: pd.DataFrame, mask: pd.Series, *, field: str, raw: str | None,
                   reason: str, action: str) -> None:
        """Add one row per record where `mask` is true; `records` has file, line and key columns
        and, when `raw` is given, the raw text of the field in that column."""
        if not mask.any():
            return
        hit = records.loc[mask]
        self.add(file=hit["file"], line=hit["line"], key=hit["key"], field=field,
                 value=hit[raw] if raw else "", reason=reason, action=action)

    def frame(self) -> pd.DataFrame:
        if not self._parts:
            return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
        frame = pd.concat(self._parts, ignore_index=True)
        frame["line"] = pd.array(frame["line"], dtype="Int64")
        return frame[list(COLUMNS)]

    def counts(self) -> dict[str, int]:
        """Problems per (action: reason), for the run summary (no child-level data)."""
        counter: Counter[str] = Counter()
        for part in self._parts:
            for (action, reason), n in part.groupby(["action", "reason"]).size().items():
                counter[f"{action}: {reason}"] += int(n)
        return dict(sorted(counter.items()))


def write_rejects(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False)


def read_rejects(path: Path) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["line"] = pd.array(pd.to_numeric(frame["line"].replace("", None)), dtype="Int64")
    return frame
