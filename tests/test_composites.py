"""Round 2 composites (measures.md §3) over tiny hand-made results tables whose z-scores, weights,
means of components and 50-150 scaling are worked out by hand in the comments."""

import datetime as dt
import math

import pandas as pd
import pytest
from timelines import ALAMEDA, FRESNO, Timelines

from cwoutcomes.cli import compute_results, selected_measures
from cwoutcomes.errors import CwoutcomesError
from cwoutcomes.measures import registry
from cwoutcomes.measures.composites import WEIGHTS, Reference, add_composites, load_reference

X, Y, Z = "06001", "06019", "06037"
SERVED = {X: 100.0, Y: 300.0, Z: 600.0, "state": 1000.0}


def row(measure, county, value, *, denominator=20.0, status="ok", stratum="all", stratum_value="all"):
    return {
        "measure_id": measure, "measure_version": "cfsr2", "period_type": "year", "period_label": "2024Q4",
        "period_start": dt.date(2024, 1, 1), "period_end": dt.date(2024, 12, 31), "county": county,
        "stratum": stratum, "stratum_value": stratum_value, "numerator": float("nan"),
        "denominator": denominator, "value": value, "unit": "percent", "status": status,
        "national_standard": float("nan"), "target": float("nan"), "ci_lower": float("nan"),
        "ci_upper": float("nan"), "reference_median": float("nan"),
    }


def results_for(values: dict[str, dict[str, float]], extra=()) -> pd.DataFrame:
    """values: measure -> county -> value; S2.1 rows carry the children served; the state's own
    values (unused by relative composites) are 0; an age stratum row is there to be ignored."""
    rows = [row("S2.1", county, 99.0, denominator=served) for county, served in SERVED.items()]
    for measure, by_county in values.items():
        rows += [row(measure, county, value) for county, value in by_county.items()]
        rows.append(row(measure, "state", 0.0))
        rows.append(row(measure, X, 1000.0, stratum="age_group", stratum_value="17"))
    return pd.DataFrame(rows + list(extra))


def composite(results: pd.DataFrame, composite_id: str, county: str) -> pd.Series:
    rows = results[(results.measure_id == composite_id) & (results.county == county)]
    assert len(rows) == 1
    return rows.iloc[0]


C4_VALUES = {
    "C4.1": {X: 80.0, Y: 90.0, Z: 100.0},  # mean 90, sample sd 10: z = -1, 0, 1
    "C4.2": {X: 60.0, Y: 50.0, Z: 70.0},  # mean 60, sd 10: z = 0, -1, 1
    "C4.3": {X: 30.0, Y: 40.0, Z: 20.0},  # mean 30, sd 10: z = 0, 1, -1
}
# One component: X = -0.398; Y = -0.417 + 0.400 = -0.017; Z = 0.398 + 0.417 - 0.400 = 0.415.
C4_RAW = {X: -0.398, Y: -0.017, Z: 0.415}


def scaled(score, low, high):
    return 100 * (score - low) / (high - low) + 50


def test_relative_c4_counties_and_state_weighted_by_children_served():
    out = add_composites(results_for(C4_VALUES))
    assert composite(out, "C4", X).value == pytest.approx(50.0)
    assert composite(out, "C4", Z).value == pytest.approx(150.0)
    assert composite(out, "C4", Y).value == pytest.approx(100 * (0.381 / 0.813) + 50)  # 96.86
    # State: (100 x -0.398 + 300 x -0.017 + 600 x 0.415) / 1000 = 0.2041 -> 124.06.
    state = composite(out, "C4", "state")
    assert state.value == pytest.approx(100 * (0.2041 + 0.398) / 0.813 + 50)
    assert (state.denominator, composite(out, "C4", Y).denominator) == (1000.0, 300.0)
    assert state.unit == "relative_score" and math.isnan(state.national_standard)
    assert state.status == "ok" and state.stratum == "all" and state.measure_version == "cfsr2"
    # Only C4's measures are present, so no other composite is written.
    assert set(out.measure_id) - set(results_for(C4_VALUES).measure_id) == {"C4"}


