"""The canonical data model: every table of `data-model.md` (columns, types, required and
optional parts, ordered code lists), the results schema, and the reference data shipped with
the package (California's counties). Nothing here computes; everything else reads from here."""

from cwoutcomes.model.tables import (  # noqa: F401
    REQUIRED_TABLES, RESULT_COLUMNS, RESULT_STATUSES, STATE, TABLES, Column, DType, Table, table,
)
