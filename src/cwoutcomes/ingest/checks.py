"""The data-quality table and the rejecting record checks R1-R3 of data-quality.md §1.

Every check is one set-based SQL statement over a whole table. Order matters and is fixed:
R1 (typing and codes) on the staged rows, then R2 (duplicate keys) on the rows R1 kept, then R3
(orphans) table by table in reference order, each table checked against the rows its parents
kept, so a rejected parent orphans its children and grandchildren.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from cwoutcomes.ingest.coerce import ColumnSql, column_sql
from cwoutcomes.ingest.readers import Staged, ident, sql_str
from cwoutcomes.model.tables import TABLES, DType, Table

RULES: dict[str, tuple[str, str]] = {
    "R1": ("code", "rejected"),
    "R2": ("duplicate", "rejected"),
    "R3": ("orphan", "rejected"),
    "R4": ("order", "flagged"),
    "R5": ("birth", "flagged"),
    "R6": ("future", "flagged"),
    "R7": ("outside", "flagged"),
    "R8": ("overlap", "flagged"),
    "R9": ("reason", "flagged"),
    "R10": ("same day", "flagged"),
    "R11": ("no placement", "flagged"),
}
RULE_ORDER = {rule: i for i, rule in enumerate(RULES, start=1)}
TABLE_ORDER = {name: i for i, name in enumerate(TABLES, start=1)}

DQ = "_dq"
DQ_COLUMNS = ("table_name", "record_key", "column_name", "value", "rule", "effect", "source_file",
              "source_row")
# Sort order of the data-quality table: model table order, source order, rule, column.
DQ_ORDER = "t_idx, _row, rule_idx, col_idx, column_name, value"


@dataclass(frozen=True)
class Loaded:
    """A typed working table t_<name>: `_row` (0-based source position), `_key` (the record key
    as recorded in data_quality) and the model's columns in the model's types."""

    name: str
    relation: str
    source_file: str
    source_row_offset: int | None

    @property
    def model(self) -> Table:
        return TABLES[self.name]


def create_dq_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {DQ} (t_idx INTEGER, _row BIGINT, table_name VARCHAR, "
        "record_key VARCHAR, col_idx INTEGER, column_name VARCHAR, value VARCHAR, rule_idx INTEGER, "
        "rule VARCHAR, effect VARCHAR, source_file VARCHAR, source_row BIGINT)"
    )


def column_index(table: Table, column: str) -> int:
    return table.column_names.index(column.split("|")[0]) + 1


def insert_dq(con: duckdb.DuckDBPyConnection, loaded: Loaded, rule: str, rows_sql: str) -> None:
    """Record failing rows. `rows_sql` yields `_row, _key, column_name, value`."""
    offset = loaded.source_row_offset
    source_row = "NULL" if offset is None else f"_row + {offset}"
    col_idx = " ".join(f"WHEN {sql_str(c)} THEN {i}" for i, c in enumerate(loaded.model.column_names, 1))
    con.execute(
        f"INSERT INTO {DQ} SELECT {TABLE_ORDER[loaded.name]}, _row, {sql_str(loaded.name)}, _key, "
        f"CASE split_part(column_name, '|', 1) {col_idx} ELSE 0 END, column_name, value, "
        f"{RULE_ORDER[rule]}, {sql_str(rule)}, {sql_str(RULES[rule][1])}, {sql_str(loaded.source_file)}, "
        f"{source_row} FROM ({rows_sql})"
    )


def delete_rejected(con: duckdb.DuckDBPyConnection, loaded: Loaded, rule: str) -> None:
    con.execute(
        f"DELETE FROM {ident(loaded.relation)} WHERE _row IN (SELECT _row FROM {DQ} "
        f"WHERE t_idx = {TABLE_ORDER[loaded.name]} AND rule = {sql_str(rule)})"
    )


def _key_sql(table: Table, exprs: dict[str, ColumnSql], row_expr: str) -> str:
    if not table.key:
        # Keyless tables: the record is named by its 1-based position in the source.
        return f"CAST({row_expr} + 1 AS VARCHAR)"
    # The typed value's text where it parsed (so 2020.0 and 2020 give the same key), else the
    # source text, so a row rejected by R1 is still named by what the user wrote.
    parts = [f"coalesce(CAST({exprs[k].typed} AS VARCHAR), {exprs[k].text})" for k in table.key]
    if len(parts) == 1:
        return parts[0]
    return "concat_ws('|', " + ", ".join(f"coalesce({p}, '')" for p in parts) + ")"


def type_table(con: duckdb.DuckDBPyConnection, staged: Staged) -> Loaded:
    """R1: record every value that fails its column's type, code list or not-null rule, and
    create t_<name> with the rows that pass, typed to the model."""
    table = TABLES[staged.table.name]
    exprs = {c.name: column_sql(c, staged.columns.get(c.name)) for c in table.columns}
    raw = ident(staged.relation)
    key = _key_sql(table, exprs, staged.row_expr)
    loaded = Loaded(table.name, f"t_{table.name}", staged.table.source_file, staged.source_row_offset)

    failing = [(name, e) for name, e in exprs.items() if e.fail is not None]
    if failing:
        rows = " UNION ALL ".join(
            f"SELECT {staged.row_expr} AS _row, {key} AS _key, {sql_str(name)} AS column_name, "
            f"{e.text} AS value FROM {raw} WHERE {e.fail}"
            for name, e in failing
        )
        insert_dq(con, loaded, "R1", rows)
    select = [f"{staged.row_expr} AS _row", f"{key} AS _key"]
    for name, e in exprs.items():
        select.append(f"{e.typed} AS {ident(name)}")
        if e.has_time is not None:
            select.append(f"{e.has_time} AS {ident(name + '_has_time')}")
    where = " OR ".join(e.fail for _, e in failing) if failing else "false"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {ident(loaded.relation)} AS SELECT {', '.join(select)} "
        f"FROM {raw} WHERE NOT ({where})"
    )
    con.execute(f"DROP TABLE {raw}")
    return loaded


def reject_duplicates(con: duckdb.DuckDBPyConnection, loaded: Loaded) -> None:
    """R2: of the rows sharing a key, the first in source order stays; the later ones go."""
    key = loaded.model.key
    if not key:
        return
    partition = ", ".join(ident(k) for k in key)
    insert_dq(con, loaded, "R2", (
        f"SELECT _row, _key, {sql_str('|'.join(key))} AS column_name, _key AS value FROM ("
        f"SELECT _row, _key, row_number() OVER (PARTITION BY {partition} ORDER BY _row) AS n "
        f"FROM {ident(loaded.relation)}) WHERE n > 1"
    ))
    delete_rejected(con, loaded, "R2")


def references(loaded: dict[str, Loaded], name: str) -> list[tuple[str, str, str]]:
    """(column, parent table, parent column) for every reference to a table in the data set.
    A reference to a table the data set lacks cannot be checked and is skipped."""
    refs = []
    for col in TABLES[name].columns:
        if col.references:
            parent, parent_col = col.references.split(".")
            if parent in loaded and parent != name:
                refs.append((col.name, parent, parent_col))
    return refs


def reference_order(loaded: dict[str, Loaded]) -> list[str]:
    """Tables ordered so each comes after every table it references (model order otherwise)."""
    order: list[str] = []
    pending = [n for n in TABLES if n in loaded]
    while pending:
        ready = [n for n in pending if all(p in order for _, p, _ in references(loaded, n))]
        if not ready:
            raise ValueError(f"reference cycle among {pending}")  # model bug, not user input
        order.extend(ready)
        pending = [n for n in pending if n not in ready]
    return order


def reject_orphans(con: duckdb.DuckDBPyConnection, loaded: dict[str, Loaded]) -> None:
    """R3: a non-null reference to a row the parent table does not hold (after its own
    rejections), or a row whose episode belongs to another child."""
    for name in reference_order(loaded):
        this = loaded[name]
        refs = references(loaded, name)
        parts = [
            f"SELECT x._row, x._key, {sql_str(col)} AS column_name, CAST(x.{ident(col)} AS VARCHAR) AS value "
            f"FROM {ident(this.relation)} x WHERE x.{ident(col)} IS NOT NULL AND NOT EXISTS ("
            f"SELECT 1 FROM {ident(loaded[parent].relation)} p WHERE p.{ident(pcol)} = x.{ident(col)})"
            for col, parent, pcol in refs
        ]
        by_target = {f"{p}.{pc}": col for col, p, pc in refs}
        episode_col, child_col = by_target.get("episodes.episode_id"), by_target.get("children.child_id")
        if episode_col and child_col:
            # A row naming both a child and an episode must name the episode's child.
            parts.append(
                f"SELECT x._row, x._key, {sql_str(child_col)} AS column_name, x.{ident(child_col)} AS value "
                f"FROM {ident(this.relation)} x JOIN {ident(loaded['episodes'].relation)} e "
                f"ON e.episode_id = x.{ident(episode_col)} WHERE x.{ident(child_col)} <> e.child_id"
            )
        if not parts:
            continue
        # UNION (not ALL): a child missing from children and differing from the episode's child
        # is one failure on one column.
        insert_dq(con, this, "R3", " UNION ".join(parts))
        delete_rejected(con, this, "R3")


def value_text(loaded: Loaded, column: str, alias: str = "x") -> str:
    """A typed value as text for data_quality: dates ISO, a datetime without time as a date."""
    ref = f"{alias}.{ident(column)}"
    if loaded.model.column(column).dtype is DType.DATETIME:
        flag = f"{alias}.{ident(column + '_has_time')}"
        return f"CASE WHEN {flag} THEN CAST({ref} AS VARCHAR) ELSE CAST(CAST({ref} AS DATE) AS VARCHAR) END"
    return f"CAST({ref} AS VARCHAR)"


def rule_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Records (not values) per rule: a row failing R1 on two columns counts once."""
    found = dict(con.execute(
        f"SELECT rule, count(DISTINCT (t_idx, _row)) FROM {DQ} GROUP BY rule"
    ).fetchall())
    return {rule: int(found.get(rule, 0)) for rule in RULES}
