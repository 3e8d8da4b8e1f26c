"""The measure engine: connects a loaded data set to an execution engine (DuckDB embedded by
default, Apache Spark through PySpark), offers the small set of relational primitives every
measure is written in (spells in a window, clipped days, point-in-time membership, completed
months, ages and 18th birthdays, placement moves, first record per child), and evaluates
declarative measure definitions into the results table: windows, counties and state, strata,
status, masking and intervals. Ibis is used only inside this package and by measure
definitions through its primitives."""
