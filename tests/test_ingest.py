"""The loader: input kinds, types, extract date, reproducibility, errors and the CLI."""

import datetime as dt
import json

import duckdb
import pytest
from typer.testing import CliRunner

from cwoutcomes.cli import app
from cwoutcomes.errors import InputError
from cwoutcomes.ingest import LoadSummary, load_dataset
from cwoutcomes.ingest.loader import output_columns
from cwoutcomes.model.tables import TABLES
from ingest_helpers import D, base, dq, keys, load, write_dataset

MODEL_TABLES = [name for name in TABLES]


def contents(con) -> dict[str, list[tuple]]:
    """Every model table and the data-quality findings, sorted, for comparing databases."""
    names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    out = {name: sorted(con.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)
           for name in MODEL_TABLES if name in names}
    out["data_quality"] = con.execute(
        "SELECT table_name, record_key, column_name, value, rule, effect FROM data_quality").fetchall()
    return out


def messy_base():
    """BASE with an extra column, an extra file's worth of table and a flagged and a rejected row."""
    tables = base(
        episodes=[{"episode_id": "E5", "child_id": "C3", "county": "06037", "agency": "child_welfare",
                   "removal_date": D(2023, 1, 1), "exit_date": D(2023, 2, 1), "exit_reason": None}],
        placements=[{"placement_id": "P6", "episode_id": "E9", "child_id": "C3", "start_date": D(2023, 1, 1),
                     "setting": "kin", "provider_id": "H9"}],
    )
    for row in tables["children"]:
        row["favourite_colour"] = "blue"  # extra columns are ignored
    return tables


def test_csv_parquet_and_duckdb_give_the_same_database(tmp_path):
    results = {}
    for fmt in ("csv", "parquet", "duckdb"):
        summary, con = load(tmp_path, messy_base(), fmt, name=fmt)
        results[fmt] = (contents(con), summary.row_counts, summary.rule_counts)
        con.close()
    assert results["csv"] == results["parquet"] == results["duckdb"]
    data, rows, rules = results["csv"]
    assert rows["episodes"] == 5 and rows["placements"] == 5
    assert rules["R3"] == 1 and rules["R9"] == 1 and rules["R11"] == 1
    # The referral's clock times survive each route, flagged as having a time.
    assert data["referrals"] == [("F1", "06001", dt.datetime(2019, 12, 30, 8, 30), True, "immediate",
                                  dt.datetime(2019, 12, 30, 20, 0), True, "completed")]


def test_source_row_is_csv_line_parquet_index_or_null(tmp_path):
    expected = {"csv": 5, "parquet": 4, "duckdb": None}  # E5 is the 5th episode row
    for fmt, row in expected.items():
        _, con = load(tmp_path, messy_base(), fmt, name=fmt)
        found = con.execute("SELECT source_file, source_row FROM data_quality WHERE rule = 'R9'").fetchall()
        source_file = {"csv": "episodes.csv", "parquet": "episodes.parquet", "duckdb": "source.duckdb:episodes"}
        assert found == [(source_file[fmt], row)]


def test_output_types_optional_columns_and_time_flags(tmp_path):
    tables = base(referrals=[
        {"referral_id": "F2", "county": "06001", "received_at": "2020-02-03", "response_type": "ten_day",
         "first_contact_at": "2020-02-03T10:15:00+02:00", "first_contact_status": "attempted"},
    ])
    for row in tables["children"]:
        del row["icwa_eligible"]  # optional column left out entirely
    summary, con = load(tmp_path, tables)
    types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'referrals'")
                 .fetchall())
    assert types == {"referral_id": "VARCHAR", "county": "VARCHAR", "received_at": "TIMESTAMP",
                     "received_at_has_time": "BOOLEAN", "response_type": "VARCHAR",
                     "first_contact_at": "TIMESTAMP", "first_contact_at_has_time": "BOOLEAN",
                     "first_contact_status": "VARCHAR"}
    # A date-only value has no time; an offset is converted to UTC.
    assert con.execute("SELECT received_at, received_at_has_time, first_contact_at, first_contact_at_has_time "
                       "FROM referrals WHERE referral_id = 'F2'").fetchone() == (
        dt.datetime(2020, 2, 3), False, dt.datetime(2020, 2, 3, 8, 15), True)
    assert [r[0] for r in con.execute("DESCRIBE children").fetchall()] == output_columns("children")
    assert con.execute("SELECT count(*) FROM children WHERE icwa_eligible IS NULL").fetchone() == (3,)
    assert dict((r[0], r[1]) for r in con.execute("DESCRIBE children").fetchall()) == {
        "child_id": "VARCHAR", "birth_date": "DATE", "sex": "VARCHAR", "race_ethnicity": "VARCHAR",
        "icwa_eligible": "BOOLEAN"}


