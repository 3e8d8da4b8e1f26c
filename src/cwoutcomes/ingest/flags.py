"""The flagging record checks R4-R11 of data-quality.md §1, run on the rows R1-R3 kept.

A flagged row stays in its table; the flag is a data_quality row (table, key, rule) that the
measures use to leave the record out where G20/G21 say so. Each check is one SQL statement;
R8 uses window functions per child rather than a self-join, so a child with very many episodes
costs n log n, not n squared.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from cwoutcomes.ingest.checks import Loaded, insert_dq, value_text
from cwoutcomes.ingest.readers import ident
from cwoutcomes.model.tables import DType

# Tables whose dates are not events: a SIP target date lies in the future by design.
NOT_EVENT_TABLES = ("targets",)
# Spell columns checked by R4 (start, end), found by name in whichever tables have them.
SPELLS = (("removal_date", "exit_date"), ("start_date", "end_date"))
# G4 completed months from a to b (a child born on 29 Feb turns a year older on 1 Mar).
MONTHS = ("(12 * (year({b}) - year({a})) + (month({b}) - month({a})) "
          "- CASE WHEN day({b}) < day({a}) THEN 1 ELSE 0 END)")
# Over 21 at removal = 22 or older in completed years (G5).
MAX_AGE_MONTHS = 22 * 12
# Stands in for the exit day of an open episode, in days since 1970 (an open episode runs on).
FOREVER = 2 ** 62


def _rel(loaded: Loaded) -> str:
    return ident(loaded.relation)


def date_columns(loaded: Loaded) -> list[str]:
    return [c.name for c in loaded.model.columns if c.dtype in (DType.DATE, DType.DATETIME)]


def latest_date(con: duckdb.DuckDBPyConnection, loaded: dict[str, Loaded]) -> dt.date | None:
    """G2: the latest date anywhere in the kept records (event tables only)."""
    parts = [
        f"SELECT max(CAST({ident(col)} AS DATE)) AS d FROM {_rel(t)}"
        for t in loaded.values() if t.name not in NOT_EVENT_TABLES for col in date_columns(t)
    ]
    if not parts:
        return None
    return con.execute(f"SELECT max(d) FROM ({' UNION ALL '.join(parts)})").fetchone()[0]


def flag_order(con, loaded: dict[str, Loaded]) -> None:
    """R4: a spell ending before it starts."""
    for t in loaded.values():
        names = t.model.column_names
        for start, end in SPELLS:
            if start in names and end in names:
                insert_dq(con, t, "R4", (
                    f"SELECT x._row, x._key, '{end}' AS column_name, {value_text(t, end)} AS value "
                    f"FROM {_rel(t)} x WHERE x.{end} < x.{start}"
                ))


def flag_birth(con, loaded: dict[str, Loaded]) -> None:
    """R5: the episode's child born after its removal or exit, or 22 or older at removal."""
    e, c = loaded["episodes"], loaded["children"]
    months = MONTHS.format(a="c.birth_date", b="x.removal_date")
    insert_dq(con, e, "R5", (
        f"SELECT x._row, x._key, 'removal_date' AS column_name, {value_text(e, 'removal_date')} AS value "
        f"FROM {_rel(e)} x JOIN {_rel(c)} c ON c.child_id = x.child_id "
        f"WHERE c.birth_date > x.removal_date OR {months} >= {MAX_AGE_MONTHS} "
        f"UNION ALL "
        f"SELECT x._row, x._key, 'exit_date' AS column_name, {value_text(e, 'exit_date')} AS value "
        f"FROM {_rel(e)} x JOIN {_rel(c)} c ON c.child_id = x.child_id WHERE c.birth_date > x.exit_date"
    ))


