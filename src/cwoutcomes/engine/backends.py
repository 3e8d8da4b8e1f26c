"""The two execution engines behind one Ibis connection: DuckDB (embedded, default) and Apache
Spark through PySpark (local mode by default; any master through `CWOUTCOMES_SPARK_MASTER` or
the `spark_master` argument). Only this module knows how each engine is started."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import ibis

from cwoutcomes.errors import CwoutcomesError

ENGINES = ("duckdb", "spark")
_spark_lock = threading.Lock()


def spark_session(master: str | None = None):
    """One shared SparkSession per process, in UTC so dates never shift."""
    with _spark_lock:
        from pyspark.sql import SparkSession

        master = master or os.environ.get("CWOUTCOMES_SPARK_MASTER", "local[2]")
        builder = (
            SparkSession.builder.appName("cwoutcomes").master(master)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", os.environ.get("CWOUTCOMES_SPARK_PARTITIONS", "4"))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.memory", os.environ.get("CWOUTCOMES_SPARK_MEMORY", "4g"))
            .config("spark.sql.ansi.enabled", "false")
            .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
            .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
        )
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        return session


def connect(engine: str, *, duckdb_path: Path | None = None, spark_master: str | None = None,
            memory_limit: str = "4GB"):
    """An Ibis connection to the chosen engine."""
    if engine == "duckdb":
        if duckdb_path is None:
            con = ibis.duckdb.connect()
        else:
            con = ibis.duckdb.connect(str(duckdb_path), read_only=True)
        con.raw_sql(f"SET memory_limit = '{memory_limit}'")
        return con
    if engine == "spark":
        return ibis.pyspark.connect(spark_session(spark_master))
    raise CwoutcomesError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