def test_parquet_date_column_in_a_datetime_field_has_no_time(tmp_path):
    source = write_dataset(tmp_path / "src", base(), "parquet")
    # The model's Arrow schema makes received_at a timestamp; rewrite it as a DATE column.
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * REPLACE (CAST(received_at AS DATE) AS received_at) FROM "
                f"'{source / 'referrals.parquet'}') TO '{source / 'r.parquet'}' (FORMAT parquet)")
    (source / "r.parquet").replace(source / "referrals.parquet")
    summary = load_dataset(source, tmp_path / "db.duckdb", extract_date=D(2024, 12, 31))
    out = duckdb.connect(str(summary.db_path), read_only=True)
    assert out.execute("SELECT received_at, received_at_has_time, first_contact_at_has_time FROM referrals"
                       ).fetchone() == (dt.datetime(2019, 12, 30), False, True)


def test_extract_date_from_argument_then_dataset_json_then_data(tmp_path):
    tables = base()
    source = write_dataset(tmp_path / "src", tables)
    # latest date in BASE: E4's exit and P5's end, 2022-01-01
    assert load_dataset(source, tmp_path / "a.duckdb").extract_date == D(2022, 1, 1)
    (source / "dataset.json").write_text(json.dumps({"extract_date": "2021-06-30", "seed": 1}))
    summary = load_dataset(source, tmp_path / "b.duckdb")
    assert summary.extract_date == D(2021, 6, 30)
    assert "dataset.json" not in summary.ignored_files
    # with the earlier extract date, E4 (exit 2022-01-01) and P5 (end 2022-01-01) are in the future
    con = duckdb.connect(str(summary.db_path), read_only=True)
    assert [(t, k, c) for t, k, c, *_ in dq(con, "R6")] == [("episodes", "E4", "exit_date"),
                                                            ("placements", "P5", "end_date")]
    info = dict(con.execute("SELECT key, value FROM dataset_info").fetchall())
    assert info["extract_date"] == "2021-06-30" and info["extract_date_source"] == "dataset.json"
    assert load_dataset(source, tmp_path / "c.duckdb", extract_date=D(2030, 1, 1)).extract_date == D(2030, 1, 1)


def test_bad_dataset_json_names_the_file(tmp_path):
    source = write_dataset(tmp_path / "src", base())
    (source / "dataset.json").write_text('{"extract_date": "2021-02-30"}')
    with pytest.raises(InputError, match="dataset.json"):
        load_dataset(source, tmp_path / "db.duckdb")


def test_loading_twice_gives_identical_databases_and_replaces_the_old_one(tmp_path):
    source = write_dataset(tmp_path / "src", messy_base())
    db = tmp_path / "out" / "db.duckdb"
    first = load_dataset(source, db, extract_date=D(2024, 12, 31))
    con = duckdb.connect(str(db), read_only=True)
    before = contents(con), con.execute("SELECT * FROM dataset_info").fetchall(), \
        con.execute("SELECT * FROM data_quality").fetchall()
    con.close()
    csv_before = first.data_quality_csv.read_text()
    second = load_dataset(source, db, extract_date=D(2024, 12, 31))
    con = duckdb.connect(str(db), read_only=True)
    after = contents(con), con.execute("SELECT * FROM dataset_info").fetchall(), \
        con.execute("SELECT * FROM data_quality").fetchall()
    con.close()
    assert before == after and first == second
    assert second.data_quality_csv.read_text() == csv_before
    assert csv_before.splitlines()[0] == "table_name,record_key,column_name,value,rule,effect,source_file,source_row"
    # Loading a different data set into the same file replaces everything in it.
    third = load_dataset(write_dataset(tmp_path / "src2", base()), db, extract_date=D(2024, 12, 31))
    con = duckdb.connect(str(db), read_only=True)
    assert third.rule_counts["R9"] == 0 and dq(con) == [] and keys(con, "episodes") == ["E1", "E2", "E3", "E4"]
    assert sorted(p.name for p in db.parent.iterdir()) == ["data_quality.csv", "db.duckdb"]


