"""Writing what an import produced into a canonical data-set folder, merged with what other
imports already put there.

Layout of a folder the importers own:

    children.parquet, episodes.parquet, ...   the canonical tables (merged over sources)
    import_rejects.csv                        every problem of every source (rejects.py)
    import_sources/<source>/<table>.parquet   what each source contributed, kept so that
    import_sources/<source>/rejects.csv       re-importing one source (say, a corrected NCANDS
    import_sources/manifest.json              year) rebuilds the merge without losing the other

Each import replaces its own source and keeps the others. A child known to both AFCARS and
NCANDS is one row: AFCARS values win (exact birth date), NCANDS fills what AFCARS lacks.
Files are replaced only after the new ones are complete, so a failed import leaves the folder
as it was.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cwoutcomes.errors import InputError
from cwoutcomes.importers.rejects import Rejects, read_rejects, write_rejects
from cwoutcomes.model.tables import TABLES, arrow_schema

Progress = Callable[[str, int, int], None]

SOURCES_DIR = "import_sources"
REJECTS_FILE = "import_rejects.csv"
MANIFEST = "manifest.json"
# Which source's values win when both describe the same child.
SOURCE_PRIORITY = ("afcars", "ncands")


@dataclass
class ImportSummary:
    """What an import did, without any child-level data (safe to print)."""

    source: str
    out: Path
    files_read: list[str]
    files_skipped: int
    records_read: int
    records_used: int
    rows: dict[str, int]  # rows this source contributed, per table
    merged_rows: dict[str, int]  # rows in the folder's tables after the merge
    rejects: dict[str, int]  # "action: reason" -> count
    notes: dict[str, int] = field(default_factory=dict)
    coverage: str = ""
    skipped_files: dict[str, str] = field(default_factory=dict)  # file -> why it was not read

    @property
    def rejects_path(self) -> Path:
        return self.out / REJECTS_FILE


def _to_arrow(name: str, frame: pd.DataFrame) -> pa.Table:
    """The frame as an Arrow table with exactly the model's columns and types (missing optional
    columns become nulls; `<col>_has_time` flags follow date-or-timestamp columns)."""
    schema = arrow_schema(name, with_time_flags=True)
    arrays = []
    for f in schema:
        if f.name in frame:
            col = frame[f.name]
        elif f.name.endswith("_has_time") and f.name[: -len("_has_time")] in frame:
            col = frame[f.name[: -len("_has_time")]].notna() & False
        else:
            col = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        arrays.append(_column(col, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _column(col: pd.Series, typ: pa.DataType) -> pa.Array:
    if pa.types.is_date32(typ) or pa.types.is_timestamp(typ):
        values = pd.to_datetime(col, errors="coerce")
        unit = "datetime64[D]" if pa.types.is_date32(typ) else "datetime64[us]"
        return pa.array(values.to_numpy(dtype=unit), type=typ, from_pandas=True)
    if pa.types.is_boolean(typ):
        return pa.array(col.astype("boolean"), type=typ)
    if pa.types.is_integer(typ):
        return pa.array(pd.array(col, dtype="Int64"), type=typ)
    if pa.types.is_floating(typ):
        return pa.array(pd.to_numeric(col), type=typ, from_pandas=True)
    if isinstance(col.dtype, pd.StringDtype) and col.dtype.storage == "pyarrow":
        return pa.array(col.array, type=typ)
    values = col.astype(object).where(col.notna(), None)
    return pa.array(values.tolist(), type=typ)


def _write_parquet(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def _owned(out: Path) -> bool:
    return (out / SOURCES_DIR / MANIFEST).exists()


def check_folder(out: Path) -> None:
    """Refuse to merge into a folder holding a data set the importers did not write (for example
    a synthetic one): rebuilding the merged tables would overwrite it."""
    if not out.exists() or _owned(out):
        return
    foreign = [p.name for p in out.iterdir()
               if p.suffix in (".parquet", ".csv") and p.stem in TABLES]
    if foreign:
        raise InputError(f"{out} already holds a data set not written by the importers "
                         f"({', '.join(sorted(foreign))}); import into an empty folder")


def write_source(out: Path, source: str, tables: dict[str, pd.DataFrame], rejects: Rejects, *,
                 files: list[str], notes: dict[str, int], records_read: int, records_used: int,
                 coverage: str) -> ImportSummary:
    out = Path(out)
    check_folder(out)
    sources = out / SOURCES_DIR
    sources.mkdir(parents=True, exist_ok=True)

    staging = sources / f".{source}.new"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    rows = {}
    for name, frame in tables.items():
        pq.write_table(_to_arrow(name, frame), staging / f"{name}.parquet")
        rows[name] = len(frame)
    reject_frame = rejects.frame()
    write_rejects(reject_frame, staging / "rejects.csv")
    target = sources / source
    old = sources / f".{source}.old"
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    if old.exists():
        shutil.rmtree(old)

    manifest_path = sources / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest[source] = {
        "imported_at": dt.datetime.now().isoformat(timespec="seconds"),
        "files": files, "records_read": records_read, "records_used": records_used,
        "coverage": coverage, "rows": rows,
    }
    tmp = manifest_path.with_name(MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, manifest_path)

    merged_rows = merge(out)
    skipped = reject_frame.loc[reject_frame["action"] == "file_skipped"]
    return ImportSummary(
        source=source, out=out, files_read=files, files_skipped=len(skipped),
        records_read=records_read, records_used=records_used, rows=rows,
        merged_rows=merged_rows, rejects=rejects.counts(), notes=notes, coverage=coverage,
        skipped_files=dict(zip(skipped["file"], skipped["reason"])))


def merge(out: Path) -> dict[str, int]:
    """Rebuild the folder's canonical tables and rejects list from every source present."""
    sources_dir = Path(out) / SOURCES_DIR
    present = [s for s in SOURCE_PRIORITY if (sources_dir / s).is_dir()]
    present += sorted(p.name for p in sources_dir.iterdir()
                      if p.is_dir() and not p.name.startswith(".") and p.name not in present)
    by_table: dict[str, list[tuple[int, pa.Table]]] = {}
    for rank, source in enumerate(present):
        for path in sorted((sources_dir / source).glob("*.parquet")):
            by_table.setdefault(path.stem, []).append((rank, pq.read_table(path)))
    counts = {}
    for name, parts in by_table.items():
        if name == "children" and len(parts) > 1:
            table = _merge_children(parts)
        else:
            table = pa.concat_tables([t for _, t in parts])
        _write_parquet(table, Path(out) / f"{name}.parquet")
        counts[name] = table.num_rows
    frames = [read_rejects(sources_dir / s / "rejects.csv") for s in present]
    merged = pd.concat(frames, ignore_index=True) if frames else read_rejects(Path("/nonexistent"))
    tmp = Path(out) / (REJECTS_FILE + ".tmp")
    write_rejects(merged, tmp)
    os.replace(tmp, Path(out) / REJECTS_FILE)
    return counts


def _merge_children(parts: list[tuple[int, pa.Table]]) -> pa.Table:
    frames = []
    for rank, table in parts:
        frame = table.to_pandas()
        frame["_rank"] = rank
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True).sort_values(["child_id", "_rank"], kind="stable")
    for col in ("sex", "race_ethnicity"):
        frame[col] = frame[col].where(frame[col] != "unknown", None)
    merged = frame.groupby("child_id", sort=True).first().reset_index()
    for col in ("sex", "race_ethnicity"):
        merged[col] = merged[col].fillna("unknown")
    merged = merged.drop(columns="_rank")
    return _to_arrow("children", merged)
