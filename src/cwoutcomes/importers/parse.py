"""Reading federal text files into columns of raw strings, and turning raw strings into typed
values, vectorised over whole files.

Every parser returns the parsed values together with a mask of the values that were present but
not valid, so that callers can list each bad value in the rejects with its file, line and field
instead of silently treating it as missing.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

# Missing values: blank, and the "." that SAS-made research extracts use.
_MISSING = {"", "."}


class UnreadableFile(Exception):
    """The file cannot be read at all (missing, a directory, binary, no header)."""


def read_lines(path: Path) -> list[str]:
    """The file's lines without line ends. Federal files are ASCII; Latin-1 decoding never fails,
    so stray bytes reach the field checks (and the rejects) instead of aborting the file."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise UnreadableFile("file not found") from None
    except IsADirectoryError:
        raise UnreadableFile("is a directory, not a file") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot be read ({exc.strerror or exc})") from None
    if b"\x00" in data[:65536]:
        raise UnreadableFile("binary file (contains NUL bytes), not a text export")
    text = data.decode("latin-1")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def delimited_columns(lines: list[str], wanted: dict[str, tuple[str, ...]], *, delimiter: str = "\t"):
    """Parse a delimited file whose first non-blank line is a header.

    `wanted` maps our name of a field to the header names it may have (case-insensitive).
    Returns (frame, bad_lines, header_names): the frame has a `line` column (1-based line number)
    and one string column per wanted field found in the header; `bad_lines` lists
    (line number, number of fields) of lines whose field count differs from the header's.
    """
    header_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_index is None:
        raise UnreadableFile("empty file")
    header = [h.strip() for h in lines[header_index].split(delimiter)]
    if len(header) < 2:
        raise UnreadableFile("no tab-delimited header line (is this the fixed-width layout?)")
    position = {h.lower(): i for i, h in reversed(list(enumerate(header)))}
    found: dict[str, int] = {}
    for name, aliases in wanted.items():
        for alias in aliases:
            if alias.lower() in position:
                found[name] = position[alias.lower()]
                break
    separators = len(header) - 1
    good: list[int] = []
    bad: list[tuple[int, int]] = []
    for i in range(header_index + 1, len(lines)):
        line = lines[i]
        count = line.count(delimiter)
        if count == separators:
            good.append(i)
        elif line.strip():
            bad.append((i + 1, count + 1))
    if good:
        body = "\n".join(lines[i] for i in good).encode("utf-8")
        column_names = [f"c{i}" for i in range(len(header))]
        table = pa_csv.read_csv(
            io.BytesIO(body),
            read_options=pa_csv.ReadOptions(column_names=column_names, block_size=1 << 26),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, quote_char=False,
                                              ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={f"c{i}": pa.string() for i in found.values()},
                include_columns=[f"c{i}" for i in found.values()],
                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        frame = pd.DataFrame({name: _trimmed(table.column(f"c{i}")) for name, i in found.items()})
    else:
        frame = pd.DataFrame({name: pd.Series(dtype=object) for name in found})
    frame.insert(0, "line", np.asarray(good, dtype=np.int64) + 1)
    return frame, bad, header


def fixed_width_columns(records: list[str], layout: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Slice fixed-width records by 1-based inclusive (start, end) positions."""
    array = pa.array(records, type=pa.string())
    return pd.DataFrame({
        name: _trimmed(pc.utf8_slice_codeunits(array, start - 1, end))
        for name, (start, end) in layout.items()
    })


def _trimmed(array) -> np.ndarray:
    return pc.utf8_trim_whitespace(array).to_numpy(zero_copy_only=False).astype(object)


def _normalise(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Stripped text and a mask of missing values."""
    text = raw.astype(object).where(raw.notna(), "").astype(str).str.strip()
    return text, text.isin(_MISSING)


_DATE_FORMATS = (
    (re.compile(r"^\d{8}$"), "%Y%m%d"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}"), "%Y-%m-%d"),
    (re.compile(r"^\d{1,2}/\d{1,2}/\d{4}"), "%m/%d/%Y"),
)


def parse_dates(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates as datetime64 (NaT when missing or bad) and a mask of bad (present, invalid) values.
    Accepts the federal ccyymmdd and the ISO / US forms research extracts use."""
    text, missing = _normalise(raw)
    result = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[s]")
    for pattern, fmt in _DATE_FORMATS:
        match = text.str.match(pattern) & ~missing
        if match.any():
            head = text[match].str.split(" ", n=1).str[0].str.split("T", n=1).str[0]
            result[match] = pd.to_datetime(head, format=fmt, errors="coerce")
    bad = ~missing & result.isna()
    return result, bad


_INTEGER = re.compile(r"^[+-]?\d+(\.0*)?$")


def parse_codes(raw: pd.Series, allowed) -> tuple[pd.Series, pd.Series]:
    """Integer codes normalised without leading zeros ("01" -> "1"; NDACAN writes them bare).
    Returns the normalised code (None when missing or bad) and the bad mask."""
    text, missing = _normalise(raw)
    numeric = text.str.match(_INTEGER) & ~missing
    normal = text.copy()
    normal[numeric] = text[numeric].str.split(".", n=1).str[0].astype(np.int64).astype(str)
    ok = normal.isin(set(allowed)) & ~missing
    values = normal.where(ok, None)
    return values, ~missing & ~ok


def parse_ints(raw: pd.Series, low: int, high: int) -> tuple[pd.Series, pd.Series]:
    """Integers in [low, high] as a nullable Int64 series, and the bad mask."""
    text, missing = _normalise(raw)
    numeric = text.str.match(_INTEGER) & ~missing
    values = pd.Series(pd.NA, index=raw.index, dtype="Int64")
    values[numeric] = text[numeric].str.split(".", n=1).str[0].astype(np.int64)
    ok = numeric & values.between(low, high).fillna(False)
    values = values.where(ok, pd.NA)
    return values, ~missing & ~ok


def texts(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Stripped text (None when missing) and the missing mask."""
    text, missing = _normalise(raw)
    return text.where(~missing, None), missing


def county_codes(raw: pd.Series, state_fips: pd.Series) -> tuple[pd.Series, pd.Series]:
    """5-digit county FIPS codes (state + county) and the bad mask. Research extracts drop the
    leading zero ("6037"); a county code without state ("37", "037", or zero-padded "00037": no
    state has FIPS 00) is completed with the record's state. County part 000 means "not
    reported": null, not an error. A code of another state is an error."""
    text, missing = texts(raw)
    text = text.fillna("")
    digits = text.str.fullmatch(r"\d{1,5}")
    full = text.where(~(digits & (text.str.len() == 4)), "0" + text)
    county_only = digits & ((text.str.len() <= 3) | ((text.str.len() == 5) & text.str.startswith("00")))
    full = full.where(~county_only, state_fips + text.str[-3:].str.zfill(3))
    ok = digits & (full.str[:2] == state_fips) & (full.str[2:] != "000")
    unreported = digits & (full.str[2:] == "000")
    return full.where(ok, None), ~missing & ~ok & ~unreported
