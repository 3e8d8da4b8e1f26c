"""Services around the episodes and referrals: monthly caseworker `contacts`, in-home and
out-of-home `service_cases`, `health_exams`, psychotropic `medication_authorizations` and
`youth_transitions` for youth 16 and older leaving care."""

from __future__ import annotations

import numpy as np

from cwoutcomes.model.tables import CONTACT_LOCATIONS, CONTACT_METHODS, CONTACT_STATUS, SERVICE_CASE_TYPES
from cwoutcomes.synth.careers import IMMEDIATE, TEN_DAY
from cwoutcomes.synth.episodes import CHILD_WELFARE, EXIT, PROBATION
from cwoutcomes.synth.util import (
    add_years, choice, expand, logistic, logit, lognormal_days, month_first_day, month_index, year_of,
)

METHOD = {name: i for i, name in enumerate(CONTACT_METHODS)}
STATUS = {name: i for i, name in enumerate(CONTACT_STATUS)}
LOCATION = {name: i for i, name in enumerate(CONTACT_LOCATIONS)}
CASE = {name: i for i, name in enumerate(SERVICE_CASE_TYPES)}
COVID = (month_first_day(np.array([(2020 - 1970) * 12 + 3]))[0], month_first_day(np.array([(2021 - 1970) * 12 + 6]))[0])


def monthly_contacts(rng, kid, lo, hi, p_full, p_partial, residence_p) -> dict:
    """Contacts of children followed from day `lo` to `hi` (exclusive): in each calendar month a
    visit with probability `p_full` (whole month followed) or `p_partial` (part of it), sometimes
    a second one; mostly in person (video common during COVID), mostly completed."""
    m0 = month_index(lo)
    count = np.where(hi > lo, month_index(hi - 1) - m0 + 1, 0)
    row, month = expand(m0, count)
    first, nxt = month_first_day(month), month_first_day(month + 1)
    a, b = np.maximum(lo[row], first), np.minimum(hi[row], nxt)
    full = (lo[row] <= first) & (hi[row] >= nxt)
    p = np.where(full, p_full[row], p_partial * (b - a) / (nxt - first))
    n_visits = (rng.random(len(row)) < p).astype(np.int64) + (rng.random(len(row)) < 0.12 * p)
    r, _ = expand(np.zeros(len(row), dtype=np.int64), n_visits)
    d = a[r] + (rng.random(len(r)) * (b[r] - a[r])).astype(np.int64)
    n = len(r)
    covid = (d >= COVID[0]) & (d < COVID[1])
    method = np.where(rng.random(n) < np.where(covid, 0.58, 0.965), METHOD["in_person"],
                      np.array([METHOD["video"], METHOD["phone"], METHOD["other"]])[
                          choice(rng, (0.7, 0.27, 0.03), n)])
    status = np.where(rng.random(n) < 0.975, STATUS["completed"], STATUS["attempted"])
    location = np.where((method == METHOD["in_person"]) & (rng.random(n) < residence_p[row[r]]),
                        LOCATION["residence"], LOCATION["other"])
    # Rows come out by child spell and month (no sort needed).
    return {"child_id": kid[row[r]], "contact_date": d, "method": method, "status": status, "location": location}


def visit_probability(counties, county, year, base: float) -> np.ndarray:
    effect = counties.effects["visits"][county] + np.where(year < 2018, -0.3 + 0.1 * (year - 2015), 0.0)
    return logistic(logit(base) + effect)