def flag_future(con, loaded: dict[str, Loaded], extract_date: dt.date) -> None:
    """R6: any date (a timestamp by its date) after the extract date."""
    for t in loaded.values():
        if t.name in NOT_EVENT_TABLES:
            continue
        parts = [
            f"SELECT x._row, x._key, '{col}' AS column_name, {value_text(t, col)} AS value "
            f"FROM {_rel(t)} x WHERE CAST(x.{ident(col)} AS DATE) > DATE '{extract_date.isoformat()}'"
            for col in date_columns(t)
        ]
        if parts:
            insert_dq(con, t, "R6", " UNION ALL ".join(parts))


def flag_outside(con, loaded: dict[str, Loaded]) -> None:
    """R7: a placement starting before its episode's removal or after its exit."""
    p, e = loaded["placements"], loaded["episodes"]
    insert_dq(con, p, "R7", (
        f"SELECT x._row, x._key, 'start_date' AS column_name, {value_text(p, 'start_date')} AS value "
        f"FROM {_rel(p)} x JOIN {_rel(e)} e ON e.episode_id = x.episode_id "
        f"WHERE x.start_date < e.removal_date OR x.start_date > e.exit_date"
    ))


def flag_overlap(con, loaded: dict[str, Loaded]) -> None:
    """R8: two episodes of one child sharing a day in care.

    Episodes are half-open [removal, exit): a re-entry on the exit day does not overlap. A and
    B overlap when A.removal < B.end and B.removal < A.end. Per child, ordered by removal day r,
    episode B overlaps some other episode exactly when
      1. an episode removed earlier ends after r (max end over removals < r), or
      2. an episode removed later is removed before B ends (min removal over removals > r), or
      3. B lasts at least a day and another episode removed the same day does too.
    Episodes that end before they start (R4) have no span and take no part.
    """
    e = loaded["episodes"]
    insert_dq(con, e, "R8", f"""
        WITH ep AS (
            SELECT _row, _key, child_id, removal_date,
                   removal_date - DATE '1970-01-01' AS r,
                   coalesce(exit_date - DATE '1970-01-01', {FOREVER}) AS e
            FROM {_rel(e)}
            WHERE child_id IS NOT NULL AND (exit_date IS NULL OR exit_date >= removal_date)
        ), w AS (
            SELECT *,
                max(e) OVER (PARTITION BY child_id ORDER BY r
                             RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS end_before,
                min(r) OVER (PARTITION BY child_id ORDER BY r
                             RANGE BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_removal,
                sum(CASE WHEN e > r THEN 1 ELSE 0 END) OVER (PARTITION BY child_id, r) AS spans_same_day
            FROM ep
        )
        SELECT _row, _key, 'removal_date' AS column_name, CAST(removal_date AS VARCHAR) AS value
        FROM w
        WHERE r < end_before OR next_removal < e OR (e > r AND spans_same_day > 1)
    """)


def flag_episode_rules(con, loaded: dict[str, Loaded]) -> None:
    """R9 exit without reason, R10 removal and exit on one day, R11 episode without placement."""
    e = loaded["episodes"]
    insert_dq(con, e, "R9", (
        f"SELECT _row, _key, 'exit_reason' AS column_name, CAST(NULL AS VARCHAR) AS value "
        f"FROM {_rel(e)} WHERE exit_date IS NOT NULL AND exit_reason IS NULL"
    ))
    insert_dq(con, e, "R10", (
        f"SELECT _row, _key, 'exit_date' AS column_name, CAST(exit_date AS VARCHAR) AS value "
        f"FROM {_rel(e)} WHERE exit_date = removal_date"
    ))
    insert_dq(con, e, "R11", (
        f"SELECT x._row, x._key, 'episode_id' AS column_name, x.episode_id AS value FROM {_rel(e)} x "
        f"WHERE NOT EXISTS (SELECT 1 FROM {_rel(loaded['placements'])} p WHERE p.episode_id = x.episode_id)"
    ))


def flag_records(con, loaded: dict[str, Loaded], extract_date: dt.date) -> None:
    flag_order(con, loaded)
    flag_birth(con, loaded)
    flag_future(con, loaded, extract_date)
    flag_outside(con, loaded)
    flag_overlap(con, loaded)
    flag_episode_rules(con, loaded)