def test_sign_flips_and_the_mean_of_two_components():
    values = {
        "C1.1": {X: 60.0, Y: 70.0, Z: 80.0},  # z = -1, 0, 1
        "C1.2": {X: 8.0, Y: 6.0, Z: 7.0},  # mean 7, sd 1: z = 1, -1, 0; flipped -1, 1, 0
        "C1.3": {X: 40.0, Y: 40.0, Z: 40.0},  # sd 0: z = 0 for every county
        "C1.4": {X: 10.0, Y: 20.0, Z: 15.0},  # mean 15, sd 5: z = -1, 1, 0; flipped 1, -1, 0
    }
    out = add_composites(results_for(values))
    # A: X = -0.462 - 0.451 + 0.129 = -0.784; Y = 0.451 - 0.129 = 0.322; Z = 0.462.
    # B: X = -0.085 - 0.070 + 1.025 = 0.870; Y = 0.070 - 1.025 = -0.955; Z = 0.085.
    # Composite = (A + B) / 2: X = 0.043, Y = -0.3165 (min), Z = 0.2735 (max).
    assert composite(out, "C1", X).value == pytest.approx(scaled(0.043, -0.3165, 0.2735))  # 110.93
    assert composite(out, "C1", Y).value == pytest.approx(50.0)
    assert composite(out, "C1", Z).value == pytest.approx(150.0)


def full_reference(**overrides) -> Reference:
    mean_sd = {m: (50.0, 10.0) for weights in WEIGHTS.values() for c in weights.values() for m in c}
    mean_sd.update(overrides)
    return Reference(mean_sd, {c: (-1.0, 1.0) for c in WEIGHTS})


def test_user_reference_distribution_and_national_standard():
    reference = full_reference(**{"C4.1": (85.0, 5.0), "C4.2": (60.0, 10.0), "C4.3": (35.0, 5.0)})
    out = add_composites(results_for(C4_VALUES), reference)
    # X: z = (80 - 85) / 5 = -1, (60 - 60) / 10 = 0, (30 - 35) / 5 = -1
    # -> -0.398 - 0.400 = -0.798 -> 100 x (-0.798 + 1) / 2 + 50 = 60.1.
    x = composite(out, "C4", X)
    assert x.value == pytest.approx(60.1)
    assert x.unit == "composite_score" and x.national_standard == 101.5
    # Z: z = 3, 1, -3 -> 1.194 + 0.417 - 1.2 = 0.411 -> 120.55: scores outside the reference
    # units' range are not clipped.
    assert composite(out, "C4", Z).value == pytest.approx(100 * (0.411 + 1) / 2 + 50)


def test_missing_values_and_statuses():
    values = {m: dict(v) for m, v in C4_VALUES.items()}
    extra = [
        row("C4.1", "06065", 70.0), row("C4.2", "06065", float("nan"), denominator=0.0),
        row("C4.3", "06065", 10.0),
        row("C4.1", "06071", float("nan"), status="data_quality"), row("C4.2", "06071", 10.0),
        row("C4.3", "06071", 10.0),
    ]
    out = add_composites(results_for(values, extra))
    # Counties lacking a value are no reference units: X, Y and Z score as before.
    assert composite(out, "C4", Y).value == pytest.approx(100 * (0.381 / 0.813) + 50)
    empty = composite(out, "C4", "06065")
    assert math.isnan(empty.value) and empty.status == "ok"
    flagged = composite(out, "C4", "06071")
    assert math.isnan(flagged.value) and flagged.status == "data_quality"


def test_results_without_round_2_are_unchanged():
    results = pd.DataFrame([row("4-P1", X, 40.0) | {"measure_version": "cfsr4"}])
    assert add_composites(results).equals(results)


def test_load_reference_csv(tmp_path):
    lines = ["id,mean,sd,min,max"]
    lines += [f"{m},50,10,," for weights in WEIGHTS.values() for c in weights.values() for m in c]
    lines += [f"{c},,,-2,2" for c in WEIGHTS]
    path = tmp_path / "reference.csv"
    path.write_text("\n".join(sorted(set(lines), key=lines.index)) + "\n")
    reference = load_reference(path)
    assert reference.mean_sd["C2.4"] == (50.0, 10.0) and reference.scale["C3"] == (-2.0, 2.0)
    path.write_text(path.read_text().replace("C1.2,50,10", "C1.2,50,ten"))
    with pytest.raises(CwoutcomesError, match=r"row 2 \(C1.2\): sd 'ten' is not a number"):
        load_reference(path)
    path.write_text("id,mean,sd,min,max\nC1.1,50,10,,\n")
    with pytest.raises(CwoutcomesError, match="no mean and sd for measure C1.2"):
        load_reference(path)


