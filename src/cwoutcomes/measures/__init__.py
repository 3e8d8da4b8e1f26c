"""Measure definitions, one module per family (cfsr4: Round 4, cfsr3: Round 3, ...). Each
measure is a declarative `Measure` record whose unit-row function reads like its entry in
`measures.md`; `registry()` lists them all. Measures are written only in the engine's
primitives and plain Ibis expressions, so they run on every engine."""

from cwoutcomes.measures.base import Measure, registry  # noqa: F401
