"""SQL that turns a source column (any DuckDB type) into the model's type, and says when a value
fails R1: outside its code list, not parseable as its type, or null where the model forbids it.

Everything here builds SQL text; nothing touches data. Rules for accepting values:
- CSV values are text. Dates must be `YYYY-MM-DD`; a datetime is a date or
  `YYYY-MM-DD[T ]HH:MM[:SS[.f]]` with an optional UTC offset (converted to UTC); booleans are
  `true`/`false` in any letter case; integers may carry a `.0` (as pandas writes them).
- Typed sources (Parquet, DuckDB) keep their types where they fit: a timestamp in a date column
  gives its date, a whole-valued float in an integer column gives the integer, a float NaN is
  null. Any other type is read as its text and parsed as if it came from a CSV.
"""

from __future__ import annotations

from dataclasses import dataclass

from cwoutcomes.ingest.readers import ident, sql_str
from cwoutcomes.model.tables import Column, DType

DATE_RE = r"\d{4}-\d{2}-\d{2}"
TIMESTAMP_RE = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?"
INT_RE = r"\s*[+-]?\d+(\.0*)?\s*"

SQL_TYPES = {
    DType.STRING: "VARCHAR", DType.CODE: "VARCHAR", DType.DATE: "DATE", DType.DATETIME: "TIMESTAMP",
    DType.BOOLEAN: "BOOLEAN", DType.INTEGER: "BIGINT", DType.NUMBER: "DOUBLE",
}

_INTEGER_TYPES = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "UHUGEINT",
}
_FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}


@dataclass(frozen=True)
class ColumnSql:
    """Expressions over the staged table for one model column."""

    typed: str  # value in the model's type, NULL when missing or unparseable
    text: str  # the source value as text, as recorded in data_quality
    fail: str | None  # true when the row fails R1 on this column; None when it never can
    has_time: str | None = None  # datetime columns only


def _kind(source_type: str) -> str:
    t = source_type.upper()
    if t == "VARCHAR":
        return "text"
    if t == "DATE":
        return "date"
    if t in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
        return "timestamptz"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t == "BOOLEAN":
        return "boolean"
    if t in _INTEGER_TYPES:
        return "integer"
    if t in _FLOAT_TYPES:
        return "float"
    if t.startswith("DECIMAL"):
        return "decimal"
    return "other"


def _from_text(dtype: DType, s: str) -> str:
    """Parse text `s` as `dtype`; NULL when it does not parse."""
    if dtype in (DType.STRING, DType.CODE):
        return s
    if dtype is DType.DATE:
        return f"CASE WHEN regexp_full_match({s}, '{DATE_RE}') THEN TRY_CAST({s} AS DATE) END"
    if dtype is DType.DATETIME:
        # Through TIMESTAMPTZ so an explicit offset is honoured; the session runs in UTC, so a
        # value without offset keeps its clock time.
        return (f"CASE WHEN regexp_full_match({s}, '{DATE_RE}') THEN CAST(TRY_CAST({s} AS DATE) AS TIMESTAMP) "
                f"WHEN regexp_full_match({s}, '{TIMESTAMP_RE}') "
                f"THEN CAST(TRY_CAST({s} AS TIMESTAMPTZ) AS TIMESTAMP) END")
    if dtype is DType.BOOLEAN:
        return f"CASE lower({s}) WHEN 'true' THEN true WHEN 'false' THEN false END"
    if dtype is DType.INTEGER:
        # TRY_CAST alone would round '3.5' to 4; only whole numbers pass.
        return (f"CASE WHEN regexp_full_match({s}, '{INT_RE}') "
                f"THEN TRY_CAST(split_part(trim({s}), '.', 1) AS BIGINT) END")
    if dtype is DType.NUMBER:
        return f"CASE WHEN isfinite(TRY_CAST({s} AS DOUBLE)) THEN TRY_CAST({s} AS DOUBLE) END"
    raise ValueError(dtype)


def column_sql(col: Column, source_type: str | None) -> ColumnSql:
    """SQL for model column `col` read from a staged column of DuckDB type `source_type`
    (None: the optional column is absent from the source and is all NULL)."""
    sql_type = SQL_TYPES[col.dtype]
    if source_type is None:
        has_time = "CAST(NULL AS BOOLEAN)" if col.dtype is DType.DATETIME else None
        return ColumnSql(f"CAST(NULL AS {sql_type})", "CAST(NULL AS VARCHAR)", None, has_time)

    kind = _kind(source_type)
    q = ident(col.name)
    if kind == "float":
        # NaN is how pandas writes a missing number: treat it as null, not as a bad value.
        q = f"(CASE WHEN isnan({q}) THEN NULL ELSE {q} END)"
    text = q if kind == "text" else f"CAST({q} AS VARCHAR)"
    typed: str
    has_time: str | None = None
    dtype = col.dtype
    if dtype in (DType.STRING, DType.CODE):
        typed = text
    elif dtype is DType.DATE and kind == "date":
        typed = q
    elif dtype is DType.DATE and kind == "timestamp":
        typed = f"CAST({q} AS DATE)"
    elif dtype is DType.DATE and kind == "timestamptz":
        typed = f"CAST(CAST({q} AS TIMESTAMP) AS DATE)"
    elif dtype is DType.DATETIME and kind == "date":
        typed = f"CAST({q} AS TIMESTAMP)"
        has_time = f"CASE WHEN {q} IS NOT NULL THEN false END"
    elif dtype is DType.DATETIME and kind in ("timestamp", "timestamptz"):
        typed = f"CAST({q} AS TIMESTAMP)"
        has_time = f"CASE WHEN {q} IS NOT NULL THEN true END"
    elif dtype is DType.BOOLEAN and kind == "boolean":
        typed = q
    elif dtype is DType.INTEGER and kind == "integer":
        typed = f"TRY_CAST({q} AS BIGINT)"
    elif dtype is DType.INTEGER and kind in ("float", "decimal"):
        typed = f"CASE WHEN {q} = round({q}) THEN TRY_CAST({q} AS BIGINT) END"
    elif dtype is DType.NUMBER and kind in ("integer", "decimal"):
        typed = f"CAST({q} AS DOUBLE)"
    elif dtype is DType.NUMBER and kind == "float":
        typed = f"CASE WHEN isfinite({q}) THEN CAST({q} AS DOUBLE) END"
    else:
        typed = _from_text(dtype, text)
        if dtype is DType.DATETIME:
            has_time = (f"CASE WHEN ({typed}) IS NULL THEN NULL "
                        f"ELSE NOT regexp_full_match({text}, '{DATE_RE}') END")

    failures = []
    if dtype not in (DType.STRING, DType.CODE):
        failures.append(f"({text} IS NOT NULL AND ({typed}) IS NULL)")
    if dtype is DType.CODE and col.codes:
        failures.append(f"({typed} NOT IN ({', '.join(sql_str(c) for c in col.codes)}))")
    if not col.nullable:
        failures.append(f"({text} IS NULL)")
    # coalesce: a NULL here (e.g. NULL NOT IN codes) must read as "passes", never as unknown,
    # which a WHERE NOT (...) would silently drop.
    fail = f"coalesce({' OR '.join(failures)}, false)" if failures else None
    return ColumnSql(typed, text, fail, has_time)
