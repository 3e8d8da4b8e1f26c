"""The simulator (`cwoutcomes.synth.generate`): a complete, clean, deterministic data set in the
canonical model, and every kind of bad record of data-quality.md §1 when asked for faults."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pyarrow.parquet as pq
import pytest

from cwoutcomes.errors import CwoutcomesError
from cwoutcomes.model.counties import county_populations, default_counties
from cwoutcomes.model.tables import TABLES, DType, arrow_schema
from cwoutcomes.synth import generate

START, END = dt.date(2019, 1, 1), dt.date(2021, 12, 31)
SCALE = 0.002
KEYED = [name for name, t in TABLES.items() if t.key]


def make(path, **kw):
    args = dict(scale=SCALE, seed=7, start=START, end=END)
    args.update(kw)
    return generate(path, **args)


def connect(folder, fmt="parquet"):
    con = duckdb.connect()
    for name in TABLES:
        reader = (f"read_parquet('{folder}/{name}.parquet')" if fmt == "parquet"
                  else f"read_csv('{folder}/{name}.csv', header = true, all_varchar = true)")
        con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM {reader}')
    return con


def one(con, sql):
    return con.execute(sql).fetchone()[0]


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "clean"
    calls = []
    counts = make(out, progress=lambda label, done, total: calls.append((label, done, total)))
    return out, counts, calls


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "faulty"
    make(out, faults=0.01)
    return connect(out)


@pytest.fixture(scope="module")
def con(clean):
    return connect(clean[0])


def test_default_counties_are_californias_58():
    counties = default_counties()
    assert list(counties.columns) == ["county", "name", "region"]
    assert len(counties) == 58 and counties["county"].is_unique
    assert counties["county"].str.fullmatch(r"06\d{3}").all()
    assert counties["county"].iloc[0] == "06001" and counties["county"].iloc[-1] == "06115"
    assert dict(zip(counties["county"], counties["name"]))["06037"] == "Los Angeles"
    assert set(counties["region"]) == {"Bay Area", "Central", "Los Angeles", "Northern", "Southern"}
    assert 8.5e6 < county_populations()["child_population"].sum() < 9.3e6


def test_every_table_is_written_with_the_models_columns_and_types(clean):
    out, counts, _ = clean
    assert list(counts) == list(TABLES)
    for name in TABLES:
        path = out / f"{name}.parquet"
        assert pq.read_schema(path).remove_metadata() == arrow_schema(name), name
        assert pq.read_metadata(path).num_rows == counts[name]
        assert counts[name] > 0, name
    info = json.loads((out / "dataset.json").read_text())
    assert info["extract_date"] == END.isoformat() and info["generator"] == "cwoutcomes synth"
    assert info["scale"] == SCALE and info["seed"] == 7


def test_progress_is_reported_stage_by_stage(clean):
    calls = clean[2]
    assert [c[1] for c in calls] == list(range(1, len(calls) + 1))
    assert calls[-1][1] == calls[-1][2] and len({c[2] for c in calls}) == 1


def test_codes_come_from_the_code_lists(con):
    for name, table in TABLES.items():
        for col in table.columns:
            if col.dtype is DType.CODE:
                values = {r[0] for r in con.execute(f'SELECT DISTINCT "{col.name}" FROM "{name}"').fetchall()}
                assert values - {None} <= set(col.codes), (name, col.name, values - set(col.codes))
    assert one(con, "SELECT count(*) FROM allegations WHERE disposition = 'indicated'") == 0


def test_keys_are_unique_and_required_values_present(con):
    for name in KEYED:
        key = ", ".join(f'"{k}"' for k in TABLES[name].key)
        assert one(con, f'SELECT count(*) - count(DISTINCT ({key})) FROM "{name}"') == 0, name
        for col in TABLES[name].columns:
            if not col.nullable:
                assert one(con, f'SELECT count(*) FROM "{name}" WHERE "{col.name}" IS NULL') == 0, (name, col.name)
    assert one(con, "SELECT count(*) FROM children WHERE birth_date IS NULL") == 0


def test_references_resolve(con):
    con.register("default_counties", default_counties())
    for name, table in TABLES.items():
        for col in table.columns:
            if col.references:
                target, column = col.references.split(".")
                if target == "counties":
                    target = "default_counties"
                missing = one(con, f'SELECT count(*) FROM "{name}" x WHERE x."{col.name}" IS NOT NULL AND NOT EXISTS '
                                   f'(SELECT 1 FROM "{target}" y WHERE y."{column}" = x."{col.name}")')
                assert missing == 0, (name, col.name)
    assert one(con, "SELECT count(*) FROM placements p JOIN episodes e USING (episode_id) "
                    "WHERE p.child_id <> e.child_id") == 0
    # Every child in the children table appears somewhere else.
    assert one(con, "SELECT count(*) FROM children c WHERE NOT EXISTS (SELECT 1 FROM allegations a "
                    "WHERE a.child_id = c.child_id) AND NOT EXISTS (SELECT 1 FROM episodes e "
                    "WHERE e.child_id = c.child_id) AND NOT EXISTS (SELECT 1 FROM service_cases s "
                    "WHERE s.child_id = c.child_id)") == 0


def test_nothing_is_dated_after_the_extract_date(con):
    for name, table in TABLES.items():
        for col in table.columns:
            if col.dtype in (DType.DATE, DType.DATETIME):
                late = one(con, f"SELECT count(*) FROM \"{name}\" WHERE CAST(\"{col.name}\" AS DATE) > DATE '{END}'")
                assert late == 0, (name, col.name)
    assert one(con, f"SELECT count(*) FROM children WHERE birth_date > DATE '{END}'") == 0


def test_episodes_are_consistent(con):
    bad = {
        "exit without reason or reason without exit":
            "SELECT count(*) FROM episodes WHERE (exit_date IS NULL) <> (exit_reason IS NULL)",
        "exit on or before removal": "SELECT count(*) FROM episodes WHERE exit_date <= removal_date",
        "overlapping episodes": "SELECT count(*) FROM episodes a JOIN episodes b ON a.child_id = b.child_id "
                                "AND a.episode_id < b.episode_id AND a.removal_date < coalesce(b.exit_date, "
                                "DATE '9999-12-31') AND b.removal_date < coalesce(a.exit_date, DATE '9999-12-31')",
        "born after removal or 18+ at removal":
            "SELECT count(*) FROM episodes e JOIN children c USING (child_id) WHERE c.birth_date > e.removal_date "
            "OR c.birth_date + INTERVAL 18 YEAR <= e.removal_date",
        "legally free outside the episode":
            "SELECT count(*) FROM episodes WHERE legally_free_date < removal_date "
            "OR legally_free_date >= exit_date",
        "adoption without legal freedom":
            "SELECT count(*) FROM episodes WHERE exit_reason = 'adoption' AND legally_free_date IS NULL",
        "no placement": "SELECT count(*) FROM episodes e WHERE NOT EXISTS "
                        "(SELECT 1 FROM placements p WHERE p.episode_id = e.episode_id)",
    }
    for what, sql in bad.items():
        assert one(con, sql) == 0, what
    assert one(con, "SELECT count(*) FROM episodes WHERE agency = 'probation'") > 0
    assert one(con, f"SELECT count(*) FROM episodes WHERE removal_date < DATE '{START}' AND exit_date IS NULL") > 0


def test_placements_lie_inside_their_episodes_in_order(con):
    con.execute("""CREATE OR REPLACE TEMP VIEW pl AS SELECT p.*, e.removal_date, e.exit_date,
        lead(p.start_date) OVER w AS next_start, row_number() OVER w AS n,
        count(*) OVER (PARTITION BY p.episode_id) AS total
        FROM placements p JOIN episodes e USING (episode_id)
        WINDOW w AS (PARTITION BY p.episode_id ORDER BY p.start_date, p.placement_id)""")
    bad = {
        "starts before removal": "start_date < removal_date",
        "starts on or after exit": "start_date >= exit_date",
        "ends before it starts": "end_date <= start_date",
        "ends after exit": "end_date > exit_date",
        "first not at removal": "n = 1 AND start_date <> removal_date",
        "gap or overlap with the next": "next_start IS NOT NULL AND next_start <> end_date",
        "last not ending at exit": "n = total AND end_date IS DISTINCT FROM exit_date",
    }
    for what, cond in bad.items():
        assert one(con, f"SELECT count(*) FROM pl WHERE {cond}") == 0, what
    settings = {r[0] for r in con.execute("SELECT DISTINCT setting FROM placements").fetchall()}
    assert {"kin", "ffa_home", "foster_home", "group_home"} <= settings


def test_the_data_looks_like_child_welfare(con):
    total = one(con, "SELECT sum(population) FROM population WHERE year = 2020")
    assert 0.8 * 8.9e6 * SCALE < total < 1.1 * 8.9e6 * SCALE
    assert {r[0] for r in con.execute("SELECT DISTINCT response_type FROM referrals").fetchall()} == {
        "immediate", "ten_day", "evaluated_out", "other"}
    assert one(con, "SELECT count(*) FROM referrals WHERE hour(received_at) <> 0") > 0
    assert one(con, "SELECT count(*) FROM referrals WHERE first_contact_at < "
                    "date_trunc('day', received_at)") == 0
    reasons = {r[0] for r in con.execute("SELECT DISTINCT exit_reason FROM episodes").fetchall()}
    assert {"reunification", "adoption", "guardianship", "emancipation"} <= reasons
    assert one(con, "SELECT count(*) FROM siblings") > 0


def test_same_seed_same_bytes_other_seed_other_data(clean, tmp_path):
    out = clean[0]
    make(tmp_path / "again")
    for name in list(TABLES) + ["dataset"]:
        suffix = ".json" if name == "dataset" else ".parquet"
        assert (out / f"{name}{suffix}").read_bytes() == (tmp_path / "again" / f"{name}{suffix}").read_bytes(), name
    make(tmp_path / "other", seed=8)
    assert (out / "children.parquet").read_bytes() != (tmp_path / "other" / "children.parquet").read_bytes()


def test_csv_output_is_readable(tmp_path):
    (tmp_path / "children.parquet").write_bytes(b"stale")
    counts = make(tmp_path, fmt="csv", scale=0.001)
    assert not (tmp_path / "children.parquet").exists()
    con = connect(tmp_path, fmt="csv")
    for name in TABLES:
        assert one(con, f'SELECT count(*) FROM "{name}"') == counts[name], name
        header = (tmp_path / f"{name}.csv").read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",") == list(TABLES[name].column_names)
    assert {r[0] for r in con.execute("SELECT DISTINCT icwa_eligible FROM children").fetchall()} <= {"true", "false"}
    assert one(con, "SELECT count(*) FROM episodes WHERE exit_date IS NOT NULL AND "
                    "NOT regexp_full_match(exit_date, '\\d{4}-\\d{2}-\\d{2}')") == 0
    assert one(con, "SELECT count(*) FROM episodes WHERE exit_date = ''") == 0
    assert one(con, "SELECT count(*) FROM referrals WHERE TRY_CAST(received_at AS TIMESTAMP) IS NULL") == 0


def test_bad_arguments_are_user_errors(tmp_path):
    with pytest.raises(CwoutcomesError):
        make(tmp_path, fmt="xml")
    with pytest.raises(CwoutcomesError):
        make(tmp_path, start=END, end=START)


def test_faults_plant_every_kind_of_bad_record(faulty):
    con = faulty
    for name, table in TABLES.items():
        codes = [c for c in table.columns if c.dtype is DType.CODE]
        if codes:
            bad = " OR ".join(f"\"{c.name}\" NOT IN ({', '.join(repr(v) for v in c.codes)})" for c in codes)
            assert one(con, f'SELECT count(*) FROM "{name}" WHERE {bad}') > 0, ("R1", name)
    for name in KEYED:
        key = ", ".join(f'"{k}"' for k in TABLES[name].key)
        assert one(con, f'SELECT count(*) - count(DISTINCT ({key})) FROM "{name}"') > 0, ("R2", name)
    checks = {
        "R3 allegation to missing referral": "SELECT count(*) FROM allegations a WHERE NOT EXISTS "
                                             "(SELECT 1 FROM referrals r WHERE r.referral_id = a.referral_id)",
        "R3 allegation to missing child": "SELECT count(*) FROM allegations a WHERE NOT EXISTS "
                                          "(SELECT 1 FROM children c WHERE c.child_id = a.child_id)",
        "R3 episode to missing child": "SELECT count(*) FROM episodes e WHERE NOT EXISTS "
                                       "(SELECT 1 FROM children c WHERE c.child_id = e.child_id)",
        "R3 placement to missing episode": "SELECT count(*) FROM placements p WHERE NOT EXISTS "
                                           "(SELECT 1 FROM episodes e WHERE e.episode_id = p.episode_id)",
        "R3 placement child not the episode's": "SELECT count(*) FROM placements p JOIN episodes e "
                                                "USING (episode_id) WHERE p.child_id <> e.child_id",
        "R4 exit before removal": "SELECT count(*) FROM episodes WHERE exit_date < removal_date",
        "R4 end before start": "SELECT count(*) FROM placements WHERE end_date < start_date",
        "R5 born after removal": "SELECT count(*) FROM episodes e JOIN children c USING (child_id) "
                                 "WHERE c.birth_date > e.removal_date",
        "R5 over 21 at removal": "SELECT count(*) FROM episodes e JOIN children c USING (child_id) "
                                 "WHERE c.birth_date + INTERVAL 21 YEAR < e.removal_date",
        "R6 after the extract date": f"SELECT count(*) FROM contacts WHERE contact_date > DATE '{END}'",
        "R7 placement before removal": "SELECT count(*) FROM placements p JOIN episodes e USING (episode_id) "
                                       "WHERE p.start_date < e.removal_date",
        "R8 overlapping episodes": "SELECT count(*) FROM episodes a JOIN episodes b ON a.child_id = b.child_id "
                                   "AND a.episode_id <> b.episode_id AND a.removal_date < b.removal_date "
                                   "AND b.removal_date < coalesce(a.exit_date, DATE '9999-12-31')",
        "R9 exit without reason": "SELECT count(*) FROM episodes WHERE exit_date IS NOT NULL AND exit_reason IS NULL",
        "R10 exit on the removal day": "SELECT count(*) FROM episodes WHERE exit_date = removal_date",
        "R11 episode without placement": "SELECT count(*) FROM episodes e WHERE NOT EXISTS "
                                         "(SELECT 1 FROM placements p WHERE p.episode_id = e.episode_id)",
        "missing birth date": "SELECT count(*) FROM children WHERE birth_date IS NULL",
    }
    for what, sql in checks.items():
        assert one(con, sql) > 0, what


@pytest.mark.slow
def test_the_loader_finds_nothing_in_clean_data_and_every_rule_in_faulty_data(clean, tmp_path):
    from cwoutcomes.ingest import load_dataset

    summary = load_dataset(clean[0], tmp_path / "clean.duckdb")
    assert summary.extract_date == END
    assert all(n == 0 for n in summary.rule_counts.values()), summary.rule_counts
    faulty_dir = tmp_path / "faulty"
    make(faulty_dir, faults=0.01)
    summary = load_dataset(faulty_dir, tmp_path / "faulty.duckdb")
    assert all(n > 0 for n in summary.rule_counts.values()), summary.rule_counts
