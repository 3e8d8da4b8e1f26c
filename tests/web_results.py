"""A small hand-made results table for the web tests (API, pages, browser), with the answers
worked out by hand in the comments, and helpers to build the app and sign users in.

Measure 4-P1 (percent, higher is better, national standard 35.2), windows 2024Q3 and 2024Q4,
the state and three counties: 06001 Alameda, 06019 Fresno, 06037 Los Angeles.

2024Q4, stratum all:
  state  235/550 = 42.727...%   public: shown
  06001   30/100 = 30.0%        public: masked (complementary: the one other small county set
                                member is 06019, so the next smallest numerator, 06001's 30,
                                is masked with it)
  06019    5/50  = 10.0%        public: masked (numerator 5 is 1-10)
  06037  200/400 = 50.0%        public: shown
2024Q4, sex:
  06001 female 12/60 = 20.0%, male 18/40 = 45.0%      public: both shown
  06037 female 4/150 = 2.667%, male 196/250 = 78.4%   public: female masked (4), male masked
                                                      too (the only other cell)
2024Q3, stratum all:
  state  200/500 = 40.0%, 06001 40/100 = 40.0%, 06037 157/392 = 40.05...%,
  06019  3/8, status data_quality (value blank): public hides the counts 3 and 8 as well and,
         since the state total minus the others would give them back, masks the next smallest
         county, 06001 (40), too; 06037 stays shown.

G17 for 06001 2024Q4: 30.0 < 35.2, not met; percent of standard 30/35.2 = 85.227...%.
Measure 4-S1 (per 100,000 days, lower is better, 9.07) for the state in 2024Q4: 12 victimisations
in 100,000 days = 12.0; not met; percent of standard 9.07/12 = 75.583...%. In 2024Q3 its
numerator is 9, so the public view masks even the state cell."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from argon2 import PasswordHasher

from cwoutcomes.web import create_app
from cwoutcomes.web.appdb import AppDatabase
from cwoutcomes.web.store import ResultsStore

PERIODS = {"2024Q3": (dt.date(2023, 10, 1), dt.date(2024, 9, 30)),
           "2024Q4": (dt.date(2024, 1, 1), dt.date(2024, 12, 31))}
PASSWORDS = {"sally": "state-password-1", "alex": "county-password-1"}
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # tests only


def _row(measure, window, county, stratum, value, num, den, status="ok"):
    unit, standard, scale = {"4-P1": ("percent", 35.2, 100.0), "4-S1": ("per_100k_days", 9.07, 100_000.0)}[measure]
    start, end = PERIODS[window]
    val = num / den * scale if den and status in ("ok", "incomplete") else float("nan")
    return {
        "measure_id": measure, "measure_version": "cfsr4", "period_type": "year", "period_label": window,
        "period_start": start, "period_end": end, "county": county, "stratum": stratum,
        "stratum_value": value, "numerator": float(num), "denominator": float(den), "value": val,
        "unit": unit, "status": status, "national_standard": standard, "target": float("nan"),
        "ci_lower": val * 0.8 if val == val else float("nan"), "ci_upper": val * 1.2 if val == val else float("nan"),
        "reference_median": float("nan"),
    }


def results_frame() -> pd.DataFrame:
    rows = [
        _row("4-P1", "2024Q4", "state", "all", "all", 235, 550),
        _row("4-P1", "2024Q4", "06001", "all", "all", 30, 100),
        _row("4-P1", "2024Q4", "06019", "all", "all", 5, 50),
        _row("4-P1", "2024Q4", "06037", "all", "all", 200, 400),
        _row("4-P1", "2024Q4", "06001", "sex", "female", 12, 60),
        _row("4-P1", "2024Q4", "06001", "sex", "male", 18, 40),
        _row("4-P1", "2024Q4", "06037", "sex", "female", 4, 150),
        _row("4-P1", "2024Q4", "06037", "sex", "male", 196, 250),
        _row("4-P1", "2024Q3", "state", "all", "all", 200, 500),
        _row("4-P1", "2024Q3", "06001", "all", "all", 40, 100),
        _row("4-P1", "2024Q3", "06019", "all", "all", 3, 8, status="data_quality"),
        _row("4-P1", "2024Q3", "06037", "all", "all", 157, 392),
        _row("4-S1", "2024Q4", "state", "all", "all", 12, 100_000),
        _row("4-S1", "2024Q3", "state", "all", "all", 9, 100_000),
    ]
    return pd.DataFrame(rows)


def quality_frame() -> pd.DataFrame:
    """Two checks of Fresno (06019) in the period from 2024-04-01: 3 of 8 episodes without a
    placement (37.5% > 5%: failed) and 0 of 8 births after removal (passed)."""
    return pd.DataFrame([
        {"county": "06019", "dq_start": dt.date(2024, 4, 1), "failing": 3, "total": 8, "check": "no_placement",
         "rate": 0.375, "limit": 0.05, "passed": False, "description": "episodes with no placement",
         "of": "episodes active in the period"},
        {"county": "06019", "dq_start": dt.date(2024, 4, 1), "failing": 0, "total": 8,
         "check": "birth_after_removal", "rate": 0.0, "limit": 0.05, "passed": True,
         "description": "birth after removal", "of": "episodes active in the period"},
    ])


def make_store(with_quality: bool = True) -> ResultsStore:
    return ResultsStore.from_frame(results_frame(), source="handmade.parquet",
                                   quality=quality_frame() if with_quality else None)


def make_app(tmp_path, *, secure_cookies: bool = False, with_quality: bool = True):
    """The app over the hand-made results, with a state user `sally`, a county user `alex`
    (Alameda, 06001) and API tokens for both: returns (app, db, tokens)."""
    db = AppDatabase(tmp_path / "app.sqlite", hasher=FAST_HASHER)
    db.add_user("sally", "state", password=PASSWORDS["sally"])
    db.add_user("alex", "county", ["06001"], password=PASSWORDS["alex"])
    tokens = {"sally": db.issue_token("sally"), "alex": db.issue_token("alex")}
    return create_app(make_store(with_quality), db, secure_cookies=secure_cookies), db, tokens
