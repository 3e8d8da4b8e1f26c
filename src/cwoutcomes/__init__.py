"""cwoutcomes: child-welfare outcome measures (CFSR Rounds 2-4, California AB 636, Core Practice
Model) computed exactly from case-level records on DuckDB or Spark, published as reports,
a dashboard and data files."""

__version__ = "0.1.0"
