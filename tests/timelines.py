"""Hand-made child timelines for measure tests: a tiny data set written as Python calls, so each
test reads like the case it checks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import count

import pandas as pd

from cwoutcomes.engine.dataset import Dataset
from cwoutcomes.engine.evaluator import evaluate
from cwoutcomes.engine.periods import parse_window
from cwoutcomes.measures import registry

ALAMEDA, FRESNO = "06001", "06019"


def d(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


@dataclass
class Timelines:
    rows: dict[str, list[dict]] = field(default_factory=lambda: {
        "children": [], "episodes": [], "placements": [], "referrals": [], "allegations": [],
        "population": [], "data_quality": [],
    })
    _ids: count = field(default_factory=lambda: count(1))

    def _next(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    def child(self, child_id: str, birth: str | None, sex: str = "female", race: str = "white") -> str:
        self.rows["children"].append(
            {"child_id": child_id, "birth_date": d(birth), "sex": sex, "race_ethnicity": race}
        )
        return child_id

    def episode(self, child_id: str, removal: str, exit: str | None = None,
                reason: str | None = "reunification",
                *, county: str = ALAMEDA, agency: str = "child_welfare", placements=None,
                episode_id: str | None = None, legally_free: str | None = None) -> str:
        """placements: list of (start, setting, provider) or (start, end, setting, provider);
        default: one foster home for the whole episode. legally_free: the legally-free date."""
        episode_id = episode_id or self._next("e")
        reason = reason if exit is not None else None
        self.rows["episodes"].append({
            "episode_id": episode_id, "child_id": child_id, "county": county, "agency": agency,
            "removal_date": d(removal), "exit_date": d(exit), "exit_reason": reason,
            "legally_free_date": d(legally_free),
        })
        specs = placements if isinstance(placements, list) else [(removal, "foster_home", f"h-{episode_id}")]
        starts = [spec[0] for spec in specs]
        for index, spec in enumerate(specs):
            if len(spec) == 4:
                start, end, setting, provider = spec
            else:
                start, setting, provider = spec
                end = starts[index + 1] if index + 1 < len(specs) else exit
            self.rows["placements"].append({
                "placement_id": f"{episode_id}-p{index + 1}", "episode_id": episode_id,
                "child_id": child_id, "start_date": d(start), "end_date": d(end),
                "setting": setting, "provider_id": provider,
            })
        return episode_id

    def report(self, child_id: str, received: str, *, county: str = ALAMEDA, disposition: str = "substantiated",
               incident: str | None = None, fatality: bool = False, perpetrator: str = "parent",
               response: str = "immediate") -> str:
        referral_id = self._next("r")
        self.rows["referrals"].append({
            "referral_id": referral_id, "county": county, "received_at": received,
            "response_type": response, "first_contact_at": None, "first_contact_status": None,
        })
        self.rows["allegations"].append({
            "allegation_id": self._next("a"), "referral_id": referral_id, "child_id": child_id,
            "maltreatment_type": "general_neglect", "disposition": disposition,
            "disposition_date": d(received[:10]), "incident_date": d(incident),
            "perpetrator_type": perpetrator, "fatality": fatality,
        })
        return referral_id

    # -- practice tables (Core Practice Model measures) ------------------------------------------
    def referral(self, child_ids, received: str, *, response: str = "immediate",
                 contact: str | None = None, contact_status: str | None = "completed",
                 county: str = ALAMEDA, disposition: str = "unfounded") -> str:
        """A referral with a first in-person contact (null: never contacted) and one allegation
        per child named (a single id or a list)."""
        referral_id = self._next("r")
        self.rows["referrals"].append({
            "referral_id": referral_id, "county": county, "received_at": received,
            "response_type": response, "first_contact_at": contact,
            "first_contact_status": contact_status if contact is not None else None,
        })
        for child_id in [child_ids] if isinstance(child_ids, str) else child_ids:
            self.rows["allegations"].append({
                "allegation_id": self._next("a"), "referral_id": referral_id, "child_id": child_id,
                "maltreatment_type": "general_neglect", "disposition": disposition,
                "disposition_date": d(received[:10]), "incident_date": None,
                "perpetrator_type": "parent", "fatality": False,
            })
        return referral_id

    def practice_event(self, child_id: str, practice: str, date: str, *, network: bool | None = None,
                       episode_id: str | None = None) -> str:
        event_id = self._next("x")
        self.rows.setdefault("practice_events", []).append({
            "event_id": event_id, "child_id": child_id, "episode_id": episode_id, "practice": practice,
            "event_date": d(date), "network_present": network,
        })
        return event_id

    def assessment(self, child_id: str, kind: str, completed: str | None, result: str | None = None,
                   *, referral_id: str | None = None) -> str:
        assessment_id = self._next("m")
        self.rows.setdefault("assessments", []).append({
            "assessment_id": assessment_id, "referral_id": referral_id, "child_id": child_id,
            "assessment_type": kind, "completed_date": d(completed), "result": result,
        })
        return assessment_id

    def service_referral(self, child_id: str, date: str, service: str = "parenting") -> str:
        service_referral_id = self._next("q")
        self.rows.setdefault("service_referrals", []).append({
            "service_referral_id": service_referral_id, "child_id": child_id,
            "referral_date": d(date), "service_type": service,
        })
        return service_referral_id

    def population(self, year: int, county: str, count_: int, *, age: int = 5, sex: str = "female",
                   race: str = "white") -> None:
        self.rows["population"].append({
            "year": year, "county": county, "age": age, "sex": sex, "race_ethnicity": race,
            "population": count_,
        })

    def flag(self, table: str, key: str, rule: str) -> None:
        self.rows["data_quality"].append({
            "table_name": table, "record_key": key, "column_name": None, "value": None,
            "rule": rule, "effect": "flagged",
        })

    # -- California tables (referral timing, visits, siblings, exams, medication, youth) -------
    def timed_referral(self, received: str, *, response: str = "immediate", contact: str | None = None,
                       status: str | None = "completed", county: str = ALAMEDA) -> str:
        """A referral without allegations; `received`/`contact` are dates or date-times."""
        referral_id = self._next("r")
        self.rows["referrals"].append({
            "referral_id": referral_id, "county": county, "received_at": received, "response_type": response,
            "first_contact_at": contact, "first_contact_status": status if contact is not None else None,
        })
        return referral_id

    def allegation(self, referral_id: str, child_id: str, kind: str = "general_neglect",
                   disposition: str = "substantiated") -> str:
        allegation_id = self._next("a")
        self.rows["allegations"].append({
            "allegation_id": allegation_id, "referral_id": referral_id, "child_id": child_id,
            "maltreatment_type": kind, "disposition": disposition, "disposition_date": None,
            "incident_date": None, "perpetrator_type": "parent", "fatality": False,
        })
        return allegation_id

    def contact(self, child_id: str, date: str, *, method: str = "in_person", status: str = "completed",
                location: str = "residence") -> None:
        self.rows.setdefault("contacts", []).append({
            "contact_id": self._next("k"), "child_id": child_id, "contact_date": d(date), "method": method,
            "status": status, "location": location,
        })

    def service_case(self, child_id: str, start: str, end: str | None = None, *, county: str = ALAMEDA,
                     service: str = "family_maintenance") -> None:
        self.rows.setdefault("service_cases", []).append({
            "case_id": self._next("s"), "child_id": child_id, "county": county, "start_date": d(start),
            "end_date": d(end), "service_type": service,
        })

    def siblings(self, group_id: str, *child_ids: str) -> None:
        for child_id in child_ids:
            self.rows.setdefault("siblings", []).append({"child_id": child_id, "sibling_group_id": group_id})

    def exam(self, child_id: str, date: str, kind: str = "medical") -> None:
        self.rows.setdefault("health_exams", []).append(
            {"child_id": child_id, "exam_date": d(date), "exam_type": kind}
        )

    def medication(self, child_id: str, start: str, end: str | None = None) -> None:
        self.rows.setdefault("medication_authorizations", []).append(
            {"child_id": child_id, "start_date": d(start), "end_date": d(end)}
        )

    def youth_exit(self, child_id: str, episode_id: str, exit: str, **outcomes: bool | None) -> None:
        """A youth_transitions row; outcomes not named are null."""
        columns = ("completed_high_school", "enrolled_in_education", "employed", "housing_arranged",
                   "received_ilp", "permanent_connection")
        self.rows.setdefault("youth_transitions", []).append({
            "child_id": child_id, "episode_id": episode_id, "exit_date": d(exit),
            **{column: outcomes.get(column) for column in columns},
        })

    def caregiver(self, placement_id: str, *, relative: bool | None = None, indian: bool | None = None) -> None:
        """Sets the 4E caregiver flags of a placement made by `episode` (ids `<episode>-p<n>`)."""
        row = next(r for r in self.rows["placements"] if r["placement_id"] == placement_id)
        row.update(caregiver_relative=relative, caregiver_indian=indian)

    def icwa(self, child_id: str, eligible: bool = True) -> None:
        row = next(r for r in self.rows["children"] if r["child_id"] == child_id)
        row["icwa_eligible"] = eligible

    def dataset(self, engine: str, extract: str = "2027-12-31") -> Dataset:
        required = ("children", "episodes", "placements")
        frames = {name: pd.DataFrame(rows) for name, rows in self.rows.items() if rows or name in required}
        if "data_quality" not in frames:
            frames["data_quality"] = pd.DataFrame(columns=["table_name", "record_key", "column_name",
                                                            "value", "rule", "effect"])
        return Dataset.from_frames(frames, extract_date=d(extract), engine=engine)

    def results(self, engine: str, measure_id: str, window: str = "2024Q4", *,
                extract: str = "2027-12-31", public: bool = False, quality_limits: bool = False) -> pd.DataFrame:
        """Results of one measure; the G16 limits are off unless asked for, since a handful of
        hand-made children always fails some rate limit."""
        ds = self.dataset(engine, extract)
        return evaluate(ds, [registry()[measure_id]], [parse_window(window)], public=public,
                        quality_limits=quality_limits)

    def state(self, engine: str, measure_id: str, window: str = "2024Q4", **kwargs) -> tuple[float, float]:
        """(numerator, denominator) of the statewide `all` row."""
        row = cell(self.results(engine, measure_id, window, **kwargs), "state")
        return row.numerator, row.denominator


def cell(results: pd.DataFrame, county: str, stratum: str = "all", value: str = "all") -> pd.Series:
    rows = results[(results.county == county) & (results.stratum == stratum) & (results.stratum_value == value)]
    assert len(rows) == 1, f"expected one row for {county}/{stratum}/{value}, got {len(rows)}"
    return rows.iloc[0]