LA = "06037"


def stability_timelines() -> Timelines:
    """Three counties whose C4.1 values are 100, 0 and 50 and C4.2 = C4.3 = 100."""
    t = Timelines()
    la = LA
    one = [("2024-03-01", "foster_home", "h1")]
    three = one + [("2024-05-01", "foster_home", "h2"), ("2024-07-01", "foster_home", "h3")]
    # C4.1 children (removed 2024-03-01, still in care): one setting or three.
    for child, county, placements in [("a1", ALAMEDA, one), ("f1", FRESNO, three), ("l1", la, one),
                                      ("l2", la, three)]:
        t.child(child, "2012-01-01")
        t.episode(child, "2024-03-01", county=county,
                  placements=[(start, kind, f"{child}-{home}") for start, kind, home in placements])
    # In every county one child in C4.2 and one in C4.3, each with one setting.
    for county in (ALAMEDA, FRESNO, la):
        for band, removal in (("m", "2023-06-01"), ("y", "2022-01-01")):
            t.child(f"{county}-{band}", "2012-01-01")
            t.episode(f"{county}-{band}", removal, county=county)
    return t


def test_compute_appends_relative_composites():
    la = LA
    measures = [m for m in registry().values() if m.version == "cfsr2"]
    results = compute_results(stability_timelines().dataset("duckdb"), measures, "2024Q4", 1, False)
    c4 = results[results.measure_id == "C4"].set_index("county")
    assert (c4.unit == "relative_score").all()
    # C4.1 = 100, 0, 50 (mean 50, sd 50: z = 1, -1, 0); C4.2 = C4.3 = 100 everywhere (z = 0).
    # Raw: 0.398, -0.398, 0 -> 150, 50, 100; state (3 x 0.398 - 3 x 0.398 + 4 x 0) / 10 = 0 -> 100.
    assert c4.value.loc[[ALAMEDA, FRESNO, la, "state"]].tolist() == pytest.approx([150, 50, 100, 100])
    assert c4.denominator.loc[[ALAMEDA, FRESNO, la, "state"]].tolist() == [3, 3, 4, 10]
    assert {"C1", "C2", "C3"} <= set(results.measure_id)  # written, without values here


def test_composites_are_registered_with_their_measures():
    measures = registry()
    for composite in WEIGHTS:
        m = measures[composite]
        assert m.is_composite and m.version == "cfsr2" and m.direction == "higher"
        assert set(m.inputs) == {mid for weights in WEIGHTS[composite].values() for mid in weights}
        assert all(not measures[mid].is_composite for mid in m.inputs)
    assert measures["C2"].reference == {"standard (national reference only)": 106.4}
    assert "sign flipped for C1.2, C1.4" in measures["C1"].definition
    assert "0.462 x z(C1.1)" in measures["C1"].definition
    from cwoutcomes.model.framework import areas_for

    assert areas_for("C1", measures["C1"].inputs) == ["permanency_stability"]
    assert areas_for("C1") == [] and areas_for("C1.1", ("S1.1",)) == ["permanency_stability"]


def test_selecting_a_composite_computes_its_measures_and_only_it():
    selected = selected_measures("C4", with_inputs=True)
    assert [m.id for m in selected] == ["C4.1", "C4.2", "C4.3", "C4"]
    results = compute_results(stability_timelines().dataset("duckdb"), selected, "2024Q4", 1, False)
    assert set(results.measure_id) == {"C4.1", "C4.2", "C4.3", "C4"}
    c4 = results[results.measure_id == "C4"].set_index("county").value
    assert c4.loc[[ALAMEDA, FRESNO, LA, "state"]].tolist() == pytest.approx([150, 50, 100, 100])


def test_explain_names_the_inputs_of_a_composite():
    from typer.testing import CliRunner

    from cwoutcomes.cli import app

    result = CliRunner().invoke(app, ["explain", "C3"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "no SQL of its own" in text and "C3.1, C3.2, C3.3" in text
    listing = CliRunner().invoke(app, ["measures"], terminal_width=400)
    assert listing.exit_code == 0
    assert any(line.split("│")[1].strip() == "C4" for line in listing.output.splitlines() if "│" in line)