def service_cases(rng, eps: dict, stage, start_day: int, end_day: int) -> dict:
    """Family reunification then permanent placement cases for episodes; family maintenance
    (in-home) after substantiated referrals without removal and after reunifications;
    emergency response cases on some in-person referrals."""
    parts = []
    cw = np.flatnonzero(eps["agency"] == CHILD_WELFARE)
    fr_end = np.minimum(eps["exit"][cw], eps["removal"][cw] + lognormal_days(rng, 450, 0.3, cw.size).astype(np.int64))
    parts.append((eps["kid"][cw], eps["county"][cw], eps["removal"][cw], fr_end, CASE["family_reunification"]))
    pp = cw[fr_end < eps["exit"][cw]]
    parts.append((eps["kid"][pp], eps["county"][pp], fr_end[fr_end < eps["exit"][cw]], eps["exit"][pp],
                  CASE["permanent_placement"]))
    home = np.flatnonzero((eps["reason"] == EXIT["reunification"]) & (eps["exit"] <= end_day)
                          & (rng.random(len(eps["kid"])) < 0.5))
    parts.append((eps["kid"][home], eps["county"][home], eps["exit"][home],
                  eps["exit"][home] + lognormal_days(rng, 180, 0.4, home.size).astype(np.int64),
                  CASE["family_maintenance"]))
    c_ref, c_kid, c_sub, c_removed = stage.kid_rows
    row = np.searchsorted(stage.ref, c_ref)
    fm = np.flatnonzero(c_sub & ~c_removed & (rng.random(len(c_kid)) < 0.32))
    fm_start = stage.day[row[fm]] + rng.integers(10, 46, fm.size)
    parts.append((c_kid[fm], stage.county[row[fm]], fm_start,
                  fm_start + lognormal_days(rng, 210, 0.5, fm.size).astype(np.int64), CASE["family_maintenance"]))
    in_person = np.isin(stage.response[row], (IMMEDIATE, TEN_DAY))
    er = np.flatnonzero(in_person & (rng.random(len(c_kid)) < 0.08))
    parts.append((c_kid[er], stage.county[row[er]], stage.day[row[er]],
                  stage.day[row[er]] + rng.integers(20, 91, er.size), CASE["emergency_response"]))
    kid, county, start, end = (np.concatenate([p[i] for p in parts]).astype(np.int64) for i in range(4))
    kind = np.concatenate([np.full(len(p[0]), p[4]) for p in parts])
    keep = (start <= end_day) & (end >= start_day - 365) & (end > start)
    kid, county, start, end, kind = kid[keep], county[keep], start[keep], end[keep], kind[keep]
    order = np.lexsort((start, kid))
    return {"case_id": np.arange(len(kid)), "child_id": kid[order], "county": county[order],
            "start_date": start[order], "end_date": end[order], "service_type": kind[order]}


def in_home_contacts(rng, cases: dict, counties, start_day: int, end_day: int) -> dict:
    home = np.isin(cases["service_type"], (CASE["family_maintenance"], CASE["emergency_response"]))
    lo = np.maximum(cases["start_date"][home], start_day)
    hi = np.minimum(cases["end_date"][home], end_day + 1)
    county = cases["county"][home]
    p = visit_probability(counties, county, year_of(lo), 0.90)
    return monthly_contacts(rng, cases["child_id"][home], lo, hi, p, 0.45, np.full(len(lo), 0.86))


def episode_contacts(rng, eps: dict, counties, start_day: int, end_day: int) -> dict:
    lo = np.maximum(eps["removal"], start_day)
    hi = np.minimum(eps["exit"], end_day + 1)
    p = visit_probability(counties, eps["county"], year_of(lo), 0.978)
    residence = np.clip(0.80 + 0.05 * counties.effects["visits"][eps["county"]], 0.6, 0.95)
    return monthly_contacts(rng, eps["kid"], lo, hi, p, 0.5, residence)