def test_summary_counts_ignored_files_and_default_counties(tmp_path):
    tables = base()
    del tables["counties"]  # the package's 58 California counties are used
    tables["episodes"][0]["county"] = "06999"  # not a California county
    source = write_dataset(tmp_path / "src", tables)
    (source / "notes.txt").write_text("not data")
    (source / "old").mkdir()
    calls = []
    summary = load_dataset(source, tmp_path / "db.duckdb", extract_date=D(2024, 12, 31),
                           progress=lambda label, done, total: calls.append((done, total)))
    assert isinstance(summary, LoadSummary)
    assert summary.ignored_files == ["notes.txt", "old/"]
    assert summary.row_counts["counties"] == 58
    assert summary.row_counts["episodes"] == 3  # E1 rejected (R3 county)...
    assert summary.rule_counts["R3"] == 3  # ... and so its placements P1 and P2
    assert list(summary.rule_counts) == [f"R{i}" for i in range(1, 12)]
    assert calls[-1][0] == calls[-1][1] and [d for d, _ in calls] == sorted(d for d, _ in calls)
    con = duckdb.connect(str(summary.db_path), read_only=True)
    assert con.execute("SELECT name FROM counties WHERE county = '06037'").fetchone() == ("Los Angeles",)
    assert [r[0] for r in con.execute("DESCRIBE counties").fetchall()] == ["county", "name", "region"]


def test_temp_dir_and_memory_limit(tmp_path):
    source = write_dataset(tmp_path / "src", base())
    temp = tmp_path / "spill"
    summary = load_dataset(source, tmp_path / "db.duckdb", extract_date=D(2024, 12, 31),
                           memory_limit="256MB", temp_dir=temp)
    assert temp.is_dir()  # the caller's folder is left in place
    assert summary.row_counts["children"] == 3
    assert not (tmp_path / "db.duckdb.tmp").exists()


def test_missing_required_table_names_table_and_folder(tmp_path):
    tables = base()
    del tables["placements"]
    source = write_dataset(tmp_path / "src", tables)
    with pytest.raises(InputError) as err:
        load_dataset(source, tmp_path / "db.duckdb")
    assert "placements" in str(err.value) and str(source) in str(err.value)
    assert not (tmp_path / "db.duckdb").exists()


def test_missing_required_table_in_a_duckdb_source(tmp_path):
    tables = base()
    del tables["episodes"]
    source = write_dataset(tmp_path / "src", tables, "duckdb")
    with pytest.raises(InputError, match="episodes"):
        load_dataset(source, tmp_path / "db.duckdb")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_missing_required_column_names_table_column_and_file(tmp_path, fmt):
    tables = base()
    for row in tables["episodes"]:
        del row["removal_date"]
    source = write_dataset(tmp_path / "src", tables, fmt)
    with pytest.raises(InputError) as err:
        load_dataset(source, tmp_path / "db.duckdb")
    message = str(err.value)
    assert "episodes" in message and "removal_date" in message and f"episodes.{fmt}" in message
    assert err.value.field == "removal_date"


def test_unreadable_files_are_named(tmp_path):
    source = write_dataset(tmp_path / "src", base(), "parquet")
    (source / "placements.parquet").write_bytes(b"PAR1 this is not really parquet")
    with pytest.raises(InputError, match="placements.parquet"):
        load_dataset(source, tmp_path / "db.duckdb")

    source = write_dataset(tmp_path / "src2", base())
    with open(source / "children.csv", "a", encoding="utf-8") as fh:
        fh.write("C9,2010-01-01,male,white,true,surplus,fields\n")
    with pytest.raises(InputError, match="children.csv"):
        load_dataset(source, tmp_path / "db2.duckdb")

    not_db = tmp_path / "data.duckdb"
    not_db.write_bytes(b"not a database at all" * 100)
    with pytest.raises(InputError, match="data.duckdb"):
        load_dataset(not_db, tmp_path / "db3.duckdb")


def test_a_table_given_twice_is_an_error(tmp_path):
    source = write_dataset(tmp_path / "src", base())
    write_dataset(source, {"children": base()["children"]}, "parquet")
    with pytest.raises(InputError, match="children.csv and children.parquet"):
        load_dataset(source, tmp_path / "db.duckdb")


