"""The same measures on DuckDB and Spark give identical results on a synthetic data set, and
the command line computes and explains them."""

import os

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cwoutcomes.cli import app
from cwoutcomes.engine.dataset import Dataset
from cwoutcomes.engine.evaluator import evaluate
from cwoutcomes.engine.periods import parse_windows
from cwoutcomes.ingest import load_dataset
from cwoutcomes.measures import registry
from cwoutcomes.synth import generate

FEDERAL = [m for m in registry().values() if m.version in ("cfsr4", "cfsr3")]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    import datetime as dt

    root = tmp_path_factory.mktemp("synthetic")
    generate(root / "data", scale=0.001, seed=7, start=dt.date(2019, 1, 1), end=dt.date(2025, 12, 31),
             faults=0.002)
    summary = load_dataset(root / "data", root / "loaded.duckdb")
    return summary.db_path


def sort(results):
    keys = ["measure_id", "period_label", "period_type", "county", "stratum", "stratum_value"]
    return results.sort_values(keys, ignore_index=True)


@pytest.mark.spark
@pytest.mark.skipif(os.environ.get("CWOUTCOMES_SKIP_SPARK") == "1", reason="Spark disabled")
def test_federal_measures_identical_on_duckdb_and_spark(loaded):
    windows = parse_windows("2023Q4,2024Q4")
    on_duckdb = sort(evaluate(Dataset.from_database(loaded), FEDERAL, windows))
    on_spark = sort(evaluate(Dataset.from_database(loaded, engine="spark"), FEDERAL, windows))
    assert len(on_duckdb) > 1000
    assert on_duckdb.numerator.sum() > 0
    pd.testing.assert_frame_equal(on_duckdb, on_spark, check_dtype=False)


@pytest.mark.spark
@pytest.mark.skipif(os.environ.get("CWOUTCOMES_SKIP_SPARK") == "1", reason="Spark disabled")
@pytest.mark.parametrize("version", ["ca", "cfsr2", "cpm"])
def test_california_round_2_and_practice_measures_identical_on_duckdb_and_spark(loaded, version):
    measures = [m for m in registry().values() if m.version == version and not m.is_composite]
    windows = parse_windows("2024Q4")
    on_duckdb = sort(evaluate(Dataset.from_database(loaded), measures, windows))
    on_spark = sort(evaluate(Dataset.from_database(loaded, engine="spark"), measures, windows))
    assert set(on_duckdb.measure_id) == {m.id for m in measures}
    assert (on_duckdb.status == "ok").any() and on_duckdb.denominator.sum() > 0
    pd.testing.assert_frame_equal(on_duckdb, on_spark, check_dtype=False)


@pytest.mark.spark
@pytest.mark.skipif(os.environ.get("CWOUTCOMES_SKIP_SPARK") == "1", reason="Spark disabled")
def test_practice_comparison_identical_on_duckdb_and_spark(loaded):
    from cwoutcomes.measures.practice_outcomes import practice_outcomes

    keys = ["period_label", "county", "practice", "component", "outcome", "outcome_measure", "group"]
    on_duckdb = practice_outcomes(Dataset.from_database(loaded), ["2024Q4"]).sort_values(keys, ignore_index=True)
    on_spark = practice_outcomes(Dataset.from_database(loaded, engine="spark"), ["2024Q4"]).sort_values(
        keys, ignore_index=True)
    assert len(on_duckdb) > 0 and on_duckdb.denominator.sum() > 0
    pd.testing.assert_frame_equal(on_duckdb, on_spark, check_dtype=False)


def test_compute_and_explain_commands(loaded, tmp_path):
    runner = CliRunner()
    out = tmp_path / "results.csv"
    result = runner.invoke(app, ["compute", str(loaded), "--out", str(out), "--windows", "2024Q4",
                                 "--measures", "4-P1,4-S2"])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out, dtype={"county": str})
    assert set(written.measure_id) == {"4-P1", "4-S2"}
    state = written[(written.county == "state") & (written.stratum == "all")]
    assert len(state) == 2 and (state.denominator > 0).all()
    assert "4-P1" in result.output
    assert not (tmp_path / "results.practice.csv").exists()  # no practice measure selected

    result = runner.invoke(app, ["compute", str(loaded), "--out", str(out), "--windows", "2024Q4",
                                 "--measures", "CPM-CFT"])
    assert result.exit_code == 0, result.output
    comparison = pd.read_csv(tmp_path / "results.practice.csv", dtype={"county": str})
    assert set(comparison.group) == {"received", "not_received"}
    assert comparison.note.str.contains("not causal").all()
    state = comparison[(comparison.county == "state") & (comparison.outcome_measure == "4-P1")]
    # Each pair (a practice, for one of the outcomes its components target) adds up to the same
    # 4-P1 cohort.
    pairs = state.groupby(["practice", "component", "outcome"]).denominator
    assert (pairs.size() == 2).all() and pairs.sum().nunique() == 1

    explained = runner.invoke(app, ["explain", "4-P1", "--engine", "duckdb"])
    assert explained.exit_code == 0 and "SELECT" in explained.output and "Permanency" in explained.output

    unknown = runner.invoke(app, ["compute", str(loaded), "--measures", "9-X9"])
    assert unknown.exit_code == 2 and "unknown measure" in unknown.output


def test_public_compute_masks_small_cells(loaded):
    results = evaluate(Dataset.from_database(loaded), [registry()["4-P1"]], parse_windows("2024Q4"),
                       public=True)
    shown = results[results.status.isin(["ok", "incomplete"])]
    small = shown.numerator.between(1, 10) | shown.denominator.between(1, 10)
    assert not small.any()
    assert (results.status == "masked").any()
    assert results.loc[results.status == "masked", "value"].isna().all()
