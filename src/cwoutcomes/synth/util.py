"""Small vectorised helpers shared by the simulator: random streams, day arithmetic and
grouped-array tricks. Days are integers counted from 1970-01-01 (numpy `datetime64[D]`)."""

from __future__ import annotations

import datetime as dt
import zlib

import numpy as np

# Null marker for integer-coded columns (days, ids, code indices).
NA = np.int64(np.iinfo(np.int32).min)
# "Never" for latent event times (far beyond any extract date).
NEVER = np.int64(10_000_000)
DAY_SECONDS = 86_400


def stream(seed: int, stage: str) -> np.random.Generator:
    """An independent, reproducible random stream for one stage of the simulation."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(stage.encode())])


def day(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


# Calendar lookup tables (days 1850-01-01 .. 2250-12-31): integer indexing is much faster than
# numpy's datetime conversions. Days outside the range are clipped to it (only latent "never"
# times fall outside, and only their year is ever asked for).
_D0, _D1 = day(dt.date(1850, 1, 1)), day(dt.date(2251, 1, 1))
_DAYS = np.arange(_D0, _D1, dtype=np.int64).astype("datetime64[D]")
_MONTH = _DAYS.astype("datetime64[M]").astype(np.int64)            # months since 1970-01
_YEAR = _DAYS.astype("datetime64[Y]").astype(np.int64) + 1970
_M0 = int(_MONTH[0])
_MONTH_FIRST = np.arange(_M0, int(_MONTH[-1]) + 2).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
del _DAYS


def _ix(days) -> np.ndarray:
    return np.clip(np.asarray(days, dtype=np.int64) - _D0, 0, _D1 - _D0 - 1)


def add_years(days: np.ndarray, years: int) -> np.ndarray:
    """The same calendar day `years` later; Feb 29 becomes Mar 1 in a non-leap year (G18.1)."""
    days = np.asarray(days, dtype=np.int64)
    month = _MONTH[_ix(days)]
    first = _MONTH_FIRST[month - _M0]
    return _MONTH_FIRST[np.clip(month + 12 * years - _M0, 0, len(_MONTH_FIRST) - 1)] + (days - first)


def year_of(days: np.ndarray) -> np.ndarray:
    return _YEAR[_ix(days)]


def year_start(year: int) -> int:
    return day(dt.date(int(year), 1, 1))


def month_index(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of each day."""
    return _MONTH[_ix(days)]


def month_first_day(months: np.ndarray) -> np.ndarray:
    return _MONTH_FIRST[np.asarray(months, dtype=np.int64) - _M0]


def weights(codes: tuple[str, ...], shares: dict[str, float]) -> np.ndarray:
    """A probability vector over a model code list, from shares given by code name (others 0)."""
    unknown = set(shares) - set(codes)
    if unknown:
        raise ValueError(f"not codes of the model: {sorted(unknown)}")
    return np.array([shares.get(c, 0.0) for c in codes])


def choice(rng: np.random.Generator, p, size: int) -> np.ndarray:
    """Indices drawn from one probability vector (normalised here)."""
    p = np.asarray(p, dtype=float)
    cum = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cum, rng.random(size), side="right"), len(p) - 1).astype(np.int64)


def choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One index per row of an (n, k) matrix of (unnormalised) probabilities."""
    probs = np.asarray(probs, dtype=float)
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), probs.shape[1] - 1).astype(np.int64)


def within(counts: np.ndarray) -> np.ndarray:
    """For groups of the given sizes laid end to end: each element's position in its group."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - starts


def expand(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row index of each group element and the element's index `starts[row] + position`."""
    counts = np.asarray(counts, dtype=np.int64)
    rows = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    return rows, np.asarray(starts, dtype=np.int64)[rows] + within(counts)


def lognormal_days(rng: np.random.Generator, median, sigma, size: int) -> np.ndarray:
    return np.asarray(median, dtype=float) * np.exp(sigma * rng.standard_normal(size))


def logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


def logit(p):
    p = np.asarray(p, dtype=float)
    return np.log(p / (1.0 - p))


def concat(parts: list[np.ndarray], dtype=np.int64) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


def first_per_group(groups: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """For `groups` sorted: `mask` kept only on the first masked element of each group."""
    idx = np.flatnonzero(mask)
    keep = np.ones(len(idx), dtype=bool)
    keep[1:] = groups[idx[1:]] != groups[idx[:-1]]
    out = np.zeros(len(mask), dtype=bool)
    out[idx[keep]] = True
    return out
