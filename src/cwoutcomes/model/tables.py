"""The canonical tables of `data-model.md`, declared once.

Every other part of the package (loader, record checks, simulator, importers, measures) reads
table names, column types, code lists and references from here, so a change to the data model
is a change to this file only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class DType(str, Enum):
    STRING = "string"
    DATE = "date"
    # Date, or date with a time of day (only referrals.received_at / first_contact_at).
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    NUMBER = "number"
    CODE = "code"


@dataclass(frozen=True)
class Column:
    name: str
    dtype: DType
    required: bool = True
    # Code lists are ordered: allegation types by severity, dispositions by certainty.
    codes: tuple[str, ...] = ()
    nullable: bool = True
    references: str | None = None  # "table.column" this column points to
    doc: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    # Must be present for a data set to load; the spec's "required for safety measures" tables
    # (referrals, allegations, population) are optional here and make those measures
    # not_available when absent.
    required: bool = True
    doc: str = ""
    # Measure families that need the table; an absent optional table makes them not_available.
    needed_by: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


SEX = ("female", "male", "unknown")
RACE_ETHNICITY = ("hispanic", "aian", "asian", "black", "nhpi", "white", "multiracial", "unknown")
RESPONSE_TYPES = ("immediate", "ten_day", "evaluated_out", "other")
CONTACT_STATUS = ("completed", "attempted")
MALTREATMENT_TYPES = (
    "sexual_abuse", "physical_abuse", "severe_neglect", "general_neglect", "exploitation",
    "emotional_abuse", "caretaker_absence", "at_risk_sibling", "substantial_risk", "other",
)
DISPOSITIONS = ("substantiated", "indicated", "inconclusive", "unfounded", "evaluated_out", "pending")
VICTIM_DISPOSITIONS = ("substantiated", "indicated")
PERPETRATOR_TYPES = ("parent", "relative", "foster_parent", "facility_staff", "other", "unknown")
AGENCIES = ("child_welfare", "probation")
EXIT_REASONS = (
    "reunification", "living_with_relative", "adoption", "guardianship", "emancipation",
    "transfer", "runaway", "death", "other",
)
PERMANENCY_EXITS_FEDERAL = ("reunification", "living_with_relative", "adoption", "guardianship")
PERMANENCY_EXITS_CALIFORNIA = ("reunification", "adoption", "guardianship")
PLACEMENT_SETTINGS = (
    "pre_adoptive", "kin", "foster_home", "ffa_home", "group_home", "shelter", "guardian",
    "supervised_independent_living", "trial_home_visit", "runaway", "respite", "other",
)
# G9: settings that are not placements for counting moves.
NON_MOVE_SETTINGS = ("trial_home_visit", "runaway", "respite")
CONTACT_METHODS = ("in_person", "video", "phone", "other")
CONTACT_LOCATIONS = ("residence", "other")
SERVICE_CASE_TYPES = (
    "emergency_response", "family_maintenance", "family_reunification", "permanent_placement", "other",
)
EXAM_TYPES = ("medical", "dental")
ASSESSMENT_TYPES = ("safety", "risk", "risk_reassessment", "reunification_reassessment", "strengths_needs")
ASSESSMENT_RESULTS = ("safe", "conditionally_safe", "unsafe", "low", "moderate", "high", "very_high")
PRACTICES = (
    "cft_meeting", "safety_mapping", "harm_danger_statement", "safety_plan", "aftercare_safety_plan",
    "three_houses", "solution_focused_interview", "family_finding", "parents_in_partnership",
    "behaviorally_based_case_plan", "coaching",
)
SERVICE_REFERRAL_TYPES = (
    "parenting", "substance_use", "mental_health", "domestic_violence", "housing", "health",
    "education", "other",
)

STATE = "state"  # reserved county code for whole-state results


def _c(name, dtype, required=True, codes=(), nullable=True, references=None, doc=""):
    return Column(name, dtype, required, tuple(codes), nullable, references, doc)


S, D, DT, B, I, N, C = (DType.STRING, DType.DATE, DType.DATETIME, DType.BOOLEAN, DType.INTEGER,
                        DType.NUMBER, DType.CODE)

TABLES: dict[str, Table] = {t.name: t for t in (
    Table("children", (
        _c("child_id", S, nullable=False),
        _c("birth_date", D, doc="null is a data-quality error"),
        _c("sex", C, codes=SEX),
        _c("race_ethnicity", C, codes=RACE_ETHNICITY),
        _c("icwa_eligible", B, required=False),
    ), key=("child_id",), doc="One row per child."),
    Table("referrals", (
        _c("referral_id", S, nullable=False),
        _c("county", S, references="counties.county"),
        _c("received_at", DT),
        _c("response_type", C, codes=RESPONSE_TYPES),
        _c("first_contact_at", DT),
        _c("first_contact_status", C, codes=CONTACT_STATUS),
    ), key=("referral_id",), required=False, needed_by=("safety",), doc="One row per report of alleged maltreatment."),
    Table("allegations", (
        _c("allegation_id", S, nullable=False),
        _c("referral_id", S, references="referrals.referral_id"),
        _c("child_id", S, references="children.child_id"),
        _c("maltreatment_type", C, codes=MALTREATMENT_TYPES),
        _c("disposition", C, codes=DISPOSITIONS),
        _c("disposition_date", D),
        _c("incident_date", D, required=False),
        _c("perpetrator_type", C, codes=PERPETRATOR_TYPES),
        _c("fatality", B, required=False),
    ), key=("allegation_id",), required=False, needed_by=("safety",),
        doc="One row per child per alleged maltreatment type within a referral."),
    Table("episodes", (
        _c("episode_id", S, nullable=False),
        _c("child_id", S, references="children.child_id"),
        _c("county", S, references="counties.county"),
        _c("agency", C, codes=AGENCIES),
        _c("removal_date", D, nullable=False),
        _c("exit_date", D),
        _c("exit_reason", C, codes=EXIT_REASONS),
        _c("legally_free_date", D, required=False),
    ), key=("episode_id",), doc="One row per removal episode."),
    Table("placements", (
        _c("placement_id", S, nullable=False),
        _c("episode_id", S, references="episodes.episode_id"),
        _c("child_id", S, references="children.child_id"),
        _c("start_date", D, nullable=False),
        _c("end_date", D),
        _c("setting", C, codes=PLACEMENT_SETTINGS),
        _c("provider_id", S),
        _c("caregiver_relative", B, required=False),
        _c("caregiver_indian", B, required=False),
    ), key=("placement_id",), doc="One row per placement setting within an episode."),
    Table("contacts", (
        _c("contact_id", S, nullable=False),
        _c("child_id", S, references="children.child_id"),
        _c("contact_date", D),
        _c("method", C, codes=CONTACT_METHODS),
        _c("status", C, codes=CONTACT_STATUS),
        _c("location", C, codes=CONTACT_LOCATIONS),
    ), key=("contact_id",), required=False, needed_by=("2F", "2S")),
    Table("service_cases", (
        _c("case_id", S, nullable=False),
        _c("child_id", S, references="children.child_id"),
        _c("county", S, references="counties.county"),
        _c("start_date", D),
        _c("end_date", D),
        _c("service_type", C, codes=SERVICE_CASE_TYPES),
    ), key=("case_id",), required=False, needed_by=("2S",)),
    Table("siblings", (
        _c("child_id", S, references="children.child_id"),
        _c("sibling_group_id", S),
    ), key=("child_id", "sibling_group_id"), required=False, needed_by=("4A",)),
    Table("health_exams", (
        _c("child_id", S, references="children.child_id"),
        _c("exam_date", D),
        _c("exam_type", C, codes=EXAM_TYPES),
    ), required=False, needed_by=("5B",)),
    Table("medication_authorizations", (
        _c("child_id", S, references="children.child_id"),
        _c("start_date", D),
        _c("end_date", D),
    ), required=False, needed_by=("5F",)),
    Table("youth_transitions", (
        _c("child_id", S, references="children.child_id"),
        _c("episode_id", S, references="episodes.episode_id"),
        _c("exit_date", D),
        _c("completed_high_school", B),
        _c("enrolled_in_education", B),
        _c("employed", B),
        _c("housing_arranged", B),
        _c("received_ilp", B),
        _c("permanent_connection", B),
    ), required=False, needed_by=("8A",)),
    Table("assessments", (
        _c("assessment_id", S, nullable=False),
        _c("referral_id", S, references="referrals.referral_id"),
        _c("child_id", S, references="children.child_id"),
        _c("assessment_type", C, codes=ASSESSMENT_TYPES),
        _c("completed_date", D),
        _c("result", C, codes=ASSESSMENT_RESULTS),
    ), key=("assessment_id",), required=False, needed_by=("CPM-SA", "CPM-RA", "CPM-ALIGN")),
    Table("practice_events", (
        _c("event_id", S, nullable=False),
        _c("child_id", S, references="children.child_id"),
        _c("episode_id", S, references="episodes.episode_id"),
        _c("practice", C, codes=PRACTICES),
        _c("event_date", D),
        _c("network_present", B),
    ), key=("event_id",), required=False, needed_by=("cpm",)),
    Table("service_referrals", (
        _c("service_referral_id", S, nullable=False),
        _c("child_id", S, references="children.child_id"),
        _c("referral_date", D),
        _c("service_type", C, codes=SERVICE_REFERRAL_TYPES),
    ), key=("service_referral_id",), required=False, needed_by=("CPM-ALIGN",)),
    Table("population", (
        _c("year", I, nullable=False),
        _c("county", S, references="counties.county"),
        _c("age", I),
        _c("sex", C, codes=SEX),
        _c("race_ethnicity", C, codes=RACE_ETHNICITY),
        _c("population", I),
    ), key=("year", "county", "age", "sex", "race_ethnicity"), required=False, needed_by=("rates",),
        doc="Child population estimates as of July 1, by single year of age 0-17."),
    Table("counties", (
        _c("county", S, nullable=False),
        _c("name", S),
        _c("region", S, required=False),
    ), key=("county",), required=False,
        doc="Defaults to California's 58 counties shipped with the package."),
    Table("targets", (
        _c("county", S),
        _c("measure_id", S),
        _c("baseline_period", S),
        _c("baseline_value", N),
        _c("target_value", N),
        _c("target_date", D),
    ), required=False),
)}

REQUIRED_TABLES = tuple(name for name, t in TABLES.items() if t.required)

# Columns of the results table that `compute` writes (data-model.md, Results).
RESULT_COLUMNS = (
    "measure_id", "measure_version", "period_type", "period_label", "period_start", "period_end",
    "county", "stratum", "stratum_value", "numerator", "denominator", "value", "unit", "status",
    "national_standard", "target",
)
RESULT_STATUSES = ("ok", "masked", "data_quality", "not_available", "incomplete")


def table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; the model has {', '.join(TABLES)}") from None


def arrow_schema(name: str, *, with_time_flags: bool = False):
    """The Arrow schema of a model table (column order of the model). With `with_time_flags`,
    each date-or-timestamp column is followed by its `<name>_has_time` flag, as the loader
    stores it."""
    import pyarrow as pa

    types = {
        DType.STRING: pa.string(), DType.CODE: pa.string(), DType.DATE: pa.date32(),
        DType.DATETIME: pa.timestamp("us"), DType.BOOLEAN: pa.bool_(), DType.INTEGER: pa.int64(),
        DType.NUMBER: pa.float64(),
    }
    fields = []
    for col in table(name).columns:
        fields.append(pa.field(col.name, types[col.dtype]))
        if with_time_flags and col.dtype is DType.DATETIME:
            fields.append(pa.field(f"{col.name}_has_time", pa.bool_()))
    return pa.schema(fields)
