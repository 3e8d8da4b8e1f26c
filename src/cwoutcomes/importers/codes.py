"""Translations between federal file codes (AFCARS 1993 foster-care file, NCANDS child file) and
the canonical codes of the data model, in both directions.

Every canonical code used here is checked against the model's code lists when this module is
imported, so a renamed code in `model/tables.py` fails loudly instead of producing rows the
loader rejects. Sources and confidence: `reference/input-formats.md` §1.2 (AFCARS, primary) and
§3.3 (NCANDS, peer code); the choices where a federal code has no canonical twin (or the other
way round) are listed in `docs/decisions.md`.
"""

from __future__ import annotations

from cwoutcomes.model.tables import TABLES

# --- states -------------------------------------------------------------------------------------
# AFCARS identifies the state by its FIPS number, NCANDS (StaTerr) by its postal abbreviation;
# child ids carry the abbreviation so that the two files meet on the same key.
STATE_FIPS_TO_ABBR = {
    "01": "AL", "02": "AK", "04": "AZ", "05": "AR", "06": "CA", "08": "CO", "09": "CT", "10": "DE",
    "11": "DC", "12": "FL", "13": "GA", "15": "HI", "16": "ID", "17": "IL", "18": "IN", "19": "IA",
    "20": "KS", "21": "KY", "22": "LA", "23": "ME", "24": "MD", "25": "MA", "26": "MI", "27": "MN",
    "28": "MS", "29": "MO", "30": "MT", "31": "NE", "32": "NV", "33": "NH", "34": "NJ", "35": "NM",
    "36": "NY", "37": "NC", "38": "ND", "39": "OH", "40": "OK", "41": "OR", "42": "PA", "44": "RI",
    "45": "SC", "46": "SD", "47": "TN", "48": "TX", "49": "UT", "50": "VT", "51": "VA", "53": "WA",
    "54": "WV", "55": "WI", "56": "WY", "72": "PR",
}
STATE_ABBR_TO_FIPS = {abbr: fips for fips, abbr in STATE_FIPS_TO_ABBR.items()}

# --- AFCARS foster care file (TB#1 element numbers) -----------------------------------------------
AFCARS_SEX = {"1": "male", "2": "female"}
# Element 8a-f in file order; the canonical race each flag stands for.
AFCARS_RACE_FLAGS = {
    "AMIAKN": "aian", "ASIAN": "asian", "BLKAFRAM": "black", "HAWAIIPI": "nhpi", "WHITE": "white",
}
AFCARS_RACE_UNKNOWN_FLAG = "UNTODETM"
# Element 41 CURPLSET. Institutions fold into group_home because the model's group_home covers
# "group home, STRTP, institution".
AFCARS_SETTING = {
    "1": "pre_adoptive", "2": "kin", "3": "foster_home", "4": "group_home", "5": "group_home",
    "6": "supervised_independent_living", "7": "runaway", "8": "trial_home_visit",
}
# Element 58 DISREASN; 0 = "not applicable" (no discharge) is handled by the caller.
AFCARS_DISCHARGE = {
    "1": "reunification", "2": "living_with_relative", "3": "adoption", "4": "emancipation",
    "5": "guardianship", "6": "transfer", "7": "runaway", "8": "death",
}

# Export direction. Settings the federal list lacks go to the nearest AFCARS setting (CB policy
# manual 1.2B.7 Q4: a shelter is coded as the placement it most resembles; an FFA home is a
# licensed non-relative foster family home). Respite has no code: the exporter shows the setting
# the child returns to instead.
AFCARS_SETTING_OUT = {
    "pre_adoptive": "1", "kin": "2", "foster_home": "3", "ffa_home": "3", "group_home": "4",
    "shelter": "5", "other": "5", "supervised_independent_living": "6", "runaway": "7",
    "trial_home_visit": "8",
    # A guardian home inside an open episode is a family home; which of 2/3 is decided by
    # caregiver_relative in the exporter (default non-relative).
    "guardian": "3",
}
# `other` has no discharge code: it is written blank, so it comes back as an exit without a
# reason (flagged R9 by the loader), which is what the federal file would show.
AFCARS_DISCHARGE_OUT = {reason: code for code, reason in AFCARS_DISCHARGE.items()}

