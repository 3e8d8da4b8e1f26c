"""Finding the tables of a data set and copying them, untyped, into temporary DuckDB tables.

A staged table `raw_<table>` holds only the model columns present in the source, with the
source's own types (all VARCHAR for CSV), so that typing and the record checks can report the
value exactly as the user wrote it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from cwoutcomes.errors import InputError
from cwoutcomes.model.tables import REQUIRED_TABLES, TABLES

DATASET_JSON = "dataset.json"
SOURCE_ALIAS = "cw_source"
DEFAULT_COUNTIES_FILE = "(built-in California counties)"


@dataclass
class SourceTable:
    name: str
    # What the user can look for: a file name, or "<db file>:<table>".
    source_file: str
    path: Path | None
    fmt: str  # "csv", "parquet", "duckdb" or "default"


@dataclass
class Source:
    path: Path
    kind: str  # "folder" or "duckdb"
    tables: dict[str, SourceTable]
    ignored: list[str] = field(default_factory=list)


@dataclass
class Staged:
    """A table copied into the working database, before typing."""

    table: SourceTable
    relation: str  # temp table name
    columns: dict[str, str]  # model column present in the source -> DuckDB type of the source
    # SQL giving each row's 0-based position in the source.
    row_expr: str
    # Added to row_expr to get `source_row`; None when the source has no row numbers (DuckDB).
    source_row_offset: int | None


def sql_str(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def discover(source: Path) -> Source:
    """The model tables a folder or DuckDB file holds, and what else it holds (ignored)."""
    source = Path(source)
    if not source.exists():
        raise InputError("data set not found", path=source)
    if source.is_dir():
        found = _discover_folder(source)
    elif source.suffix == ".duckdb":
        found = _discover_duckdb(source)
    else:
        raise InputError("a data set is a folder of CSV/Parquet files or a .duckdb file", path=source)
    missing = [name for name in REQUIRED_TABLES if name not in found.tables]
    if missing:
        tables = f"table{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
        if found.kind == "folder":
            files = " or ".join(f"{m}.parquet/.csv" for m in missing)
            raise InputError(f"missing required {tables}: no {files} in folder {source}")
        raise InputError(f"missing required {tables} in database {source}")
    return found


def _discover_folder(folder: Path) -> Source:
    tables: dict[str, SourceTable] = {}
    ignored: list[str] = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        stem, suffix = entry.stem, entry.suffix
        if entry.name == DATASET_JSON:
            continue
        if entry.is_file() and suffix in (".csv", ".parquet") and stem in TABLES:
            if stem in tables:
                # Two files for one table: picking either would silently drop the other.
                raise InputError(
                    f"table {stem} is given twice ({tables[stem].source_file} and {entry.name}); "
                    "keep one", path=entry,
                )
            tables[stem] = SourceTable(stem, entry.name, entry, suffix[1:])
        else:
            ignored.append(entry.name + ("/" if entry.is_dir() else ""))
    return Source(folder, "folder", tables, ignored)


def _discover_duckdb(db_file: Path) -> Source:
    try:
        con = duckdb.connect(str(db_file), read_only=True)
    except duckdb.Error as exc:
        raise InputError(f"cannot open the DuckDB data set: {_first_line(exc)}", path=db_file) from None
    try:
        names = [row[0] for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary "
            "UNION SELECT view_name FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal "
            "AND NOT temporary ORDER BY 1"
        ).fetchall()]
    finally:
        con.close()
    tables = {n: SourceTable(n, f"{db_file.name}:{n}", db_file, "duckdb") for n in names if n in TABLES}
    ignored = [f"table {n}" for n in names if n not in TABLES]
    return Source(db_file, "duckdb", tables, ignored)


def read_dataset_json(folder: Path) -> dt.date | None:
    """The extract date the simulator (or the user) wrote next to the files, if any."""
    path = Path(folder) / DATASET_JSON
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read {DATASET_JSON}: {exc}", path=path) from None
    value = info.get("extract_date") if isinstance(info, dict) else None
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"extract_date {value!r} is not a date (YYYY-MM-DD)", path=path,
                         field="extract_date") from None


def csv_header(path: Path) -> list[str]:
    """Column names from the header row (read here, not sniffed, so a bad data row can never
    make the header look like data). Unnamed or repeated extra columns get placeholder names."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            header = next(csv.reader(fh), None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read the file: {exc}", path=path) from None
    if not header:
        raise InputError("empty file: no header row", path=path)
    names: list[str] = []
    for i, name in enumerate(header, start=1):
        if name in names and name in TABLES[path.stem].column_names:
            raise InputError(f"column {name} appears twice in the header", path=path, field=name)
        names.append(name if name and name not in names else f"column{i}__ignored")
    return names


