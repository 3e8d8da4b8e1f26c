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
console = Console(stderr=True, soft_wrap=True)
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


def selected_measures(ids: Optional[str], *, with_inputs: bool = False,
                      periodicity_schedule: Optional[Path] = None):
    """The measures named in `ids` (all when empty); `with_inputs` adds the measures a selected
    composite is scored from; `periodicity_schedule` (a CSV) replaces 5B's default schedule."""
    from cwoutcomes.measures import registry

    measures = registry()
    if periodicity_schedule is not None:
        from cwoutcomes.measures.california_wellbeing import exam_measures

        measures |= {m.id: m for m in exam_measures(periodicity_schedule)}
    if not ids:
        return list(measures.values())
    wanted = [part.strip() for part in ids.split(",") if part.strip()]
    unknown = [m for m in wanted if m not in measures]
    if unknown:
        raise CwoutcomesError(f"unknown measure(s): {', '.join(unknown)}; see `cwoutcomes measures`")
    if with_inputs:
        wanted = list(dict.fromkeys(m for w in wanted for m in (*measures[w].inputs, w)))
    return [measures[m] for m in wanted]


def open_dataset(data: Path, engine: str, extract_date: Optional[str], spark_master: Optional[str]):
    """A loaded database, or a folder / DuckDB file loaded first (next to it)."""
    from cwoutcomes.engine.dataset import Dataset
    from cwoutcomes.ingest import load_dataset

    data = Path(data)
    if not data.exists():
        raise CwoutcomesError(f"{data} does not exist")
    db_path = data
    if data.is_dir() or not _is_loaded_database(data) or extract_date:
        db_path = default_db_path(data)
        with progress_bar("loading") as progress:
            load_dataset(data, db_path, extract_date=parse_date(extract_date, "--extract-date"),
                         progress=progress)
    return Dataset.from_database(db_path, engine=engine, spark_master=spark_master)


def _is_loaded_database(path: Path) -> bool:
    if path.suffix != ".duckdb":
        return False
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        return bool(con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'dataset_info'"
        ).fetchone()[0])


def compute_results(ds, measures, windows_option: Optional[str], latest: int, public: bool,
                    composite_reference: Optional[Path] = None):
    from cwoutcomes.engine.evaluator import evaluate
    from cwoutcomes.engine.masking import mask_small_cells
    from cwoutcomes.measures.composites import add_composites, load_reference

    windows = resolve_windows(ds, windows_option, latest)
    reference = load_reference(composite_reference) if composite_reference else None
    with progress_bar("computing") as progress:
        results = evaluate(ds, measures, windows, public=False, progress=progress)
    # Round 2 composites are scored from the unmasked values; masking comes last.
    results = add_composites(results, reference, tuple(m.id for m in measures if m.is_composite))
    return mask_small_cells(results) if public else results


def resolve_windows(ds, windows_option: Optional[str], latest: int):
    from cwoutcomes.engine.periods import latest_windows, parse_windows

    return parse_windows(windows_option) if windows_option else latest_windows(ds.extract_date, latest)


def practice_outcomes_path(results_path: Path) -> Path:
    """Where `compute` writes the practice comparison: beside the results, `NAME.practice.EXT`."""
    return results_path.with_name(f"{results_path.stem}.practice{results_path.suffix}")


def compute_practice_outcomes(ds, windows_option: Optional[str], latest: int, public: bool):
    """Per practice, the linked outcomes of children who received it and of those who did not
    (measures.md §5), for the same windows as the results."""
    from cwoutcomes.measures.practice_outcomes import practice_outcomes

    with progress_bar("practice comparison") as progress:
        progress("practice comparison", 0, 1)
        table = practice_outcomes(ds, resolve_windows(ds, windows_option, latest), public=public)
        progress("done", 1, 1)
    return table


def read_table(path: Path):
    """A results-like table written by `compute` (.parquet or .csv; county codes kept as text)."""
    import pandas as pd

    return pd.read_csv(path, dtype={"county": str}) if path.suffix == ".csv" else pd.read_parquet(path)