# --- NCANDS child file ---------------------------------------------------------------------------
NCANDS_SEX = {"1": "male", "2": "female", "9": "unknown"}
NCANDS_RACE_FLAGS = {
    "CHRACAI": "aian", "CHRACAS": "asian", "CHRACBL": "black", "CHRACNH": "nhpi", "CHRACWH": "white",
}
NCANDS_RACE_UNKNOWN_FLAG = "CHRACUD"
# ChMalN. 6 "no alleged maltreatment" (and blank) makes no allegation row. Medical neglect has no
# canonical twin; it is a kind of neglect, and the model's severity order puts general neglect
# below severe neglect, so the milder reading is used.
NCANDS_MALTREATMENT = {
    "1": "physical_abuse", "2": "general_neglect", "3": "general_neglect", "4": "sexual_abuse",
    "5": "emotional_abuse", "7": "exploitation", "8": "other", "9": "other",
}
NCANDS_NO_MALTREATMENT = "6"
# MalNLev. Federal victim = 1 or 2 (and a maltreatment death); alternative-response and
# "closed - no finding" outcomes carry no investigative finding, which the model calls
# inconclusive. 8 "no alleged maltreatment" makes no allegation row.
NCANDS_DISPOSITION = {
    "1": "substantiated", "2": "indicated", "3": "inconclusive", "4": "inconclusive",
    "5": "unfounded", "6": "unfounded", "7": "inconclusive", "88": "inconclusive",
    "99": "inconclusive",
}
NCANDS_LEVEL_NO_MALTREATMENT = "8"
# PerNRel. 33 = foster parent, relationship unknown.
NCANDS_PERPETRATOR = {
    "1": "parent", "2": "relative", "3": "foster_parent", "4": "foster_parent",
    "5": "facility_staff", "6": "other", "7": "other", "8": "other", "9": "other", "10": "other",
    "33": "foster_parent", "88": "other", "99": "unknown",
}
# One allegation row carries one perpetrator type; with several perpetrators on a maltreatment
# the one that decides the in-care measures (foster parent, facility staff) is kept first.
PERPETRATOR_PRIORITY = ("foster_parent", "facility_staff", "parent", "relative", "other", "unknown")

NCANDS_MALTREATMENT_OUT = {
    "physical_abuse": "1", "severe_neglect": "2", "general_neglect": "2", "caretaker_absence": "2",
    "sexual_abuse": "4", "emotional_abuse": "5", "exploitation": "7", "at_risk_sibling": "8",
    "substantial_risk": "8", "other": "8",
}
# `pending` and `evaluated_out` are not exported: NCANDS holds only screened-in reports that
# have a disposition.
NCANDS_DISPOSITION_OUT = {
    "substantiated": "1", "indicated": "2", "inconclusive": "7", "unfounded": "5",
}
NCANDS_PERPETRATOR_OUT = {
    "parent": "1", "relative": "2", "foster_parent": "33", "facility_staff": "5", "other": "88",
    "unknown": "99",
}
NCANDS_AGE_UNBORN = "77"
NCANDS_AGE_UNKNOWN = "99"


def race_ethnicity(hispanic: bool | None, races: set[str], unknown_flag: bool) -> str:
    """Federal convention: Hispanic origin first, then one race, then more than one race.
    `hispanic` None (unable to determine or blank) does not erase a known race."""
    if hispanic:
        return "hispanic"
    if len(races) > 1:
        return "multiracial"
    if len(races) == 1:
        return next(iter(races))
    return "unknown"


def _check_against_model() -> None:
    model = {
        "sex": TABLES["children"].column("sex").codes,
        "race": TABLES["children"].column("race_ethnicity").codes,
        "setting": TABLES["placements"].column("setting").codes,
        "exit": TABLES["episodes"].column("exit_reason").codes,
        "maltreatment": TABLES["allegations"].column("maltreatment_type").codes,
        "disposition": TABLES["allegations"].column("disposition").codes,
        "perpetrator": TABLES["allegations"].column("perpetrator_type").codes,
    }
    used = {
        "sex": [*AFCARS_SEX.values(), *NCANDS_SEX.values()],
        "race": [*AFCARS_RACE_FLAGS.values(), *NCANDS_RACE_FLAGS.values()],
        "setting": [*AFCARS_SETTING.values(), *AFCARS_SETTING_OUT],
        "exit": [*AFCARS_DISCHARGE.values()],
        "maltreatment": [*NCANDS_MALTREATMENT.values(), *NCANDS_MALTREATMENT_OUT],
        "disposition": [*NCANDS_DISPOSITION.values(), *NCANDS_DISPOSITION_OUT],
        "perpetrator": [*NCANDS_PERPETRATOR.values(), *NCANDS_PERPETRATOR_OUT, *PERPETRATOR_PRIORITY],
    }
    for kind, codes in used.items():
        unknown = sorted(set(codes) - set(model[kind]))
        if unknown:
            raise AssertionError(f"importers.codes: {kind} codes {unknown} are not in the data model")
    # Every canonical code must have an export code (or be deliberately unexported).
    missing = {
        "setting": set(model["setting"]) - set(AFCARS_SETTING_OUT) - {"respite"},
        "exit": set(model["exit"]) - set(AFCARS_DISCHARGE_OUT) - {"other"},
        "maltreatment": set(model["maltreatment"]) - set(NCANDS_MALTREATMENT_OUT),
        "disposition": set(model["disposition"]) - set(NCANDS_DISPOSITION_OUT) - {"pending", "evaluated_out"},
        "perpetrator": set(model["perpetrator"]) - set(NCANDS_PERPETRATOR_OUT),
    }
    for kind, codes in missing.items():
        if codes:
            raise AssertionError(f"importers.codes: no export code for {kind} {sorted(codes)}")


_check_against_model()
