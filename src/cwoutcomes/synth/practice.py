"""Safety Organized Practice: `assessments` (safety at first contact, risk within 30 days,
reassessments on open cases), `practice_events` (CFT meetings, safety and after-care plans,
Three Houses, case plans, ...) and `service_referrals` after high-risk assessments.

Uptake grows over the years (the Core Practice Model rollout) and differs by county. The
effect of practice on outcomes is applied where outcomes are drawn (`careers.py`: an early CFT
meeting speeds reunification and lowers re-entry; an after-care plan with the family's network
lowers re-entry), and the events written here match those draws."""

from __future__ import annotations

import numpy as np

from cwoutcomes.model.tables import ASSESSMENT_RESULTS, ASSESSMENT_TYPES, PRACTICES, SERVICE_REFERRAL_TYPES
from cwoutcomes.synth.careers import IMMEDIATE, TEN_DAY, practice_level
from cwoutcomes.synth.episodes import CHILD_WELFARE, EXIT
from cwoutcomes.synth.services import CASE
from cwoutcomes.synth.util import NA, choice, choice_rows, concat, weights

A_TYPE = {name: i for i, name in enumerate(ASSESSMENT_TYPES)}
RESULT = {name: i for i, name in enumerate(ASSESSMENT_RESULTS)}
PR = {name: i for i, name in enumerate(PRACTICES)}
SERVICES = weights(SERVICE_REFERRAL_TYPES, {
    "parenting": 0.30, "substance_use": 0.18, "mental_health": 0.22, "domestic_violence": 0.10, "housing": 0.07,
    "health": 0.05, "education": 0.04, "other": 0.04})


def _pick(rng, table: np.ndarray, row: np.ndarray, codes: list[str]) -> np.ndarray:
    return np.array([RESULT[c] for c in codes])[choice_rows(rng, table[row])]


def assessments(rng, stage, eps: dict, cases: dict, start_day: int, end_day: int) -> dict:
    in_person = np.flatnonzero(np.isin(stage.response, (IMMEDIATE, TEN_DAY)))
    n = in_person.size
    level = 2 * stage.removed[in_person] + (stage.sub[in_person] & ~stage.removed[in_person])  # 0 none, 1 sub, 2 removed
    contact = stage.contact_day[in_person]
    # Safety assessment on the first-contact day (sometimes a few days later, rarely never).
    s_lag = np.array([0, 1, 4])[choice(rng, (0.84, 0.11, 0.05), n)] * rng.integers(1, 3, n)
    s_day = np.where((contact != NA) & (rng.random(n) < 0.97), contact + s_lag, NA)
    safety = _pick(rng, np.array([[0.80, 0.18, 0.02], [0.40, 0.48, 0.12], [0.02, 0.28, 0.70]]), level,
                   ["safe", "conditionally_safe", "unsafe"])
    # Risk assessment within 30 days of receipt (mostly).
    r_lag = np.where(rng.random(n) < 0.9, rng.integers(3, 31, n), rng.integers(31, 75, n))
    r_day = np.where(rng.random(n) < 0.96, stage.day[in_person] + r_lag, NA)
    risk = _pick(rng, np.array([[0.45, 0.40, 0.13, 0.02], [0.10, 0.30, 0.45, 0.15], [0.0, 0.10, 0.45, 0.45]]),
                 level, ["low", "moderate", "high", "very_high"])
    ref = stage.ref[in_person]
    focus = stage.focus[in_person]
    parts = [(ref, focus, np.full(n, A_TYPE["safety"]), s_day, safety),
             (ref, focus, np.full(n, A_TYPE["risk"]), r_day, risk)]
    # Reassessments on open cases: risk on in-home cases, reunification on episodes.
    fm = np.flatnonzero(cases["service_type"] == CASE["family_maintenance"])
    d = cases["start_date"][fm] + rng.integers(90, 180, fm.size)
    ok = d < cases["end_date"][fm]
    fm, d = fm[ok], d[ok]
    parts.append((np.full(fm.size, NA), cases["child_id"][fm], np.full(fm.size, A_TYPE["risk_reassessment"]), d,
                  _pick(rng, np.array([[0.5, 0.35, 0.12, 0.03]]), np.zeros(fm.size, np.int64),
                        ["low", "moderate", "high", "very_high"])))
    ep = np.flatnonzero(eps["agency"] == CHILD_WELFARE)
    d = eps["removal"][ep] + rng.integers(150, 200, ep.size)
    ok = d < eps["exit"][ep]
    parts.append((np.full(ok.sum(), NA), eps["kid"][ep[ok]], np.full(ok.sum(), A_TYPE["reunification_reassessment"]),
                  d[ok], np.full(ok.sum(), NA)))
    sn = ep[rng.random(ep.size) < 0.7]
    parts.append((np.full(sn.size, NA), eps["kid"][sn], np.full(sn.size, A_TYPE["strengths_needs"]),
                  eps["removal"][sn] + rng.integers(15, 45, sn.size), np.full(sn.size, NA)))
    ref, kid, kind, day, result = (concat([p[i] for p in parts]) for i in range(5))
    # Not completed by the extract date: no date and no result.
    late = day > end_day
    day = np.where(late, NA, day)
    result = np.where(day == NA, NA, result)
    keep = (ref != NA) | ((day != NA) & (day >= start_day))
    return {"assessment_id": np.arange(int(keep.sum())), "referral_id": ref[keep], "child_id": kid[keep],
            "assessment_type": kind[keep], "completed_date": day[keep], "result": result[keep]}


