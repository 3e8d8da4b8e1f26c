"""The `referrals` and `allegations` tables: family reports received from `start` on (times of
day, first in-person contacts, allegation types, dispositions, incident dates, perpetrators,
fatalities), plus reports of maltreatment of children while in foster care (foster parents,
facility staff, parents during visits)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cwoutcomes.model.tables import CONTACT_STATUS, DISPOSITIONS, MALTREATMENT_TYPES, PERPETRATOR_TYPES
from cwoutcomes.synth.careers import EVALUATED_OUT, IMMEDIATE, OTHER_RESPONSE, TEN_DAY, Reports
from cwoutcomes.synth.util import DAY_SECONDS, NA, choice, expand, lognormal_days, weights

MT = {name: i for i, name in enumerate(MALTREATMENT_TYPES)}
DISP = {name: i for i, name in enumerate(DISPOSITIONS)}
COMPLETED, ATTEMPTED = CONTACT_STATUS.index("completed"), CONTACT_STATUS.index("attempted")
# Allegation types and perpetrators of family reports and of reports about children in care.
FAMILY_TYPES = weights(MALTREATMENT_TYPES, {
    "sexual_abuse": 0.06, "physical_abuse": 0.16, "severe_neglect": 0.025, "general_neglect": 0.44,
    "exploitation": 0.003, "emotional_abuse": 0.11, "caretaker_absence": 0.03, "substantial_risk": 0.06,
    "other": 0.012})
IN_CARE_TYPES = weights(MALTREATMENT_TYPES, {
    "sexual_abuse": 0.12, "physical_abuse": 0.32, "severe_neglect": 0.03, "general_neglect": 0.28,
    "exploitation": 0.01, "emotional_abuse": 0.14, "other": 0.10})
FAMILY_PERPETRATORS = weights(PERPETRATOR_TYPES, {"parent": 0.84, "relative": 0.07, "other": 0.05, "unknown": 0.04})
IN_CARE_PERPETRATORS = weights(PERPETRATOR_TYPES, {
    "parent": 0.30, "relative": 0.10, "foster_parent": 0.38, "facility_staff": 0.12, "other": 0.05, "unknown": 0.05})
IN_CARE_REPORTS_PER_DAY = 0.00023   # reports about a child in care (any disposition)
IN_CARE_SUBSTANTIATED = 0.32


@dataclass
class ReferralStage:
    """Facts about each written referral that later stages (assessments, practice) need."""

    ref: np.ndarray          # referral id
    day: np.ndarray
    response: np.ndarray
    county: np.ndarray
    contact_day: np.ndarray  # NA if none by the extract date
    focus: np.ndarray        # kid index of the focus child
    sub: np.ndarray          # any child substantiated
    removed: np.ndarray      # any child removed
    kid_rows: tuple          # (ref, kid, sub, removed) per child on the referral


def in_care_reports(rng, eps: dict, kids, safety: np.ndarray, start_day: int, end_day: int, first_ref: int):
    """Reports of children in care (under 18), dated from `start` on; returns a Reports-like
    set with one child per report."""
    lo = np.maximum(eps["removal"], start_day)
    hi = np.minimum(np.minimum(eps["exit"], end_day + 1), kids.b18[eps["kid"]])
    span = np.maximum(hi - lo, 0)
    n = rng.poisson(IN_CARE_REPORTS_PER_DAY * safety[eps["county"]] * span)
    ep, _ = expand(np.zeros(len(n), dtype=np.int64), n)
    day = lo[ep] + (rng.random(len(ep)) * span[ep]).astype(np.int64)
    m = len(ep)
    return Reports(
        fam=np.full(m, -1), time=day, response=np.where(rng.random(m) < 0.45, IMMEDIATE, TEN_DAY),
        kind=np.full(m, -1), ref=np.arange(first_ref, first_ref + m), kid=eps["kid"][ep],
        sub=rng.random(m) < IN_CARE_SUBSTANTIATED, removed=np.zeros(m, bool), fatal=np.zeros(m, bool),
        focus=np.ones(m, bool),
    ), eps["county"][ep]


def _time_of_day(rng, n: int, with_time: np.ndarray) -> np.ndarray:
    hours = np.clip(rng.normal(13.0, 3.5, n), 0, 23.99)
    return np.where(with_time, (hours * 3600).astype(np.int64), 0)


def make(rng: np.random.Generator, reps: Reports, ref_county: np.ndarray, kids, start_day: int,
         end_day: int) -> tuple[dict, dict, ReferralStage]:
    """Referral and allegation tables for reports dated from `start_day` (reports given in
    referral order with one county per report)."""
    keep_ref = reps.time >= start_day
    ref_ids = np.flatnonzero(keep_ref)
    n = len(ref_ids)
    day = reps.time[ref_ids]
    response = reps.response[ref_ids]
    county = ref_county[ref_ids]
    has_time = rng.random(n) < 0.85
    received = day * DAY_SECONDS + _time_of_day(rng, n, has_time)

    # First in-person contact: most within the response time, some late, a few never.
    imm, ten = response == IMMEDIATE, response == TEN_DAY
    delay = np.where(imm, lognormal_days(rng, 3.0, 0.9, n) * 3600,
                     rng.integers(0, 11, n) * DAY_SECONDS + rng.integers(-4, 6, n) * 3600)
    late = rng.random(n)
    delay = np.where(imm & (late < 0.025), rng.integers(25, 96, n) * 3600, delay)
    delay = np.where(ten & (late < 0.06), rng.integers(11, 30, n) * DAY_SECONDS, delay)
    delay = np.maximum(delay // 60 * 60, 600).astype(np.int64)  # whole minutes
    contact = received + delay
    contact = np.where(has_time | (rng.random(n) < 0.5), contact, contact - contact % DAY_SECONDS)
    contact = np.maximum(contact, received - received % DAY_SECONDS)
    none = ~(imm | ten) | (rng.random(n) < 0.015) | (contact // DAY_SECONDS > end_day)
    contact = np.where(none, NA, contact)
    status = np.where(none, NA, np.where(rng.random(n) < 0.9, COMPLETED, ATTEMPTED))

    # Allegations: one or two per child on a written referral.
    row_of = np.full(len(reps.time), -1, dtype=np.int64)
    row_of[ref_ids] = np.arange(n)
    crow = np.flatnonzero(keep_ref[reps.ref])
    c_ref = row_of[reps.ref[crow]]
    c_kid, c_sub, c_focus, c_fatal = reps.kid[crow], reps.sub[crow], reps.focus[crow], reps.fatal[crow]
    n_alleg = 1 + (rng.random(len(crow)) < 0.22)
    a_child, _ = expand(np.zeros(len(crow), dtype=np.int64), n_alleg)
    second = np.r_[False, a_child[1:] == a_child[:-1]]
    na = len(a_child)
    from_care = reps.kind[reps.ref[crow]] < 0
    types = np.where(from_care[a_child], choice(rng, IN_CARE_TYPES, na), choice(rng, FAMILY_TYPES, na))
    sibling = ~c_focus[a_child] & ~second & (rng.random(na) < 0.35)
    types = np.where(sibling, MT["at_risk_sibling"], types)
    fatal = c_fatal[a_child] & ~second
    types = np.where(fatal, np.where(rng.random(na) < 0.6, MT["severe_neglect"], MT["physical_abuse"]), types)
    # A second allegation is of another type.
    prev = np.r_[-1, types[:-1]]
    types = np.where(second & (types == prev), np.where(prev == MT["general_neglect"], MT["emotional_abuse"],
                                                        MT["general_neglect"]), types)
    resp = response[c_ref[a_child]]
    sub = c_sub[a_child] & (~second | (rng.random(na) < 0.45))
    not_sub = np.where(rng.random(na) < 0.38, DISP["inconclusive"], DISP["unfounded"])
    disp = np.where(sub, DISP["substantiated"], not_sub)
    disp = np.where(resp == EVALUATED_OUT, DISP["evaluated_out"], disp)
    disp = np.where(resp == OTHER_RESPONSE, np.where(rng.random(na) < 0.3, DISP["inconclusive"], DISP["unfounded"]),
                    disp)
    a_day = day[c_ref[a_child]]
    lag = np.where(resp == EVALUATED_OUT, rng.integers(0, 4, na), lognormal_days(rng, 26.0, 0.5, na).astype(np.int64))
    d_day = a_day + lag
    pending = d_day > end_day
    disp = np.where(pending, DISP["pending"], disp)
    d_day = np.where(pending, NA, d_day)
    birth = kids.birth[c_kid[a_child]]
    incident = np.maximum(a_day - lognormal_days(rng, 4.0, 1.2, na).astype(np.int64), birth)
    incident = np.where(rng.random(na) < 0.7, incident, NA)
    perp = np.where(from_care[a_child], choice(rng, IN_CARE_PERPETRATORS, na), choice(rng, FAMILY_PERPETRATORS, na))

    referrals = {
        "referral_id": ref_ids, "county": county, "received_at": received * 1_000_000,
        "response_type": response, "first_contact_at": np.where(none, NA, contact * 1_000_000),
        "first_contact_status": status,
    }
    allegations = {
        "allegation_id": np.arange(na), "referral_id": ref_ids[c_ref[a_child]], "child_id": c_kid[a_child],
        "maltreatment_type": types, "disposition": disp, "disposition_date": d_day,
        "incident_date": incident, "perpetrator_type": perp, "fatality": fatal,
    }
    any_sub = np.zeros(n, dtype=bool)
    any_sub[c_ref[c_sub]] = True
    any_removed = np.zeros(n, dtype=bool)
    any_removed[c_ref[reps.removed[crow]]] = True
    focus = np.zeros(n, dtype=np.int64)
    focus[c_ref[c_focus]] = c_kid[c_focus]
    stage = ReferralStage(ref=ref_ids, day=day, response=response, county=county,
                          contact_day=np.where(none, NA, contact // DAY_SECONDS), focus=focus, sub=any_sub,
                          removed=any_removed, kid_rows=(ref_ids[c_ref], c_kid, c_sub, reps.removed[crow]))
    return referrals, allegations, stage
