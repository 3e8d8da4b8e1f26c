"""A loaded data set as the measures see it: the canonical tables on one engine, the extract
date, the record-check flags joined onto the rows they concern, and the derived views every
family of measures starts from (children with their 18th birthday, episodes as G6 leaves them,
placements usable for placement measures, victim reports of G8)."""

from __future__ import annotations

import datetime as dt
import functools
import tempfile
from pathlib import Path
from typing import Mapping

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from cwoutcomes.engine import primitives as p
from cwoutcomes.engine.backends import connect
from cwoutcomes.errors import CwoutcomesError
from cwoutcomes.model.tables import TABLES, VICTIM_DISPOSITIONS, arrow_schema

RULES = tuple(f"R{i}" for i in range(1, 12))
DATA_QUALITY_COLUMNS = ("table_name", "record_key", "column_name", "value", "rule", "effect")


class Dataset:
    """Tables of one data set on one engine. Build with `from_database` or `from_frames`."""

    def __init__(self, con, engine: str, extract_date: dt.date, available: set[str], *,
                 materialize: bool = True):
        self.con = con
        self.engine = engine
        self.extract_date = extract_date
        self.available = available
        # Derived views are read by many measures: compute each once on the engine.
        self.materialize = materialize

    def _keep(self, view: ir.Table) -> ir.Table:
        return view.cache() if self.materialize else view

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_database(cls, db_path: Path, *, engine: str = "duckdb", spark_master: str | None = None,
                      memory_limit: str = "4GB") -> "Dataset":
        """Open a database written by `cwoutcomes.ingest.load_dataset`."""
        db_path = Path(db_path)
        if not db_path.exists():
            raise CwoutcomesError(f"no loaded database at {db_path} (run `cwoutcomes validate` first)")
        source = connect("duckdb", duckdb_path=db_path, memory_limit=memory_limit)
        names = set(source.list_tables())
        if "dataset_info" not in names:
            raise CwoutcomesError(f"{db_path} was not written by the cwoutcomes loader (no dataset_info table)")
        info = dict(source.table("dataset_info").execute()[["key", "value"]].itertuples(index=False))
        extract_date = dt.date.fromisoformat(str(info["extract_date"])[:10])
        available = {name for name in TABLES if name in names}
        if engine == "duckdb":
            return cls(source, engine, extract_date, available | ({"data_quality"} & names))
        con = connect(engine, spark_master=spark_master)
        staging = Path(tempfile.mkdtemp(prefix="cwoutcomes-spark-"))
        for name in sorted(available | ({"data_quality"} & names)):
            path = staging / f"{name}.parquet"
            source.raw_sql(f"COPY {name} TO '{path}' (FORMAT parquet)")
            con.read_parquet(str(path), table_name=name)
        source.disconnect()
        return cls(con, engine, extract_date, available | ({"data_quality"} & names))

    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame], *, extract_date: dt.date,
                    engine: str = "duckdb", spark_master: str | None = None) -> "Dataset":
        """Tables given as pandas frames (tests, small data). Missing optional columns are null;
        an optional `data_quality` frame carries record-check flags."""
        con = connect(engine, spark_master=spark_master)
        prefix = f"t{id(frames) % 10**8}_"
        available: set[str] = set()
        for name, frame in frames.items():
            if name == "data_quality":
                frame = frame.reindex(columns=list(DATA_QUALITY_COLUMNS)).astype(object)
                frame = frame.where(frame.notna(), None)
                schema = pa.schema([pa.field(name, pa.string()) for name in DATA_QUALITY_COLUMNS])
                arrow = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
            else:
                schema = arrow_schema(name, with_time_flags=True)
                frame = frame.copy()
                for field in schema:
                    if field.name.endswith("_has_time") and field.name not in frame:
                        base = field.name[: -len("_has_time")]
                        frame[field.name] = frame[base].map(_has_time) if base in frame else None
                    elif field.name not in frame:
                        frame[field.name] = None
                for field in schema:
                    if pa.types.is_date32(field.type):
                        frame[field.name] = pd.to_datetime(frame[field.name]).dt.date
                    elif pa.types.is_timestamp(field.type):
                        frame[field.name] = pd.to_datetime(frame[field.name], format="ISO8601")
                frame = frame.astype({f.name: object for f in schema if pa.types.is_date32(f.type)})
                frame = frame.where(frame.notna(), None)
                arrow = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
            if engine == "spark":
                # Spark's create_table writes a managed table to disk; a parquet-backed temporary
                # view is much faster for small frames.
                import pyarrow.parquet as pq

                staging = Path(tempfile.mkdtemp(prefix="cwoutcomes-frames-"))
                pq.write_table(arrow, staging / f"{name}.parquet")
                con.read_parquet(str(staging / f"{name}.parquet"), table_name=prefix + name)
            else:
                con.create_table(prefix + name, arrow, overwrite=True)
            available.add(name)
        dataset = cls(con, engine, extract_date, available)
        dataset._prefix = prefix
        return dataset

    _prefix = ""

    # -- raw tables ---------------------------------------------------------------------------
    def has(self, name: str) -> bool:
        return name in self.available

    def table(self, name: str) -> ir.Table:
        if name not in self.available:
            raise CwoutcomesError(f"the data set has no {name} table")
        return self.con.table(self._prefix + name)

    def execute(self, expr) -> pd.DataFrame:
        return self.con.execute(expr)

    def memtable(self, frame: pd.DataFrame) -> ir.Table:
        """A small literal table (periods) registered on this engine, so that cached
        expressions built on it can be executed later (Ibis memtables are not re-registered
        by Spark's cache)."""
        self._memtables += 1
        name = f"{self._prefix}cw_literal_{id(self) % 10**6}_{self._memtables}"
        if self.engine == "spark":
            self.con._session.createDataFrame(frame).createOrReplaceTempView(name)
            return self.con.table(name)
        return self.con.create_table(name, ibis.memtable(frame), temp=True, overwrite=True)

    _memtables = 0

    # -- flags --------------------------------------------------------------------------------
    def flags(self, table_name: str) -> ir.Table | None:
        """One row per flagged record of `table_name`: record_key and a boolean per rule."""
        if not self.has("data_quality"):
            return None
        dq = self.table("data_quality")
        dq = dq.filter((dq.table_name == table_name) & (dq.effect == "flagged"))
        return dq.group_by(dq.record_key).aggregate(
            **{f"dq_{rule.lower()}": (dq.rule == rule).any() for rule in RULES}
        )

    def _with_flags(self, table: ir.Table, table_name: str, key: str) -> ir.Table:
        flags = self.flags(table_name)
        if flags is None:
            return table.mutate(**{f"dq_{rule.lower()}": ibis.literal(False) for rule in RULES})
        joined = table.left_join(flags, table[key] == flags.record_key).drop("record_key")
        return joined.mutate(**{f"dq_{r.lower()}": joined[f"dq_{r.lower()}"].fill_null(False) for r in RULES})

    # -- derived views ------------------------------------------------------------------------
    @functools.cached_property
    def children(self) -> ir.Table:
        c = self._with_flags(self.table("children"), "children", "child_id")
        return c.mutate(birthday_18=p.eighteenth_birthday(c.birth_date))

    @functools.cached_property
    def episodes(self) -> ir.Table:
        """Episodes with the child's attributes and the G6 view of their end.

        `end_date` is the exit as G6 leaves it: the 18th birthday when the child was still in
        care then (closed or open, if the birthday is on or before the extract date), else the
        recorded exit; `end_reason` is `aged_out` in the first case. `observed_end` is the
        exclusive end of observed care (the extract date + 1 for open episodes)."""
        e = self._with_flags(self.table("episodes"), "episodes", "episode_id")
        c = self.children.select("child_id", "birth_date", "sex", "race_ethnicity", "birthday_18")
        e = e.left_join(c, "child_id").drop("child_id_right")
        extract = ibis.literal(self.extract_date)
        aged_out = e.birthday_18.notnull() & (e.birthday_18 <= e.exit_date.fill_null(extract))
        e = e.mutate(
            aged_out=aged_out.fill_null(False),
            end_date=aged_out.fill_null(False).ifelse(e.birthday_18, e.exit_date),
            end_reason=aged_out.fill_null(False).ifelse(ibis.literal("aged_out"), e.exit_reason),
            entered_at_18=(e.birthday_18.notnull() & (e.removal_date >= e.birthday_18)),
        )
        e = e.mutate(
            observed_end=e.end_date.fill_null(p.add_days(extract, 1)),
            # G7 on the episode as G6 leaves it (G18.2); open episodes are never short.
            short_stay=e.end_date.notnull() & (p.days_between(e.removal_date, e.end_date) <= 7),
            no_birth_date=e.birth_date.isnull(),
        )
        return self._keep(e)

    @functools.cached_property
    def all_placements(self) -> ir.Table:
        """Placements with their flags; a placement ending before it starts is ignored
        everywhere (G18.9)."""
        pl = self._with_flags(self.table("placements"), "placements", "placement_id")
        return self._keep(pl.filter(~pl.dq_r4 & (pl.end_date.isnull() | (pl.end_date >= pl.start_date))))

    @functools.cached_property
    def placements(self) -> ir.Table:
        """Placements usable by placement measures: R6 (future) and R7 (outside) left out too."""
        pl = self.all_placements
        return pl.filter(~(pl.dq_r6 | pl.dq_r7))

    @functools.cached_property
    def last_placements(self) -> ir.Table:
        """G18.9: per episode, the last placement (start, id order) starting before the exit."""
        pl = self.all_placements
        e = self.table("episodes").select("episode_id", "exit_date")
        pl = pl.join(e, "episode_id")
        pl = pl.filter(pl.exit_date.notnull() & (pl.start_date < pl.exit_date))
        last = p.last_per(pl, ["episode_id"], ["start_date", "placement_id"])
        return last.select("episode_id", last_setting=last.setting, last_start=last.start_date)

    @functools.cached_property
    def victim_reports(self) -> ir.Table:
        """G8 + G18.4: one row per child and report date, from victim allegations only.

        Columns: child_id, report_date, county (of the referral received first that day),
        incident_date (earliest known), fatality (any), in_care_perpetrator (any foster parent
        or facility staff), birth_date, birthday_18, sex, race_ethnicity."""
        a = self._with_flags(self.table("allegations"), "allegations", "allegation_id")
        r = self._with_flags(self.table("referrals"), "referrals", "referral_id")
        a = a.filter(a.disposition.isin(VICTIM_DISPOSITIONS) & ~a.dq_r6)
        r = r.filter(~r.dq_r6).select("referral_id", "county", "received_at")
        v = a.join(r, "referral_id")
        v = v.mutate(report_date=v.received_at.date())
        attrs = v.group_by(["child_id", "report_date"]).aggregate(
            incident_date=v.incident_date.min(),
            fatality=v.fatality.fill_null(False).any(),
            in_care_perpetrator=v.perpetrator_type.isin(("foster_parent", "facility_staff")).any(),
        )
        first = p.first_per(v, ["child_id", "report_date"], [v.received_at, v.referral_id])
        first = first.select("child_id", "report_date", "county")
        reports = attrs.join(first, ["child_id", "report_date"])
        c = self.children.select("child_id", "birth_date", "birthday_18", "sex", "race_ethnicity")
        return self._keep(reports.join(c, "child_id"))


def _has_time(value) -> bool | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp) or isinstance(value, dt.datetime):
        return True
    return "T" in str(value) or " " in str(value).strip()
