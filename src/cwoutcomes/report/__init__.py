"""Quarterly data reports for the state and each county (issue 5): `content` assembles what each
section shows from a results table, the measure registry and the outcome framework, as plain
tables of typed cells (no formatting); `format` turns cells into display text (G15 rounding,
the four cell states, direction-aware marks); `charts` builds the Altair trend charts and small
multiples (rendered to SVG separately, so the web dashboard can reuse the charts); `html` and
its Jinja2 templates make one self-contained HTML file, `pdf` prints the same HTML with
WeasyPrint, `excel` writes a workbook with one sheet per measure and `csv` one file per table
shown; `quality` gathers the data-quality checks from a loaded database; `build` runs all of it
for a list of geographies. Fonts are shipped in `fonts/` (DejaVu Sans Condensed); nothing is
fetched at run time."""
