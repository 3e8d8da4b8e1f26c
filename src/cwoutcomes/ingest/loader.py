"""`load_dataset`: read a data set, type it, run the record checks and write the project's
DuckDB database plus `data_quality.csv`.

The database is built under a temporary name and moved into place at the end, so a failed load
never leaves a half-written database where a good one was, and loading the same source twice
gives the same contents (nothing in it depends on the time or order of the run).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb

from cwoutcomes.errors import InputError
from cwoutcomes.ingest import checks, flags, readers
from cwoutcomes.ingest.checks import DQ, DQ_COLUMNS, DQ_ORDER, Loaded
from cwoutcomes.ingest.readers import ident, sql_str
from cwoutcomes.model.tables import TABLES, DType

Progress = Callable[[str, int, int], None]
DATA_QUALITY_CSV = "data_quality.csv"


@dataclass
class LoadSummary:
    db_path: Path
    extract_date: dt.date
    row_counts: dict[str, int]  # rows kept per table, in model order
    rule_counts: dict[str, int]  # records per rule R1..R11, every rule present
    data_quality_csv: Path
    ignored_files: list[str] = field(default_factory=list)


def load_dataset(source: Path, db_path: Path, *, extract_date: dt.date | None = None,
                 memory_limit: str = "4GB", temp_dir: Path | None = None,
                 progress: Progress | None = None) -> LoadSummary:
    """Load the data set at `source` (folder of `<table>.csv|.parquet`, or a `.duckdb` file) into
    a new DuckDB database at `db_path`, with the record checks R1-R11 in its `data_quality`
    table and in `data_quality.csv` next to it. Raises InputError for problems that stop the
    load (missing table or column, unreadable file); bad records never stop it."""
    source, db_path = Path(source), Path(db_path)
    found = readers.discover(source)
    if found.kind == "duckdb" and db_path.resolve() == source.resolve():
        raise InputError("the database to write is the data set itself; choose another --db", path=db_path)
    if extract_date is None and found.kind == "folder":
        extract_date_source = "dataset.json"
        extract_date = readers.read_dataset_json(source)
    else:
        extract_date_source = "argument"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    own_temp = temp_dir is None
    temp_dir = Path(temp_dir) if temp_dir is not None else db_path.parent / f"{db_path.name}.tmp"
    temp_dir.mkdir(parents=True, exist_ok=True)
    partial = db_path.with_name(db_path.name + ".partial")
    csv_partial = db_path.parent / f".{DATA_QUALITY_CSV}.partial"
    _remove_db(partial)

    steps = 2 * len(found.tables) + 4
    done = 0

    def step(label: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(label, done, steps)

    con = duckdb.connect(str(partial))
    try:
        con.execute(f"SET memory_limit = {sql_str(memory_limit)}")
        con.execute(f"SET temp_directory = {sql_str(temp_dir)}")
        # Timestamps with an offset are stored in UTC, whatever the machine's zone.
        con.execute("SET TimeZone = 'UTC'")
        if found.kind == "duckdb":
            con.execute(f"ATTACH {sql_str(source)} AS {readers.SOURCE_ALIAS} (READ_ONLY)")

        checks.create_dq_table(con)
        loaded: dict[str, Loaded] = {}
        tables = [found.tables[n] for n in TABLES if n in found.tables]
        for src in tables:
            # CSV and DuckDB copies number rows by insertion order (readers.stage); Parquet
            # carries its own row index and may be copied in any order, which spills more freely.
            con.execute(f"SET preserve_insertion_order = {'false' if src.fmt == 'parquet' else 'true'}")
            staged = readers.stage(con, src)
            step(f"read {src.name}")
            con.execute("SET preserve_insertion_order = false")
            loaded[src.name] = checks.type_table(con, staged)
            step(f"typed {src.name}")
        if "counties" not in loaded:
            con.execute("SET preserve_insertion_order = true")
            staged = readers.stage_default_counties(con)
            con.execute("SET preserve_insertion_order = false")
            loaded["counties"] = checks.type_table(con, staged)
        if found.kind == "duckdb":
            con.execute(f"DETACH {readers.SOURCE_ALIAS}")

        for t in loaded.values():
            checks.reject_duplicates(con, t)
        checks.reject_orphans(con, loaded)
        step("checked keys and references")

        if extract_date is None:
            extract_date_source = "data"
            extract_date = flags.latest_date(con, loaded)
            if extract_date is None:
                raise InputError("no dates in the data set to take the extract date from; "
                                 "give one (--extract-date)", path=source)
        flags.flag_records(con, loaded, extract_date)
        step("flagged records")

        row_counts = _write_tables(con, loaded)
        rule_counts = checks.rule_counts(con)
        _write_data_quality(con, csv_partial)
        _write_info(con, source, found.kind, extract_date, extract_date_source, row_counts,
                    rule_counts, found.ignored)
        step("wrote database")
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        _remove_db(partial)
        csv_partial.unlink(missing_ok=True)
        raise
    finally:
        if own_temp:
            shutil.rmtree(temp_dir, ignore_errors=True)
    con.close()

    _remove_db(db_path)
    os.replace(partial, db_path)
    csv_path = db_path.parent / DATA_QUALITY_CSV
    os.replace(csv_partial, csv_path)
    step("done")
    return LoadSummary(db_path, extract_date, row_counts, rule_counts, csv_path, list(found.ignored))


def _remove_db(path: Path) -> None:
    path.unlink(missing_ok=True)
    Path(str(path) + ".wal").unlink(missing_ok=True)


def output_columns(name: str) -> list[str]:
    """The stored columns of a model table: its columns, each datetime followed by its flag."""
    cols = []
    for col in TABLES[name].columns:
        cols.append(col.name)
        if col.dtype is DType.DATETIME:
            cols.append(f"{col.name}_has_time")
    return cols


def _write_tables(con: duckdb.DuckDBPyConnection, loaded: dict[str, Loaded]) -> dict[str, int]:
    counts = {}
    for name in TABLES:
        if name not in loaded:
            continue
        cols = ", ".join(ident(c) for c in output_columns(name))
        con.execute(f"CREATE TABLE main.{ident(name)} AS SELECT {cols} FROM {ident(loaded[name].relation)} "
                    "ORDER BY _row")
        counts[name] = con.execute(f"SELECT count(*) FROM main.{ident(name)}").fetchone()[0]
        con.execute(f"DROP TABLE {ident(loaded[name].relation)}")
    return counts


def _write_data_quality(con: duckdb.DuckDBPyConnection, csv_path: Path) -> None:
    cols = ", ".join(DQ_COLUMNS)
    con.execute(f"CREATE TABLE main.data_quality AS SELECT {cols} FROM {DQ} ORDER BY {DQ_ORDER}")
    con.execute(f"COPY (SELECT {cols} FROM {DQ} ORDER BY {DQ_ORDER}) TO {sql_str(csv_path)} "
                "(FORMAT csv, HEADER true)")


def _write_info(con, source: Path, kind: str, extract_date: dt.date, extract_date_source: str,
                row_counts: dict[str, int], rule_counts: dict[str, int], ignored: list[str]) -> None:
    rows = [
        ("extract_date", extract_date.isoformat()),
        ("extract_date_source", extract_date_source),
        ("source", str(source.resolve())),
        ("source_format", kind),
        *((f"rows.{name}", str(n)) for name, n in row_counts.items()),
        *((f"records.{rule}", str(n)) for rule, n in rule_counts.items()),
        ("ignored_files", "; ".join(ignored)),
    ]
    con.execute("CREATE TABLE main.dataset_info (key VARCHAR, value VARCHAR)")
    con.executemany("INSERT INTO main.dataset_info VALUES (?, ?)", rows)