def test_cli_validate_prints_counts_per_rule(tmp_path):
    source = write_dataset(tmp_path / "src", messy_base())
    db = tmp_path / "out.duckdb"
    result = CliRunner().invoke(app, ["validate", str(source), "--db", str(db), "--extract-date", "2024-12-31"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for rule, count in [("R1", 0), ("R3", 1), ("R9", 1), ("R10", 0), ("R11", 1)]:
        assert any(line.split("│")[1:3] and line.split("│")[1].strip() == rule
                   and line.split("│")[2].strip() == str(count) for line in lines), rule
    # Nothing child-level on the screen: no record keys.
    assert "E5" not in result.output and "P6" not in result.output
    assert db.exists()


def test_cli_validate_missing_table_is_one_line_and_exit_code_2(tmp_path):
    tables = base()
    del tables["children"]
    source = write_dataset(tmp_path / "src", tables)
    result = CliRunner().invoke(app, ["validate", str(source), "--db", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 2
    error_lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "children" in error_lines[0]
    assert "Traceback" not in result.output


def test_csv_dialect_bom_crlf_quotes_and_empty_strings(tmp_path):
    source = write_dataset(tmp_path / "src", base())
    text = (
        "\ufeffchild_id,birth_date,sex,race_ethnicity\r\n"
        'C1,2010-01-01,female,white\r\n'
        '"C,2","",male,"hispanic"\r\n'  # comma inside quotes; quoted empty = null
        '"C\n3",2008-03-10,female,black\r\n'  # a line break inside quotes is one record
        'C4,2011-01-01,Male,white\r\n'
    )
    (source / "children.csv").write_bytes(text.encode("utf-8"))
    summary = load_dataset(source, tmp_path / "db.duckdb", extract_date=D(2024, 12, 31))
    con = duckdb.connect(str(summary.db_path), read_only=True)
    assert con.execute("SELECT child_id, birth_date FROM children").fetchall() == [
        ("C1", D(2010, 1, 1)), ("C,2", None), ("C\n3", D(2008, 3, 10))]  # stored in source order
    # C4 is the 4th data record although it is on the 6th line of the file.
    assert con.execute("SELECT record_key, column_name, value, source_row FROM data_quality WHERE rule = 'R1'"
                       ).fetchall() == [("C4", "sex", "Male", 4)]


def test_pandas_style_parquet_floats_nan_and_text_dates(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = write_dataset(tmp_path / "src", base(), "parquet")
    # pandas writes an integer column with gaps as float64 (NaN = missing) and may leave dates as text
    pq.write_table(pa.table({
        "year": [2020.0, 2020.0, 2020.0], "county": ["06001"] * 3, "age": [1.0, float("nan"), 2.5],
        "sex": ["male"] * 3, "race_ethnicity": ["white"] * 3, "population": [10.0, 20.0, 30.0],
    }), source / "population.parquet")
    pq.write_table(pa.table({
        "child_id": ["C1", "C2"], "exam_date": ["2020-05-01", "2020-02-30"], "exam_type": ["medical", "dental"],
    }), source / "health_exams.parquet")
    summary = load_dataset(source, tmp_path / "db.duckdb", extract_date=D(2024, 12, 31))
    con = duckdb.connect(str(summary.db_path), read_only=True)
    assert con.execute("SELECT year, age, population FROM population ORDER BY age NULLS LAST").fetchall() == [
        (2020, 1, 10), (2020, None, 20)]
    assert con.execute("SELECT exam_date FROM health_exams").fetchall() == [(D(2020, 5, 1),)]
    assert dq(con, "R1") == [
        ("health_exams", "2", "exam_date", "2020-02-30", "R1", "rejected"),
        ("population", "2020|06001|2.5|male|white", "age", "2.5", "R1", "rejected"),
    ]


def test_duckdb_source_lists_extra_tables_and_cannot_be_its_own_target(tmp_path):
    source = write_dataset(tmp_path / "src", base(), "duckdb")
    con = duckdb.connect(str(source))
    con.execute("CREATE TABLE scratch AS SELECT 1 AS x")
    con.close()
    summary = load_dataset(source, tmp_path / "db.duckdb", extract_date=D(2024, 12, 31))
    assert summary.ignored_files == ["table scratch"]
    with pytest.raises(InputError, match="data set itself"):
        load_dataset(source, source)
    with pytest.raises(InputError, match="not found"):
        load_dataset(tmp_path / "nowhere", tmp_path / "db2.duckdb")


def test_a_model_column_named_twice_in_a_csv_header_is_an_error(tmp_path):
    source = write_dataset(tmp_path / "src", base())
    (source / "children.csv").write_text("child_id,sex,birth_date,sex,race_ethnicity\nC1,male,2010-01-01,male,white\n")
    with pytest.raises(InputError) as err:
        load_dataset(source, tmp_path / "db.duckdb")
    assert "sex" in str(err.value) and "children.csv" in str(err.value)
