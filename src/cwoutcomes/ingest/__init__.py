"""Loading a data set (folder of CSV/Parquet files or a DuckDB file) into the project's
file-backed DuckDB database, typed to the canonical model, with the record checks R1-R11 of
`data-quality.md` written to a `data_quality` table. Owns: reading, type coercion, record
checks, the extract date. Does not compute measures."""

from cwoutcomes.ingest.loader import LoadSummary, load_dataset  # noqa: F401

__all__ = ["LoadSummary", "load_dataset"]
