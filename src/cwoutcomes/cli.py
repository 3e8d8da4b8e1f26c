"""The `cwoutcomes` command line: the outermost interface. It parses options, shows progress
and prints summaries; all work is done by the packages it calls (synth, ingest, engine,
measures, report, web). User errors are printed as one message, never a traceback."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from pathlib import Path
from typing import Callable, Iterator, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from cwoutcomes.errors import CwoutcomesError

app = typer.Typer(
    help="Child-welfare outcome measures (CFSR Rounds 2-4, California AB 636, Core Practice "
    "Model) from case-level records.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True)
out = Console()

ProgressCallback = Callable[[str, int, int], None]


def user_errors(func):
    """Turn CwoutcomesError (and a missing file) into one clear message and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except CwoutcomesError as exc:
            console.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(2) from None
        except FileNotFoundError as exc:
            console.print(f"[bold red]error:[/] file not found: {exc.filename or exc}")
            raise typer.Exit(2) from None

    return wrapper


@contextlib.contextmanager
def progress_bar(description: str) -> Iterator[ProgressCallback]:
    """A Rich progress bar driven by callbacks of the form (label, done, total)."""
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[label]}"), TimeElapsedColumn(), console=console, transient=False,
    ) as bar:
        task = bar.add_task(description, total=None, label="")

        def update(label: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, label=label)

        yield update


def parse_date(value: Optional[str], option: str) -> Optional[dt.date]:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CwoutcomesError(f"{option}: {value!r} is not a date (use YYYY-MM-DD)") from None


def print_counts(title: str, counts: dict[str, int], key_header: str, value_header: str) -> None:
    table = RichTable(title=title)
    table.add_column(key_header)
    table.add_column(value_header, justify="right")
    for key, value in counts.items():
        table.add_row(str(key), f"{value:,}")
    out.print(table)


@app.command()
@user_errors
def synth(
    out_dir: Path = typer.Argument(..., help="Folder to write the data set into (created)."),
    scale: float = typer.Option(0.01, help="1 = California's size (~9 million children)."),
    seed: int = typer.Option(1, help="Random seed; the same seed gives the same files."),
    start: str = typer.Option("2015-01-01", help="First day simulated (YYYY-MM-DD)."),
    end: str = typer.Option("2025-12-31", help="Last day simulated = extract date."),
    faults: float = typer.Option(0.0, help="Rate at which to plant each kind of bad record."),
    csv: bool = typer.Option(False, "--csv", help="Write CSV instead of Parquet."),
) -> None:
    """Write a synthetic California data set (every table of the model)."""
    from cwoutcomes.synth import generate

    with progress_bar("synthesizing") as progress:
        counts = generate(
            out_dir, scale=scale, seed=seed, start=parse_date(start, "--start"),
            end=parse_date(end, "--end"), faults=faults, fmt="csv" if csv else "parquet",
            progress=progress,
        )
    print_counts(f"Synthetic data set in {out_dir}", counts, "table", "rows")


@app.command()
@user_errors
def validate(
    data: Path = typer.Argument(..., help="Folder of CSV/Parquet files, or a DuckDB file."),
    db: Optional[Path] = typer.Option(None, help="DuckDB database to write (default: DATA/../<name>.duckdb)."),
    extract_date: Optional[str] = typer.Option(None, help="Cut-off date (default: from the data)."),
    memory_limit: str = typer.Option("4GB", help="DuckDB memory limit; larger data spills to disk."),
) -> None:
    """Load a data set, run the record checks R1-R11 and print counts per rule."""
    from cwoutcomes.ingest import load_dataset

    with progress_bar("loading") as progress:
        summary = load_dataset(
            data, db or default_db_path(data), extract_date=parse_date(extract_date, "--extract-date"),
            memory_limit=memory_limit, progress=progress,
        )
    print_load_summary(summary)


def default_db_path(data: Path) -> Path:
    data = Path(data)
    if data.suffix == ".duckdb":
        return data.with_name(data.stem + ".loaded.duckdb")
    return data.parent / f"{data.name}.duckdb"


def print_load_summary(summary) -> None:
    print_counts(f"Loaded into {summary.db_path} (extract date {summary.extract_date})",
                 summary.row_counts, "table", "rows")
    print_counts("Record checks (data-quality.md §1)", summary.rule_counts, "rule", "records")
    out.print(f"Failing records: {summary.data_quality_csv}")


@app.command()
@user_errors
def demo(
    out_dir: Path = typer.Option(Path("out/demo"), "--out", help="Where to write everything."),
    scale: float = typer.Option(0.005, help="Size of the synthetic state (1 = California)."),
    seed: int = typer.Option(1, help="Random seed."),
) -> None:
    """The main job on built-in synthetic data: synthesize, load and validate, summarize."""
    from cwoutcomes.ingest import load_dataset
    from cwoutcomes.synth import generate

    data_dir = out_dir / "data"
    with progress_bar("synthesizing") as progress:
        generate(data_dir, scale=scale, seed=seed, start=dt.date(2015, 1, 1),
                 end=dt.date(2025, 12, 31), faults=0.001, fmt="parquet", progress=progress)
    with progress_bar("loading") as progress:
        summary = load_dataset(data_dir, out_dir / "cwoutcomes.duckdb", progress=progress)
    print_load_summary(summary)


from cwoutcomes.importers.cli import export_app, import_app  # noqa: E402

app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