def _csv_reader(path: Path, header: list[str]) -> str:
    # Dialect pinned to data-model.md (comma, double quotes, header row) and every column read
    # as text, so each value reaches the typed checks exactly as written.
    columns = "{" + ", ".join(f"{sql_str(n)}: 'VARCHAR'" for n in header) + "}"
    return (f"read_csv({sql_str(path)}, header = true, auto_detect = false, columns = {columns}, "
            "delim = ',', quote = '\"', escape = '\"', encoding = 'utf-8', strict_mode = true, "
            "null_padding = false)")


def _first_line(exc: Exception) -> str:
    """The gist of a DuckDB error, without the lines that quote the offending data row."""
    lines = [line.strip() for line in str(exc).strip().splitlines()]
    keep = [lines[0]] if lines else [type(exc).__name__]
    keep += [line for line in lines[1:] if line.startswith("Expected Number of Columns")]
    return "; ".join(keep)


def stage(con: duckdb.DuckDBPyConnection, src: SourceTable) -> Staged:
    """Copy the model columns of one source table into TEMP table raw_<name>."""
    model = TABLES[src.name]
    if src.fmt == "csv":
        scan = _csv_reader(src.path, csv_header(src.path))
    elif src.fmt == "parquet":
        scan = f"read_parquet({sql_str(src.path)}, file_row_number = true)"
    elif src.fmt == "duckdb":
        scan = f"{SOURCE_ALIAS}.main.{ident(src.name)}"
    else:
        raise ValueError(f"cannot stage format {src.fmt}")
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
    except duckdb.Error as exc:
        raise InputError(f"cannot read table {src.name}: {_first_line(exc)}", path=src.path) from None
    types = {row[0]: row[1] for row in described}
    if src.fmt == "parquet":
        types.pop("file_row_number", None)
    missing = [c for c in model.required_columns if c not in types]
    if missing:
        raise InputError(
            f"table {src.name} is missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}", path=src.path, field=missing[0],
        )
    columns = {c: types[c] for c in model.column_names if c in types}
    relation = f"raw_{src.name}"
    select = ", ".join(ident(c) for c in columns)
    if src.fmt == "parquet":
        # Parquet gives an exact row index, so this copy need not keep insertion order.
        select = "file_row_number AS _row, " + select
        row_expr, offset = "_row", 0
    else:
        # CSV and DuckDB have no row-number column: the copy is made with insertion order kept
        # (set by the loader), so rowid is the position in the source.
        row_expr, offset = "rowid", (1 if src.fmt == "csv" else None)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {ident(relation)} AS SELECT {select} FROM {scan}")
    except duckdb.Error as exc:
        raise InputError(f"cannot read table {src.name}: {_first_line(exc)}", path=src.path) from None
    return Staged(src, relation, columns, row_expr, offset)


def stage_default_counties(con: duckdb.DuckDBPyConnection) -> Staged:
    """The package's county list, staged like a source table (it goes through the same checks)."""
    from cwoutcomes.model.counties import default_counties

    frame = default_counties()
    con.register("cw_default_counties", frame)
    try:
        available = {row[0]: row[1] for row in con.execute("DESCRIBE SELECT * FROM cw_default_counties").fetchall()}
        columns = {c: available[c] for c in TABLES["counties"].column_names if c in available}
        select = ", ".join(ident(c) for c in columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE raw_counties AS SELECT {select} FROM cw_default_counties")
    finally:
        con.unregister("cw_default_counties")
    src = SourceTable("counties", DEFAULT_COUNTIES_FILE, None, "default")
    return Staged(src, "raw_counties", columns, "rowid", None)
