"""Turning the simulator's integer-coded columns into typed Arrow tables of the model and
writing them as Parquet or CSV.

Internal conventions (all columns are numpy arrays):
- identifiers are integers, written with a prefix per column (`C123` for a child); NA = null;
- `county` holds an index into the county codes (-1 = `state`);
- codes hold an index into the model's code list; indices past its end are the deliberately
  bad codes of `BAD_CODES` (fault R1); NA = null;
- dates are days since 1970-01-01 and timestamps microseconds, NA = null;
- booleans are bool, or int8 with -1 = null."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cwoutcomes.model.tables import TABLES, DType, arrow_schema
from cwoutcomes.synth.util import NA

ID_PREFIX = {
    "child_id": "C", "referral_id": "R", "allegation_id": "A", "episode_id": "E", "placement_id": "P",
    "provider_id": "H", "contact_id": "V", "case_id": "S", "sibling_group_id": "G", "assessment_id": "M",
    "event_id": "X", "service_referral_id": "Q",
}
# Values outside every code list, used to plant R1 faults.
BAD_CODES = ("Unknown", "FOSTER CARE", "n/a", "9")


# Identifiers are zero-padded to this many digits, whatever the table, so that the same number
# is the same string everywhere (numbers need fewer than 10**9 per kind, even at scale 100).
ID_DIGITS = 9


def ids(prefix: str, values: np.ndarray) -> pa.Array:
    """Identifiers `<prefix><zero-padded number>`; NA gives null."""
    values = np.asarray(values, dtype=np.int64)
    null = values == NA
    v = np.where(null, 0, values)
    width = max(ID_DIGITS, len(str(int(v.max())))) if v.size else ID_DIGITS
    p = np.frombuffer(prefix.encode(), dtype=np.uint8)
    buf = np.empty((v.size, p.size + width), dtype=np.uint8)
    buf[:, :p.size] = p
    x = v.copy()
    for k in range(width - 1, -1, -1):
        buf[:, p.size + k] = 48 + x % 10
        x //= 10
    offsets = np.arange(v.size + 1, dtype=np.int32) * (p.size + width)
    arr = pa.StringArray.from_buffers(v.size, pa.py_buffer(offsets), pa.py_buffer(buf.tobytes()))
    return pc_null(arr, null)


def pc_null(arr: pa.Array, null: np.ndarray) -> pa.Array:
    if not null.any():
        return arr
    import pyarrow.compute as pc
    return pc.if_else(pa.array(null), pa.scalar(None, arr.type), arr)


def _lookup(values: np.ndarray, labels: list[str]) -> pa.Array:
    values = np.asarray(values, dtype=np.int64)
    null = values == NA
    idx = np.where(null, 0, values) % len(labels)
    return pa.array(labels, pa.string()).take(pa.array(idx, mask=null))


def to_arrow(name: str, cols: dict[str, np.ndarray], county_codes: list[str]) -> pa.Table:
    model = TABLES[name]
    if set(cols) != set(model.column_names):
        raise ValueError(f"synth produced columns {sorted(cols)} for {name}, the model has {model.column_names}")
    schema = arrow_schema(name)
    arrays = []
    for col in model.columns:
        v = cols[col.name]
        if col.dtype is DType.STRING:
            if col.name == "county":
                arr = _lookup(v, list(county_codes) + ["state"])
            elif col.name in ID_PREFIX:
                arr = ids(ID_PREFIX[col.name], v)
            else:
                arr = pa.array(v, pa.string())
        elif col.dtype is DType.CODE:
            arr = _lookup(v, list(col.codes) + list(BAD_CODES))
        elif col.dtype is DType.DATE:
            v = np.asarray(v, dtype=np.int64)
            arr = pa.array(np.where(v == NA, 0, v).astype(np.int32), pa.date32(), mask=v == NA)
        elif col.dtype is DType.DATETIME:
            v = np.asarray(v, dtype=np.int64)
            arr = pa.array(np.where(v == NA, 0, v), pa.timestamp("us"), mask=v == NA)
        elif col.dtype is DType.BOOLEAN:
            v = np.asarray(v)
            arr = pa.array(v == 1, pa.bool_(), mask=(v < 0) if v.dtype != bool else None)
        elif col.dtype is DType.INTEGER:
            arr = pa.array(np.asarray(v, dtype=np.int64), pa.int64())
        else:
            v = np.asarray(v, dtype=float)
            arr = pa.array(v, pa.float64(), mask=np.isnan(v))
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=schema)


def write(table: pa.Table, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        # Identifiers are (nearly) unique: dictionary-encoding them would be wasted work.
        coded = [name for name in table.column_names if name not in ID_PREFIX]
        pq.write_table(table, path, compression="snappy", use_dictionary=coded)
    else:
        # Times of day to the second; empty = null; booleans true/false; ISO dates.
        for i, field in enumerate(table.schema):
            if pa.types.is_timestamp(field.type):
                table = table.set_column(i, field.name, table.column(i).cast(pa.timestamp("s")))
        with open(path, "wb") as fh:
            fh.write((",".join(table.column_names) + "\n").encode("utf-8"))
            pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="needed"))


class TableWriter:
    """Converts and writes tables on background threads, so that writing overlaps with the
    simulation of the next tables (numpy and Arrow release the GIL for the heavy work)."""

    def __init__(self, out: Path, fmt: str, county_codes: list[str], threads: int = 1):
        self.out, self.fmt, self.county_codes = Path(out), fmt, list(county_codes)
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="synth-writer")
        self.pending: dict[str, Future] = {}

    def submit(self, name: str, cols: dict[str, np.ndarray]) -> None:
        self.pending[name] = self.pool.submit(self._write, name, cols)

    def _write(self, name: str, cols: dict[str, np.ndarray]) -> int:
        table = to_arrow(name, cols, self.county_codes)
        write(table, self.out / f"{name}.{self.fmt}", self.fmt)
        return table.num_rows

    def rows(self, name: str) -> int:
        """Wait for a table to be written; its row count."""
        return self.pending.pop(name).result()

    def __enter__(self) -> "TableWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
