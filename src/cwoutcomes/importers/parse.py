"""Reading federal text files into columns of raw strings, and turning raw strings into typed
values, vectorised over whole files.

Every parser returns the parsed values together with a mask of the values that were present but
not valid, so that callers can list each bad value in the rejects with its file, line and field
instead of silently treating it as missing.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

# Missing values: blank, and the "." that SAS-made research extracts use.
_MISSING = ["", "."]


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
        frame = pd.DataFrame({name: _trimmed(table.column(f"c{i}").combine_chunks())
                              for name, i in found.items()})
    else:
        frame = pd.DataFrame({name: pd.Series(dtype=STRING) for name in found})
    frame.insert(0, "line", np.asarray(good, dtype=np.int64) + 1)
    return frame, bad, header


def fixed_width_columns(records: list[str], layout: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Slice fixed-width records by 1-based inclusive (start, end) positions."""
    array = pa.array(records, type=pa.string())
    return pd.DataFrame({
        name: _trimmed(pc.utf8_slice_codeunits(array, start - 1, end))
        for name, (start, end) in layout.items()
    })


STRING = "string[pyarrow]"  # Arrow-backed: .str methods run as Arrow kernels, not Python loops


def _trimmed(array) -> pd.Series:
    return pd.Series(pc.utf8_trim_whitespace(array), dtype=STRING)


def strings(raw: pd.Series) -> pd.Series:
    """Raw values as stripped Arrow strings, missing as ""."""
    if raw.dtype != STRING:
        raw = raw.astype(object).where(raw.notna(), "").astype(STRING)
    return raw.fillna("").str.strip()


def _normalise(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Stripped text and a mask (numpy bool) of missing values."""
    text = strings(raw)
    return text, text.isin(_MISSING).to_numpy(dtype=bool)


def _mask(values: pd.Series) -> np.ndarray:
    return values.fillna(False).to_numpy(dtype=bool)


def as_mask(values) -> np.ndarray:
    """Any boolean-ish Series or array as a numpy bool array (missing = False)."""
    if isinstance(values, np.ndarray):
        return values.astype(bool)
    return pd.Series(values).fillna(False).to_numpy(dtype=bool)


_DATE_FORMATS = (
    (r"^\d{8}$", "%Y%m%d", 8),
    (r"^\d{4}-\d{2}-\d{2}", "%Y-%m-%d", 10),
    (r"^\d{1,2}/\d{1,2}/\d{4}", "%m/%d/%Y", 10),
)


def parse_dates(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates as datetime64 (NaT when missing or bad) and a mask of bad (present, invalid) values.
    Accepts the federal ccyymmdd and the ISO / US forms research extracts use (a time of day
    after the date is ignored)."""
    text, missing = _normalise(raw)
    result = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[s]")
    for pattern, fmt, width in _DATE_FORMATS:
        match = _mask(text.str.match(pattern)) & ~missing
        if match.any():
            head = text[match].str.split(" ", n=1).str[0] if fmt == "%m/%d/%Y" else text[match].str.slice(0, width)
            result[match] = pd.to_datetime(head.astype(object), format=fmt, errors="coerce")
    bad = pd.Series(~missing & result.isna().to_numpy(), index=raw.index)
    return result, bad


_INTEGER = r"^[+-]?\d+(\.0*)?$"


def _integers(text: pd.Series, numeric: np.ndarray) -> pd.Series:
    """Canonical integer text ("007" -> "7", "1.0" -> "1") where `numeric`, else unchanged."""
    arrow = pa.array(text, type=pa.string())
    if pc.any(pc.match_substring(arrow, ".")).as_py():
        arrow = pc.replace_substring_regex(arrow, r"\.0*$", "")
    trimmed = pc.utf8_ltrim(pc.utf8_ltrim(arrow, "+"), "0")
    trimmed = pc.if_else(pc.equal(trimmed, ""), "0", trimmed)
    out = pd.Series(pc.if_else(pa.array(numeric), trimmed, arrow), index=text.index, dtype=STRING)
    return out


def parse_codes(raw: pd.Series, allowed) -> tuple[pd.Series, pd.Series]:
    """Integer codes normalised without leading zeros ("01" -> "1"; NDACAN writes them bare).
    Returns the normalised code (object, None when missing or bad) and the bad mask."""
    text, missing = _normalise(raw)
    numeric = _mask(text.str.match(_INTEGER)) & ~missing & ~_mask(text.str.startswith("-"))
    normal = _integers(text, numeric)
    ok = _mask(normal.isin(set(allowed))) & ~missing
    values = normal.astype(object).where(ok, None)
    return values, pd.Series(~missing & ~ok, index=raw.index)


def parse_ints(raw: pd.Series, low: int, high: int) -> tuple[pd.Series, pd.Series]:
    """Integers in [low, high] as a nullable Int64 series, and the bad mask."""
    text, missing = _normalise(raw)
    numeric = _mask(text.str.match(_INTEGER)) & ~missing
    values = pd.Series(pd.NA, index=raw.index, dtype="Int64")
    if numeric.any():
        values[numeric] = pd.to_numeric(text[numeric].astype(object)).astype("int64")
    ok = numeric & _mask(values.between(low, high))
    values = values.where(ok, pd.NA)
    return values, pd.Series(~missing & ~ok, index=raw.index)


def texts(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Stripped text (object, None when missing) and the missing mask."""
    text, missing = _normalise(raw)
    return text.astype(object).where(~missing, None), pd.Series(missing, index=raw.index)


def county_codes(raw: pd.Series, state_fips: pd.Series) -> tuple[pd.Series, pd.Series]:
    """5-digit county FIPS codes (state + county) and the bad mask. Research extracts drop the
    leading zero ("6037"); a county code without state ("37", "037", or zero-padded "00037": no
    state has FIPS 00) is completed with the record's state. County part 000 means "not
    reported": null, not an error. A code of another state is an error."""
    text, missing = _normalise(raw)
    state_fips = strings(state_fips)
    digits = _mask(text.str.fullmatch(r"\d{1,5}"))
    length = text.str.len().to_numpy()
    full = text.where(~(digits & (length == 4)), "0" + text)
    county_only = digits & ((length <= 3) | ((length == 5) & _mask(text.str.startswith("00"))))
    full = full.where(~county_only, state_fips + text.str.slice(-3).str.pad(3, fillchar="0"))
    state_ok = _mask(full.str.slice(0, 2) == state_fips)
    unreported = digits & _mask(full.str.slice(2) == "000")
    ok = digits & state_ok & ~unreported
    return full.astype(object).where(ok, None), pd.Series(~missing & ~ok & ~unreported, index=raw.index)