def service_referrals(rng, assess: dict, end_day: int) -> dict:
    """Services after risk assessments: most high and very high risk families within 30 days."""
    risk = assess["assessment_type"] == A_TYPE["risk"]
    done = risk & (assess["completed_date"] != NA)
    p = np.select([assess["result"] == RESULT["very_high"], assess["result"] == RESULT["high"],
                   assess["result"] == RESULT["moderate"]], [0.85, 0.75, 0.3], 0.1)
    pick = np.flatnonzero(done & (rng.random(len(p)) < p))
    lag = np.where(rng.random(pick.size) < 0.85, rng.integers(0, 31, pick.size), rng.integers(31, 90, pick.size))
    n_serv = 1 + (rng.random(pick.size) < 0.4)
    rows = np.repeat(pick, n_serv)
    day = np.repeat(assess["completed_date"][pick] + lag, n_serv) + (np.arange(rows.size) % 2) * 7
    kind = choice(rng, SERVICES, rows.size)
    keep = day <= end_day
    return {"service_referral_id": np.arange(int(keep.sum())), "child_id": assess["child_id"][rows][keep],
            "referral_date": day[keep], "service_type": kind[keep]}


def practice_events(rng, stage, eps: dict, counties, start_day: int, end_day: int) -> dict:
    parts = []
    net = np.clip(0.55 * counties.effects["practice"] ** 0.5, 0.2, 0.9)

    def add(kid, episode, practice, day, network_p):
        parts.append((kid, episode, np.full(len(kid), PR[practice]), day, rng.random(len(kid)) < network_p))

    # Referral stage (no episode): safety plans, mapping, harm and danger statements, interviews.
    ip = np.flatnonzero(np.isin(stage.response, (IMMEDIATE, TEN_DAY)) & (stage.contact_day != NA))
    lvl = practice_level(counties, stage.county[ip], stage.day[ip])
    for practice, p, network in (("safety_plan", 0.40, True), ("safety_mapping", 0.22, True),
                                 ("harm_danger_statement", 0.25, False), ("solution_focused_interview", 0.18, False),
                                 ("coaching", 0.04, False)):
        s = ip[rng.random(ip.size) < p * lvl]
        add(stage.focus[s], np.full(s.size, NA), practice, stage.contact_day[s] + rng.integers(0, 4, s.size),
            net[stage.county[s]] if network else 0.0)
    # Episodes (child welfare): CFT meetings (early ones as drawn in careers.py), voice of the child, ...
    cw = np.flatnonzero(eps["agency"] == CHILD_WELFARE)
    lvl = practice_level(counties, eps["county"][cw], eps["removal"][cw])
    rem, ext, eid, kid = eps["removal"][cw], eps["exit"][cw], eps["episode_id"][cw], eps["kid"][cw]
    cft = eps["cft"][cw]
    add(kid[cft], eid[cft], "cft_meeting", rem[cft] + rng.integers(3, 61, cft.sum()), net[eps["county"][cw][cft]])
    late = ~cft & (rng.random(cw.size) < 0.3)
    add(kid[late], eid[late], "cft_meeting", rem[late] + rng.integers(61, 240, late.sum()), 0.4)
    for k in range(1, 4):  # follow-up meetings about every six months
        f = rng.random(cw.size) < 0.6 * lvl
        add(kid[f], eid[f], "cft_meeting", rem[f] + 180 * k + rng.integers(-20, 21, f.sum()),
            net[eps["county"][cw][f]])
    age = rem - eps["birth"][cw]
    voice = (age >= 4 * 365.25) & (age < 18 * 365.25) & (rng.random(cw.size) < 0.5 * lvl)
    add(kid[voice], eid[voice], "three_houses", rem[voice] + rng.integers(2, 75, voice.sum()), 0.0)
    for practice, p, lo, hi in (("behaviorally_based_case_plan", 0.65, 20, 70), ("family_finding", 0.35, 1, 40),
                                ("parents_in_partnership", 0.12, 20, 150)):
        s = rng.random(cw.size) < p * np.sqrt(lvl)
        add(kid[s], eid[s], practice, rem[s] + rng.integers(lo, hi, s.sum()), 0.5)
    # After-care safety plans before reunification (with the network when drawn in careers.py).
    reun = eps["reason"][cw] == EXIT["reunification"]
    after = reun & eps["after"][cw]
    add(kid[after], eid[after], "aftercare_safety_plan", ext[after] - rng.integers(1, 91, after.sum()), 1.0)
    weak = reun & ~after & (rng.random(cw.size) < 0.15)
    add(kid[weak], eid[weak], "aftercare_safety_plan", ext[weak] - rng.integers(1, 91, weak.sum()), 0.0)

    kid_a, ep_a, pr_a, day_a, net_a = (concat([p[i] for p in parts]) for i in range(5))
    net_a = net_a.astype(bool)
    # Episode events happen while the child is in care.
    inside = (ep_a == NA) | (day_a < eps["exit"][np.where(ep_a == NA, 0, ep_a)])  # episode ids are row numbers
    keep = inside & (day_a >= start_day) & (day_a <= end_day)
    order = np.lexsort((day_a[keep], kid_a[keep]))
    return {"event_id": np.arange(int(keep.sum())), "child_id": kid_a[keep][order], "episode_id": ep_a[keep][order],
            "practice": pr_a[keep][order], "event_date": day_a[keep][order], "network_present": net_a[keep][order]}
