"""The SQL a measure runs, for analysts who audit a number (`cwoutcomes explain`)."""

from __future__ import annotations

import datetime as dt

import ibis

from cwoutcomes.engine.dataset import DATA_QUALITY_COLUMNS, Dataset
from cwoutcomes.engine.evaluator import aggregate, windows_frame
from cwoutcomes.engine.periods import parse_window
from cwoutcomes.measures.base import Measure
from cwoutcomes.model.tables import TABLES, arrow_schema

SQL_DIALECT = {"duckdb": "duckdb", "spark": "pyspark"}


class _SchemaOnlyDataset(Dataset):
    """A data set of unbound tables: enough to build a measure's expression without data."""

    def __init__(self):
        super().__init__(None, "sql", dt.date(2099, 12, 31), set(TABLES) | {"data_quality"},
                         materialize=False)

    def table(self, name):
        if name == "data_quality":
            return ibis.table({c: "string" for c in DATA_QUALITY_COLUMNS}, name=name)
        return ibis.table(ibis.Schema.from_pyarrow(arrow_schema(name, with_time_flags=True)), name=name)

    def memtable(self, frame):
        return ibis.memtable(frame)


def measure_sql(measure: Measure, engine: str, window: str) -> str:
    if measure.is_composite:
        return (f"-- {measure.id} runs no SQL of its own: it is scored from the results of "
                f"{', '.join(measure.inputs)} (see `cwoutcomes explain` for each of them).")
    if engine == "spark":
        from ibis.backends.pyspark import Backend

        Backend.register_options()  # the Spark compiler reads them; normally done on connect
    ds = _SchemaOnlyDataset()
    periods = ibis.memtable(windows_frame([parse_window(window)]))
    expr = aggregate(measure.units(ds, periods), measure.strata)
    return ibis.to_sql(expr, dialect=SQL_DIALECT.get(engine, engine))
