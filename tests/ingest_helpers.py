"""Tiny hand-made data sets for the loader tests, written as CSV, Parquet or a DuckDB file.

Rows are dicts of Python values (dates as `datetime.date`); a `str` in a typed column is
written to CSV as is, which is how the tests plant unparseable values.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from cwoutcomes.ingest import load_dataset
from cwoutcomes.model.tables import TABLES, arrow_schema

D = dt.date
EXTRACT = D(2024, 12, 31)

# A clean data set: no record fails any check. Several rows are near misses on purpose:
# E2 re-enters on E1's exit day (not R8), E3 exits the day after removal (not R10), P5 starts on
# its episode's removal day (not R7), the referral times fall on one day.
BASE: dict[str, list[dict]] = {
    "counties": [
        {"county": "06001", "name": "Alameda", "region": "Bay Area"},
        {"county": "06037", "name": "Los Angeles", "region": "Los Angeles"},
    ],
    "children": [
        {"child_id": "C1", "birth_date": D(2010, 1, 1), "sex": "female", "race_ethnicity": "white",
         "icwa_eligible": False},
        {"child_id": "C2", "birth_date": D(2012, 6, 15), "sex": "male", "race_ethnicity": "hispanic",
         "icwa_eligible": None},
        {"child_id": "C3", "birth_date": D(2008, 3, 10), "sex": "female", "race_ethnicity": "black",
         "icwa_eligible": True},
    ],
    "episodes": [
        {"episode_id": "E1", "child_id": "C1", "county": "06001", "agency": "child_welfare",
         "removal_date": D(2020, 1, 1), "exit_date": D(2020, 6, 1), "exit_reason": "reunification"},
        {"episode_id": "E2", "child_id": "C1", "county": "06001", "agency": "child_welfare",
         "removal_date": D(2020, 6, 1), "exit_date": None, "exit_reason": None},
        {"episode_id": "E3", "child_id": "C2", "county": "06037", "agency": "probation",
         "removal_date": D(2021, 3, 1), "exit_date": D(2021, 3, 2), "exit_reason": "adoption"},
        {"episode_id": "E4", "child_id": "C3", "county": "06037", "agency": "child_welfare",
         "removal_date": D(2019, 5, 5), "exit_date": D(2022, 1, 1), "exit_reason": "guardianship"},
    ],
    "placements": [
        {"placement_id": "P1", "episode_id": "E1", "child_id": "C1", "start_date": D(2020, 1, 1),
         "end_date": D(2020, 3, 1), "setting": "foster_home", "provider_id": "H1"},
        {"placement_id": "P2", "episode_id": "E1", "child_id": "C1", "start_date": D(2020, 3, 1),
         "end_date": D(2020, 6, 1), "setting": "kin", "provider_id": "H2"},
        {"placement_id": "P3", "episode_id": "E2", "child_id": "C1", "start_date": D(2020, 6, 1),
         "end_date": None, "setting": "kin", "provider_id": "H2"},
        {"placement_id": "P4", "episode_id": "E3", "child_id": "C2", "start_date": D(2021, 3, 1),
         "end_date": D(2021, 3, 2), "setting": "shelter", "provider_id": "H3"},
        {"placement_id": "P5", "episode_id": "E4", "child_id": "C3", "start_date": D(2019, 5, 5),
         "end_date": D(2022, 1, 1), "setting": "group_home", "provider_id": "H4"},
    ],
    "referrals": [
        {"referral_id": "F1", "county": "06001", "received_at": dt.datetime(2019, 12, 30, 8, 30),
         "response_type": "immediate", "first_contact_at": dt.datetime(2019, 12, 30, 20, 0),
         "first_contact_status": "completed"},
    ],
    "allegations": [
        {"allegation_id": "A1", "referral_id": "F1", "child_id": "C1", "maltreatment_type": "general_neglect",
         "disposition": "substantiated", "disposition_date": D(2020, 1, 10), "perpetrator_type": "parent"},
    ],
}


def base(**changes: list[dict]) -> dict[str, list[dict]]:
    """A deep copy of BASE; each keyword appends rows to that table (a new table if absent)."""
    tables = copy.deepcopy(BASE)
    for name, rows in changes.items():
        tables.setdefault(name, []).extend(copy.deepcopy(rows))
    return tables


def _columns(name: str, rows: list[dict]) -> list[str]:
    seen = {c for row in rows for c in row}
    model = [c for c in TABLES[name].column_names if c in seen] if name in TABLES else []
    return model + sorted(seen - set(model))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _arrow(name: str, rows: list[dict]) -> pa.Table:
    cols = _columns(name, rows)
    model = arrow_schema(name) if name in TABLES else pa.schema([])
    fields = [model.field(c) if c in model.names else pa.field(c, pa.string()) for c in cols]
    return pa.Table.from_pylist([{c: row.get(c) for c in cols} for row in rows], schema=pa.schema(fields))


def write_dataset(path: Path, tables: dict[str, list[dict]], fmt: str = "csv") -> Path:
    """Write `tables` as a folder of CSV or Parquet files, or as one DuckDB file; return the
    source to load."""
    path = Path(path)
    if fmt == "duckdb":
        path.mkdir(parents=True, exist_ok=True)
        db = path / "source.duckdb"
        con = duckdb.connect(str(db))
        for name, rows in tables.items():
            con.register("frame", _arrow(name, rows))
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM frame')
            con.unregister("frame")
        con.close()
        return db
    path.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        if fmt == "parquet":
            pq.write_table(_arrow(name, rows), path / f"{name}.parquet")
        else:
            cols = _columns(name, rows)
            with open(path / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerow(cols)
                writer.writerows([_text(row.get(c)) for c in cols] for row in rows)
    return path


def load(tmp_path: Path, tables: dict[str, list[dict]], fmt: str = "csv", *, name: str = "run",
         extract_date: dt.date | None = EXTRACT, **kwargs):
    """Write and load a data set; returns (summary, read-only connection to the database)."""
    source = write_dataset(tmp_path / f"{name}-src", tables, fmt)
    summary = load_dataset(source, tmp_path / name / "db.duckdb", extract_date=extract_date, **kwargs)
    return summary, duckdb.connect(str(summary.db_path), read_only=True)


def dq(con, rule: str | None = None) -> list[tuple]:
    """data_quality rows (table, key, column, value, rule, effect), in the table's own order."""
    where = "" if rule is None else f"WHERE rule = '{rule}'"
    return con.execute(
        f"SELECT table_name, record_key, column_name, value, rule, effect FROM data_quality {where}"
    ).fetchall()


def keys(con, table: str) -> list[str]:
    key = TABLES[table].key[0]
    return [r[0] for r in con.execute(f'SELECT "{key}" FROM "{table}" ORDER BY 1').fetchall()]
