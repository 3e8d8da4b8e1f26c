"""The `cwoutcomes import ...` and `cwoutcomes export ...` commands (mounted by the main CLI).
They parse options, show progress and print counts; the work is done by the importer and
exporter functions. Output never contains child-level values: problems are counted here and
listed (with file, line and field) in the data set's `import_rejects.csv`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table as RichTable

from cwoutcomes.errors import CwoutcomesError

import_app = typer.Typer(
    help="Read federal files (AFCARS, NCANDS) into a canonical data-set folder. Importing both "
    "into the same folder merges them: NCANDS victims with an AFCARS id join their foster-care "
    "records.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
export_app = typer.Typer(
    help="Write a canonical data set as federal files (AFCARS six-month files, NCANDS yearly "
    "child files), e.g. to compare with the federal syntax or to test a round trip.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()


def _run(description: str, work):
    """Run `work(progress)` under a Rich progress bar; user errors become one message."""
    from cwoutcomes.cli import progress_bar

    try:
        with progress_bar(description) as progress:
            return work(progress)
    except CwoutcomesError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None


def _date(value: Optional[str], option: str) -> Optional[dt.date]:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        console.print(f"[bold red]error:[/] {option}: {value!r} is not a date (use YYYY-MM-DD)")
        raise typer.Exit(2) from None


def _counts(title: str, counts: dict, left: str, right: str) -> None:
    if not counts:
        return
    table = RichTable(title=title)
    table.add_column(left)
    table.add_column(right, justify="right")
    for key, value in counts.items():
        table.add_row(str(key), f"{value:,}")
    out.print(table)


def _print_import(summary) -> None:
    out.print(f"Read {summary.records_read:,} records from {len(summary.files_read)} file(s)"
              + (f"; {summary.files_skipped} file(s) could not be read" if summary.files_skipped else "")
              + f"; used {summary.records_used:,}. Periods covered: {summary.coverage or '-'}.")
    for path, reason in summary.skipped_files.items():
        console.print(f"[bold yellow]skipped:[/] {path}: {reason}")
    _counts(f"Data set {summary.out}", summary.merged_rows, "table", "rows")
    _counts("Rebuilding notes", {k: v for k, v in summary.notes.items() if v}, "note", "count")
    _counts("Problems (listed in import_rejects.csv)", summary.rejects, "what", "records")
    out.print(f"Every dropped record and value: {summary.rejects_path}")


@import_app.command("afcars")
def import_afcars_command(
    files: List[Path] = typer.Argument(..., help="AFCARS foster-care files: fixed-width state "
                                       "submissions (.dat) and/or tab-delimited research files "
                                       "(.tab), in submission order (a file given later replaces "
                                       "an earlier one for the same report period)."),
    data: Path = typer.Option(..., "--out", help="Data-set folder to write (created; an earlier "
                              "AFCARS import there is replaced, other sources kept)."),
) -> None:
    """Import legacy AFCARS foster-care files (both layouts).

    Children, removal episodes and placements are rebuilt from the six-month snapshots;
    docs/import.md says what is approximate because of that."""
    from cwoutcomes.importers import import_afcars

    _print_import(_run("importing AFCARS", lambda p: import_afcars(files, data, progress=p)))


@import_app.command("ncands")
def import_ncands_command(
    files: List[Path] = typer.Argument(..., help="NCANDS child files (tab-delimited, NDACAN "
                                       "column names), any number of years."),
    data: Path = typer.Option(..., "--out", help="Data-set folder to write (created; an earlier "
                              "NCANDS import there is replaced, other sources kept)."),
) -> None:
    """Import NCANDS child files (tab-delimited research release).

    Referrals, allegations (up to four maltreatments per child and report) and children, linked
    to AFCARS records by the AFCARS id."""
    from cwoutcomes.importers import import_ncands

    _print_import(_run("importing NCANDS", lambda p: import_ncands(files, data, progress=p)))


def _print_export(summary) -> None:
    _counts(f"Wrote {len(summary.files)} file(s)", summary.records, "file", "records")
    _counts("Not carried by the federal layout", {k: v for k, v in summary.notes.items() if v},
            "what", "count")


@export_app.command("afcars")
def export_afcars_command(
    data: Path = typer.Argument(..., help="Canonical data-set folder (Parquet or CSV tables)."),
    out_dir: Path = typer.Option(..., "--out", help="Folder for the AFCARS files (created)."),
    layout: str = typer.Option("fixed", help="fixed = state submission layout (FC2021A.dat); "
                               "tab = research-release columns (FC2021A.tab)."),
    annual: bool = typer.Option(False, "--annual", help="With --layout tab: one file per fiscal "
                                "year, each child's latest record (as NDACAN's FC<fy> files)."),
    extract_date: Optional[str] = typer.Option(None, help="Cut-off date YYYY-MM-DD (default: the "
                                               "latest date in the data)."),
    state: Optional[str] = typer.Option(None, help="State FIPS or abbreviation (default: from "
                                        "the county codes)."),
) -> None:
    """Write the foster-care history as six-month AFCARS foster-care files."""
    from cwoutcomes.importers import export_afcars

    cut = _date(extract_date, "--extract-date")
    _print_export(_run("exporting AFCARS", lambda p: export_afcars(
        data, out_dir, layout_name=layout, annual=annual, extract_date=cut, state=state,
        progress=p)))


@export_app.command("ncands")
def export_ncands_command(
    data: Path = typer.Argument(..., help="Canonical data-set folder (Parquet or CSV tables)."),
    out_dir: Path = typer.Option(..., "--out", help="Folder for the NCANDS files (created)."),
    with_birth_date: bool = typer.Option(False, "--with-birth-date", help="Add the state file's "
                                         "ChBDate column (the research release has only ChAge)."),
    extract_date: Optional[str] = typer.Option(None, help="Cut-off date YYYY-MM-DD (default: the "
                                               "latest date in the data)."),
    state: Optional[str] = typer.Option(None, help="State FIPS or abbreviation (default: from "
                                        "the county codes)."),
) -> None:
    """Write the reports as yearly NCANDS child files (fiscal year of the disposition)."""
    from cwoutcomes.importers import export_ncands

    cut = _date(extract_date, "--extract-date")
    _print_export(_run("exporting NCANDS", lambda p: export_ncands(
        data, out_dir, extract_date=cut, state=state, with_birth_date=with_birth_date,
        progress=p)))