def write_results(results, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        results.to_csv(path, index=False)
    else:
        results.to_parquet(path, index=False)


def print_statewide(results) -> None:
    """Per measure, the latest window whose follow-up is complete and that has a value (else the
    latest window)."""
    import pandas as pd

    state = results[(results.county == "state") & (results.stratum == "all")]
    complete = (state.status == "ok") & state.value.notna()
    state = state.assign(_complete=complete).sort_values(["_complete", "period_label"])
    latest = state.groupby("measure_id").tail(1)
    table = RichTable(title="Statewide results, latest complete window with a value, per measure")
    for header in ("measure", "window", "numerator", "denominator", "value", "unit", "national", "status"):
        table.add_column(header, justify="left" if header in ("measure", "unit", "status") else "right")

    def text(x, spec: str) -> str:  # blank for null / NaN (medians have no numerator)
        return "" if pd.isna(x) else format(float(x), spec)

    for row in latest.sort_values("measure_id").itertuples(index=False):
        table.add_row(row.measure_id, row.period_label, text(row.numerator, ",.0f"), text(row.denominator, ",.0f"),
                      text(row.value, ",.2f"), row.unit, text(row.national_standard, "g"), row.status)
    out.print(table)


@app.command()
@user_errors
def compute(
    data: Path = typer.Argument(..., help="Loaded database, folder of tables, or DuckDB file."),
    out_path: Path = typer.Option(Path("results.parquet"), "--out", help="Results file (.parquet or .csv)."),
    windows: Optional[str] = typer.Option(None, help="Comma-separated windows, e.g. 2024Q4,2025Q1 or 24A24B."),
    latest: int = typer.Option(12, help="Number of most recent complete quarters' windows (without --windows)."),
    extract_date: Optional[str] = typer.Option(None, help="Cut-off date (default: from the data)."),
    measures: Optional[str] = typer.Option(
        None, help="Comma-separated measure ids (default: all); a composite (C1-C4) brings its measures."),
    engine: str = typer.Option("duckdb", help="duckdb (embedded) or spark."),
    spark_master: Optional[str] = typer.Option(None, help="Spark master URL (default local[2])."),
    public: bool = typer.Option(False, "--public", help="Mask small counts (G14) for publication."),
    composite_reference: Optional[Path] = typer.Option(
        None, help="CSV (id,mean,sd,min,max) of a reference distribution for the Round 2 composites "
        "(default: relative to the data set's counties)."),
    periodicity_schedule: Optional[Path] = typer.Option(
        None, help="CSV (exam_type,min_age,max_age,within_months) replacing 5B's default periodicity "
        "schedule (see `cwoutcomes explain 5B.MED`)."),
    practice_comparison: bool = typer.Option(
        True, help="With practice-model measures selected, also write NAME.practice.EXT beside the results: "
        "per practice, the outcomes of children who received it and of those who did not (descriptive)."),
) -> None:
    """Compute measures for windows, counties, the state and strata into a results file."""
    selection = selected_measures(measures, with_inputs=True, periodicity_schedule=periodicity_schedule)
    ds = open_dataset(data, engine, extract_date, spark_master)
    results = compute_results(ds, selection, windows, latest, public, composite_reference)
    write_results(results, out_path)
    print_statewide(results)
    out.print(f"{len(results):,} result rows written to {out_path}")
    if practice_comparison and any(m.version == "cpm" for m in selection):
        comparison = compute_practice_outcomes(ds, windows, latest, public)
        write_results(comparison, practice_outcomes_path(out_path))
        out.print(f"Practice comparison (descriptive): {len(comparison):,} rows written to "
                  f"{practice_outcomes_path(out_path)}")


@app.command("measures")
def list_measures() -> None:
    """List every measure: id, version, name, unit, direction, reference values, and the outcome
    areas and practice components (crosswalk) it belongs to."""
    from cwoutcomes.measures import registry
    from cwoutcomes.model.framework import AREA_LABELS, areas_for, components_for

    table = RichTable(title="Measures")
    for header in ("id", "version", "name", "unit", "better", "reference", "outcome area", "practice components"):
        table.add_column(header, overflow="fold")
    for m in registry().values():
        table.add_row(m.id, m.version, m.name, m.unit_label, m.direction, reference_text(m),
                      ", ".join(AREA_LABELS[a] for a in areas_for(m.id, m.inputs)), ", ".join(components_for(m.id)))
    out.print(table)


def reference_text(m) -> str:
    """National standard or performance, then any other reference values (Round 2 percentiles)."""
    parts = [] if m.national_standard is None else [f"national {m.national_standard:g}"]
    parts += [f"{name} {value:g}" for name, value in m.reference.items()]
    return "; ".join(parts)


@app.command()
@user_errors
def explain(
    measure: str = typer.Argument(..., help="Measure id, e.g. 4-P1."),
    engine: str = typer.Option("duckdb", help="Show the SQL of this engine: duckdb or spark."),
    window: str = typer.Option("2024Q4", help="Window whose SQL is shown."),
) -> None:
    """Print a measure's definition and the SQL it runs on the chosen engine."""
    from cwoutcomes.engine.explain import measure_sql

    (m,) = selected_measures(measure)
    out.print(f"[bold]{m.id}[/] ({m.version}) {m.name}")
    out.print(f"unit: {m.unit_label}; better: {m.direction}; reference: {reference_text(m) or 'none'}")
    out.print(m.definition)
    from cwoutcomes.model.framework import AREA_LABELS, areas_for, components_for, practice_crosswalk

    names = dict(zip(practice_crosswalk().component_id, practice_crosswalk().component))
    out.print(f"outcome area: {', '.join(AREA_LABELS[a] for a in areas_for(m.id, m.inputs)) or 'none'}")
    out.print(f"practice components: {', '.join(names[c] for c in components_for(m.id)) or 'none'}")
    out.print(measure_sql(m, engine, window))


@app.command()
@user_errors
def demo(
    out_dir: Path = typer.Option(Path("out/demo"), "--out", help="Where to write everything."),
    scale: float = typer.Option(0.005, help="Size of the synthetic state (1 = California)."),
    seed: int = typer.Option(1, help="Random seed."),
) -> None:
    """The main job on built-in synthetic data: synthesize, load and validate, compute every
    measure for the last 12 quarters' windows, and print the statewide summary."""
    from cwoutcomes.ingest import load_dataset
    from cwoutcomes.synth import generate

    data_dir = out_dir / "data"
    with progress_bar("synthesizing") as progress:
        generate(data_dir, scale=scale, seed=seed, start=dt.date(2015, 1, 1),
                 end=dt.date(2025, 12, 31), faults=0.001, fmt="parquet", progress=progress)
    with progress_bar("loading") as progress:
        summary = load_dataset(data_dir, out_dir / "cwoutcomes.duckdb", progress=progress)
    print_load_summary(summary)
    from cwoutcomes.engine.dataset import Dataset

    ds = Dataset.from_database(summary.db_path)
    results = compute_results(ds, selected_measures(None), None, 12, public=False)
    write_results(results, out_dir / "results.parquet")
    comparison = compute_practice_outcomes(ds, None, 12, public=False)
    write_results(comparison, practice_outcomes_path(out_dir / "results.parquet"))
    print_statewide(results)
    out.print(f"Results: {out_dir / 'results.parquet'} ({len(results):,} rows)")
    quarter = max(label for label in results.period_label.unique() if "Q" in label)
    county = "06037" if (results.county == "06037").any() else sorted(set(results.county) - {"state"})[0]
    written = make_reports(results, quarter, out_dir / "reports", counties=["state", county],
                           db=summary.db_path, workers=2, practice_outcomes=comparison)
    for w in written:
        out.print(f"Report for {w.name}, {quarter}: {w.files.get('pdf') or w.folder} "
                  f"(HTML, Excel and CSV beside it)", soft_wrap=True)


def make_reports(results, quarter: str, out_dir: Path, *, counties=(), all_: bool = False,
                 public: bool = False, db: Optional[Path] = None, formats=("html", "pdf", "xlsx", "csv"),
                 workers: int = 1, practice_outcomes=None):
    """Prepare once, then write each geography's report (see cwoutcomes.report.build)."""
    from cwoutcomes.report.build import resolve_geographies, write_reports
    from cwoutcomes.report.content import prepare

    data = prepare(results, quarter, public=public, practice_outcomes=practice_outcomes)
    if db is not None:
        from cwoutcomes.report.quality import load_quality

        data.quality = load_quality(db, max(data.trend_labels.values(), key=len))
    geos = resolve_geographies(data, counties, all_)
    with progress_bar("reports") as progress:
        return write_reports(data, geos, out_dir, formats=formats, workers=workers, progress=progress)


@app.command()
@user_errors
def report(
    results_path: Path = typer.Argument(..., metavar="RESULTS", help="Results file written by `compute` (.parquet or .csv)."),
    quarter: str = typer.Option(..., help="Window reported, e.g. 2025Q2."),
    out_dir: Path = typer.Option(Path("reports"), "--out", help="Folder for the reports (one subfolder each)."),
    county: Optional[list[str]] = typer.Option(None, help="County FIPS code or name, or `state`; repeat for several (default: the state)."),
    all_: bool = typer.Option(False, "--all", help="The statewide report and one per county."),
    public: bool = typer.Option(False, "--public", help="Mask small counts (G14) everywhere, charts and downloads included."),
    db: Optional[Path] = typer.Option(None, help="Loaded database, for the data-quality limits per period."),
    formats: str = typer.Option("html,pdf,xlsx,csv", help="Comma-separated: html, pdf, xlsx, csv."),
    workers: int = typer.Option(1, help="Reports written in parallel processes."),
    practice_outcomes: Optional[Path] = typer.Option(
        None, help="Practice comparison written by `compute` (default: RESULTS' NAME.practice.EXT, if present)."),
) -> None:
    """Write quarterly data reports (HTML, PDF, Excel, CSV) for the state and counties."""
    if not results_path.exists():
        raise CwoutcomesError(f"{results_path} does not exist")
    results = read_table(results_path)
    comparison_path = practice_outcomes or practice_outcomes_path(results_path)
    if practice_outcomes is not None and not practice_outcomes.exists():
        raise CwoutcomesError(f"{practice_outcomes} does not exist")
    comparison = read_table(comparison_path) if comparison_path.exists() else None
    written = make_reports(results, quarter, out_dir, counties=county or [], all_=all_, public=public, db=db,
                           formats=[f.strip() for f in formats.split(",") if f.strip()], workers=workers,
                           practice_outcomes=comparison)
    for w in written:
        out.print(f"{w.name}: {w.folder}")
    out.print(f"{len(written)} report(s) in {out_dir} (index: {out_dir / 'index.html'})")


from cwoutcomes.importers.cli import export_app, import_app  # noqa: E402

app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")

from cwoutcomes.web.cli import serve, users_app  # noqa: E402

app.command()(serve)
app.add_typer(users_app, name="users")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
