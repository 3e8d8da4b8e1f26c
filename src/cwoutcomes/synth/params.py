"""The simulator's calibration constants, in one place. Scale 1 is California; the values were
tuned (docs/benchmarks.md, "Synthetic data") so that the statewide CFSR Round 4 results land near
California's published ones. Probabilities by age use the age groups of `AGE_EDGES`."""

from __future__ import annotations

import numpy as np

# Years of history simulated before `start` so that the foster-care caseload on `start` is in
# steady state (children in care 24 months or more, extended foster care to 21).
BURN_IN_YEARS = 10

# ---- population (population table) -------------------------------------------------------
RACES = ("hispanic", "aian", "asian", "black", "nhpi", "white", "multiracial")
# Child-population mix by region (shares of RACES).
REGION_RACE_MIX = {
    "Bay Area": (0.36, 0.003, 0.24, 0.05, 0.005, 0.27, 0.072),
    "Central": (0.55, 0.008, 0.08, 0.05, 0.004, 0.26, 0.058),
    "Los Angeles": (0.61, 0.002, 0.11, 0.07, 0.002, 0.16, 0.046),
    "Northern": (0.27, 0.035, 0.03, 0.015, 0.003, 0.58, 0.067),
    "Southern": (0.52, 0.005, 0.09, 0.05, 0.005, 0.27, 0.060),
}
# Statewide child population trend (births fell): multiplier by years after 2015.
POPULATION_TREND_PER_YEAR = -0.008
# Relative size of single-year ages 0..17 (slightly fewer young children than teens).
AGE_WEIGHTS = np.linspace(0.93, 1.05, 18)

# ---- county effects (log scale standard deviations) ---------------------------------------
COUNTY_EFFECT_SD = {
    "referral": 0.25,   # allegation rate
    "entry": 0.30,      # removal given substantiation
    "recurrence": 0.25, # re-referral and substantiation of known families
    "permanency": 0.15, # exit hazards to permanency
    "stability": 0.25,  # placement move hazard
    "safety": 0.30,     # maltreatment in care
    "practice": 0.45,   # uptake of Core Practice Model practices
    "visits": 0.6,      # caseworker visit completeness (logit scale)
}

# ---- families and referrals -------------------------------------------------------------
# New families first reported per year per child in the population (scale 1).
NEW_FAMILIES_PER_CHILD = 0.0136
# Statewide trend in reports: multiplier by calendar year (COVID dip in 2020).
REPORT_TREND = {2020: 0.91, 2021: 0.96}
REPORT_TREND_PER_YEAR = -0.005
# Race of child-welfare families relative to the population mix (disproportionality).
RACE_WEIGHTS = (1.0, 2.6, 0.35, 2.6, 1.3, 1.0, 1.2)
RISK_SHAPE = 0.7                       # family risk ~ Gamma(shape, 1/shape): mean 1
KIDS_PER_FAMILY = (0.30, 0.28, 0.20, 0.12, 0.06, 0.04)  # 1..6 children
MEAN_RE_REFERRALS = 1.10               # expected later reports per family of risk 1
RE_REFERRAL_MEDIAN_DAYS = 260.0
RE_REFERRAL_SIGMA = 1.05
NEWBORN_AT_FIRST_REPORT = 0.10         # first report is about a newborn
LATER_BIRTH = 0.28                     # family has another child after its first report
BIRTH_REPORT = 0.35                    # ... and that birth is reported

RESPONSE_P = (0.22, 0.49, 0.27, 0.02)  # immediate, ten_day, evaluated_out, other
FOUNDED_LOGIT = -1.60                  # in-person referral has a substantiated child
FOUNDED_RISK_SLOPE = 0.55              # per log(risk)
SIBLING_SUBSTANTIATED = 0.72
# Removal of the focus child given substantiation, by age group.
AGE_EDGES = np.array([1, 6, 11, 16])   # groups <1, 1-5, 6-10, 11-15, 16-17
REMOVAL_P = np.array([0.415, 0.208, 0.167, 0.253, 0.293])
REMOVAL_RISK_SLOPE = 0.35
REMOVAL_TREND_PER_YEAR = 0.004         # log-odds per year after 2015
FATALITY_P = 0.0036                    # substantiated child under 5

# ---- foster care -------------------------------------------------------------------------
TOGETHER_P = 0.55                      # a removed sibling joins the first sibling's case
SHORT_STAY_P = np.array([0.05, 0.07, 0.08, 0.10, 0.12])
REUNIFY_P = np.array([0.50, 0.62, 0.64, 0.58, 0.48])
REUNIFY_MEDIAN = np.array([445.0, 395.0, 375.0, 355.0, 310.0])
REUNIFY_SIGMA = 0.80
TPR_P = np.array([0.40, 0.30, 0.16, 0.06, 0.02])
TPR_MEDIAN, TPR_SIGMA = 520.0, 0.35
ADOPT_AFTER_TPR_P, ADOPT_MEDIAN, ADOPT_SIGMA = 0.93, 270.0, 0.55
GUARDIAN_P = np.array([0.15, 0.21, 0.29, 0.30, 0.20])
GUARDIAN_MEDIAN, GUARDIAN_SIGMA = 540.0, 0.50
OTHER_EXIT_MEAN_DAYS = 40 * 365.0      # transfer, other, death
RUNAWAY_EXIT_MEAN_DAYS = 12 * 365.0    # youth 13 and older at removal
LATE_START_DAYS = 730.0
LATE_MEAN_DAYS = np.array([3.1, 3.1, 3.8, 6.5, 10.0]) * 365.0  # steady permanency hazard of long stays
LATE_ADOPTION_MAX_AGE = 9              # below this age at exit a late permanency is an adoption
STAY_PAST_18_P = 0.85                  # extended foster care after the 18th birthday
STAY_TO_21_P = 0.5                     # ... of those, until the 21st birthday
CFT_REUNIFY_SPEEDUP = 0.85             # early CFT meeting: reunification time x
REENTRY_P = {"reunification": 0.05, "guardianship": 0.015}
REENTRY_MEDIAN_DAYS, REENTRY_SIGMA = 130.0, 0.9
CFT_REENTRY = 0.75                     # early CFT meeting: re-entry probability x
AFTERCARE_REENTRY = 0.70               # after-care safety plan with network: x
PROBATION_ENTRIES_PER_CHILD = 0.00016  # per child per year (scale 1)

# ---- practice uptake (Core Practice Model rollout) ---------------------------------------
def practice_ramp(year: np.ndarray) -> np.ndarray:
    """Statewide share of the eventual practice level reached in a calendar year."""
    return np.clip(0.35 + 0.13 * (np.asarray(year) - 2015), 0.35, 1.0)


CFT_P = 0.68          # at full uptake, CFT meeting within 60 days of removal
AFTERCARE_P = 0.55    # after-care safety plan before reunification
