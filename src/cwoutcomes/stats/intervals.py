"""Confidence intervals for measure values (measures.md §6), vectorised over result rows."""

from __future__ import annotations

import numpy as np
from scipy import stats


def wilson_interval(successes, trials, confidence: float = 0.95):
    """Wilson score interval for a proportion, as fractions in [0, 1]; NaN where trials == 0."""
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = stats.norm.ppf(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        phat = k / n
        centre = (phat + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    valid = n > 0
    return np.where(valid, np.clip(centre - half, 0, 1), np.nan), np.where(valid, np.clip(centre + half, 0, 1), np.nan)


def poisson_rate_interval(events, exposure, confidence: float = 0.95):
    """Exact (Garwood, chi-square) interval for events / exposure; NaN where exposure == 0."""
    k = np.asarray(events, dtype=float)
    t = np.asarray(exposure, dtype=float)
    alpha = 1 - confidence
    lower_count = np.where(k > 0, stats.chi2.ppf(alpha / 2, 2 * k) / 2, 0.0)
    upper_count = stats.chi2.ppf(1 - alpha / 2, 2 * (k + 1)) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        valid = t > 0
        return np.where(valid, lower_count / t, np.nan), np.where(valid, upper_count / t, np.nan)
