"""`generate`: run the simulation stages in order and write the data set."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Callable

import numpy as np

from cwoutcomes.errors import CwoutcomesError
from cwoutcomes.model.counties import county_populations
from cwoutcomes.model.tables import TABLES
from cwoutcomes.synth import careers, faults as fault_mod, params as P, practice, referrals, services
from cwoutcomes.synth.episodes import Episodes, probation
from cwoutcomes.synth.families import make_families
from cwoutcomes.synth.fostercare import output_episodes, placements_table
from cwoutcomes.synth.population import counties_table, make_counties, population_table, targets_table
from cwoutcomes.synth.util import NA, add_years, day, stream
from cwoutcomes.synth.writer import TableWriter

Progress = Callable[[str, int, int], None]
STAGES = ("counties and population", "families and reports", "foster care", "placements", "referrals",
          "services", "practice", "children")


def generate(out: Path, *, scale: float, seed: int, start: dt.date, end: dt.date, faults: float = 0.0,
             fmt: str = "parquet", progress: Progress | None = None) -> dict[str, int]:
    """Simulate California's child-welfare records from `start` to `end` (the extract date) at
    `scale` (1 = California) and write every table of the model to `out` as
    `<table>.parquet` (or `.csv`), plus `dataset.json`. Returns the row count of each table.
    With `faults` > 0, each kind of bad record of data-quality.md §1 is planted at that rate."""
    if fmt not in ("parquet", "csv"):
        raise CwoutcomesError(f"unknown format {fmt!r} (use parquet or csv)")
    if not scale > 0:
        raise CwoutcomesError(f"scale must be positive, not {scale}")
    if start is None or end is None or end <= start:
        raise CwoutcomesError(f"the period must end after it starts ({start} .. {end})")
    if not 0 <= faults < 0.5:
        raise CwoutcomesError(f"faults is a rate between 0 and 0.5, not {faults}")
    total = len(STAGES) + len(TABLES) + 1
    done = 0

    def step(label: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(label, done, total)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    other = "csv" if fmt == "parquet" else "parquet"
    for name in TABLES:
        (out / f"{name}.{other}").unlink(missing_ok=True)
    county_codes = list(county_populations()["county"])
    counts = {}
    with TableWriter(out, fmt, county_codes, threads=1 if faults == 0 else 2) as writer:
        # Clean data: each table is written as soon as it is final; faults need them all first.
        tables: dict = Finished(writer.submit) if faults == 0 else {}
        simulate(scale, seed, start, end, step, tables)
        if faults > 0:
            fault_mod.plant(tables, stream(seed, "faults"), faults, day(start), day(end))
            for name in TABLES:
                writer.submit(name, tables[name])
        step("faults planted" if faults > 0 else "no faults")
        for name in TABLES:
            counts[name] = writer.rows(name)
            step(f"wrote {name}")
    info = {"extract_date": end.isoformat(), "generator": "cwoutcomes synth", "scale": scale, "seed": seed,
            "start": start.isoformat(), "faults": faults}
    (out / "dataset.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return counts


class Finished(dict):
    """The simulated tables; each is handed to `on_final` when it is set (tables are set once,
    complete, and not changed afterwards)."""

    def __init__(self, on_final: Callable[[str, dict], None]):
        super().__init__()
        self.on_final = on_final

    def __setitem__(self, name: str, cols: dict) -> None:
        super().__setitem__(name, cols)
        self.on_final(name, cols)


def simulate(scale: float, seed: int, start: dt.date, end: dt.date, step: Callable[[str], None],
             tables: dict) -> None:
    """Every table of the model as integer-coded columns (see writer.py), set into `tables`."""
    start_day, end_day = day(start), day(end)
    sim0 = int(add_years(np.array([start_day]), -P.BURN_IN_YEARS)[0])
    counties = make_counties(stream(seed, "counties"))
    tables["population"] = population_table(counties, stream(seed, "population"), start, end, scale)
    tables["counties"] = counties_table(counties)
    tables["targets"] = targets_table(counties, stream(seed, "targets"), start, end)
    step(STAGES[0])
    fams, kids, events = make_families(stream(seed, "families"), counties, sim0, end, end_day, scale)
    eps = Episodes()
    reports = careers.run(stream(seed, "careers"), fams, kids, events, counties, eps, end_day)
    step(STAGES[1])
    kids = probation(stream(seed, "probation"), counties, sim0, end_day, scale, kids, eps)
    ep, cases = output_episodes(eps.finish(), kids, start_day)
    tables["episodes"] = {
        "episode_id": ep["episode_id"], "child_id": ep["kid"], "county": ep["county"], "agency": ep["agency"],
        "removal_date": ep["removal"], "exit_date": np.where(ep["exit"] <= end_day, ep["exit"], NA),
        "exit_reason": np.where(ep["exit"] <= end_day, ep["reason"], NA),
        "legally_free_date": np.where(ep["tpr"] <= end_day, ep["tpr"], NA),
    }
    step(STAGES[2])
    tables["placements"] = placements_table(stream(seed, "placements"), ep, cases, kids, counties, end_day)
    step(STAGES[3])
    care, care_county = referrals.in_care_reports(stream(seed, "in care"), ep, kids, counties.effects["safety"],
                                                  start_day, end_day, len(reports.time))
    both = careers.Reports(**{k: np.concatenate([getattr(reports, k), getattr(care, k)])
                              for k in reports.__dataclass_fields__})
    ref_county = np.concatenate([fams.county[reports.fam], care_county])
    tables["referrals"], tables["allegations"], stage = referrals.make(
        stream(seed, "referrals"), both, ref_county, kids, start_day, end_day)
    step(STAGES[4])
    rng = stream(seed, "services")
    in_home = services.service_cases(rng, ep, stage, start_day, end_day)
    contacts = [services.episode_contacts(rng, ep, counties, start_day, end_day),
                services.in_home_contacts(rng, in_home, counties, start_day, end_day)]
    contacts = {k: np.concatenate([c[k] for c in contacts]) for k in contacts[0]}
    tables["contacts"] = dict(contacts, contact_id=np.arange(len(contacts["child_id"])))
    tables["service_cases"] = dict(in_home, end_date=np.where(in_home["end_date"] <= end_day, in_home["end_date"], NA))
    tables["health_exams"] = services.health_exams(rng, ep, kids, start_day, end_day)
    meds = services.medication(rng, ep, kids, start_day, end_day)
    meds["end_date"] = np.where(meds["end_date"] <= end_day, meds["end_date"], NA)
    tables["medication_authorizations"] = meds
    tables["youth_transitions"] = services.youth_transitions(rng, ep, kids, start_day, end_day)
    step(STAGES[5])
    rng = stream(seed, "practice")
    tables["assessments"] = practice.assessments(rng, stage, ep, in_home, start_day, end_day)
    tables["service_referrals"] = practice.service_referrals(rng, tables["assessments"], end_day)
    tables["practice_events"] = practice.practice_events(rng, stage, ep, counties, start_day, end_day)
    step(STAGES[6])
    tables["children"], tables["siblings"] = children_tables(tables, kids)
    step(STAGES[7])


def children_tables(tables: dict, kids) -> tuple[dict, dict]:
    """Every child the other tables name, and the sibling groups (families with two or more of
    them)."""
    named = np.zeros(kids.n, dtype=bool)
    for t in tables.values():
        if "child_id" in t:
            named[t["child_id"]] = True
    used = np.flatnonzero(named)
    children = {"child_id": used, "birth_date": kids.birth[used], "sex": kids.sex[used],
                "race_ethnicity": kids.race[used], "icwa_eligible": kids.icwa[used].astype(bool)}
    fam = kids.fam[used]
    in_fam = fam >= 0
    size = np.bincount(fam[in_fam], minlength=int(fam.max()) + 1 if in_fam.any() else 0)
    group = in_fam & (size[np.where(in_fam, fam, 0)] >= 2)
    siblings = {"child_id": used[group], "sibling_group_id": fam[group]}
    return children, siblings