def health_exams(rng, eps: dict, kids, start_day: int, end_day: int) -> dict:
    """Medical exams soon after removal and then by the periodicity schedule (mostly on time);
    dental exams for children 1 and older."""
    kid, birth = eps["kid"], kids.birth[eps["kid"]]
    stop = np.minimum(np.minimum(eps["exit"], kids.b18[kid]), end_day + 1)
    rows_k, rows_d, rows_t = [], [], []
    n = len(kid)
    for exam in (0, 1):  # medical, dental
        if exam == 0:
            t = eps["removal"] + np.where(rng.random(n) < 0.93, rng.integers(0, 41, n), rng.integers(41, 150, n))
        else:
            t = np.maximum(eps["removal"], add_years(birth, 1)) + rng.integers(20, 200, n)
        on = rng.random(n) < (0.97 if exam == 0 else 0.9)
        active = np.flatnonzero(on & (t < stop))
        while active.size:
            a = active
            rows_k.append(kid[a])
            rows_d.append(t[a])
            rows_t.append(np.full(a.size, exam))
            age = t[a] - birth[a]
            if exam == 0:
                median = np.where(age < 365, 52.0, np.where(age < 3 * 365, 165.0, 315.0))
            else:
                median = np.where(age < 3 * 365, 165.0, 325.0)
            gap = lognormal_days(rng, median, 0.2, a.size) * np.where(rng.random(a.size) < 0.08 + 0.1 * exam, 2, 1)
            t[a] = t[a] + np.maximum(14, gap).astype(np.int64)  # now and then an exam is missed
            active = a[t[a] < stop[a]]
    k, d, e = (np.concatenate(x).astype(np.int64) for x in (rows_k, rows_d, rows_t))
    keep = d >= start_day
    order = np.lexsort((e[keep], d[keep], k[keep]))
    return {"child_id": k[keep][order], "exam_date": d[keep][order], "exam_type": e[keep][order]}


def medication(rng, eps: dict, kids, start_day: int, end_day: int) -> dict:
    """Court authorizations for psychotropic medication (180 days, often renewed) for some
    school-age children and more teens in care."""
    kid = eps["kid"]
    age = eps["removal"] - kids.birth[kid]
    p = np.where(age >= 12 * 365.25, 0.42, np.where(age >= 6 * 365.25, 0.18, 0.0))
    p = np.where(eps["agency"] == PROBATION, 0.45, p)
    stop = np.minimum(eps["exit"], kids.b18[kid])
    t = eps["removal"] + rng.integers(20, 200, len(kid))
    active = np.flatnonzero((rng.random(len(kid)) < p) & (t < stop) & (t <= end_day))
    rk, rs, re = [], [], []
    while active.size:
        a = active
        end = t[a] + 180
        rk.append(kid[a])
        rs.append(t[a].copy())
        re.append(np.minimum(end, np.maximum(stop[a], t[a] + 1)))
        t[a] = end
        active = a[(rng.random(a.size) < 0.85) & (end < stop[a]) & (end <= end_day)]
    k, s, e = (np.concatenate(x).astype(np.int64) if x else np.zeros(0, np.int64) for x in (rk, rs, re))
    keep = e >= start_day
    order = np.lexsort((s[keep], k[keep]))
    return {"child_id": k[keep][order], "start_date": s[keep][order], "end_date": e[keep][order]}


def youth_transitions(rng, eps: dict, kids, start_day: int, end_day: int) -> dict:
    """Outcomes reported for youth 16 and older leaving care (better for older youth and those
    who stayed in extended care)."""
    kid = eps["kid"]
    b16 = add_years(kids.birth[kid], 16)
    pick = np.flatnonzero((eps["exit"] >= start_day) & (eps["exit"] <= end_day) & (eps["exit"] >= b16))
    age = (eps["exit"][pick] - kids.birth[kid[pick]]) / 365.25
    n = pick.size
    older = np.clip(age - 16.0, 0.0, 5.0)

    def outcome(base, slope):
        return rng.random(n) < np.clip(base + slope * older, 0.02, 0.97)

    return {
        "child_id": kid[pick], "episode_id": eps["episode_id"][pick], "exit_date": eps["exit"][pick],
        "completed_high_school": outcome(0.15, 0.22), "enrolled_in_education": outcome(0.55, 0.0),
        "employed": outcome(0.18, 0.10), "housing_arranged": outcome(0.45, 0.12),
        "received_ilp": outcome(0.55, 0.08), "permanent_connection": outcome(0.70, 0.04),
    }
