"""The `cwoutcomes report` command on a hand-made results file (HTML and CSV only, to stay fast)."""

from typer.testing import CliRunner

from cwoutcomes.cli import app
from test_report import LA, tiny_practice_outcomes, tiny_results

runner = CliRunner()


def test_report_command_writes_state_and_county(tmp_path):
    results = tmp_path / "results.parquet"
    tiny_results().to_parquet(results, index=False)
    out = tmp_path / "reports"
    result = runner.invoke(app, ["report", str(results), "--quarter", "2025Q2", "--out", str(out),
                                 "--county", "state", "--county", LA, "--public", "--formats", "html,csv"])
    assert result.exit_code == 0, result.output
    html = (out / "06037-los-angeles" / "cwoutcomes-06037-los-angeles-2025Q2-public.html").read_text()
    assert "Los Angeles" in html and "Public version" in html
    assert (out / "state" / "csv" / "summary.csv").exists()
    index = (out / "index.html").read_text()
    assert "06037-los-angeles/cwoutcomes-06037-los-angeles-2025Q2-public.html" in index


def test_report_command_errors_name_the_problem(tmp_path):
    results = tmp_path / "results.parquet"
    tiny_results().to_parquet(results, index=False)
    result = runner.invoke(app, ["report", str(results), "--quarter", "2019Q1", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "no window 2019Q1" in result.output
    result = runner.invoke(app, ["report", str(results), "--quarter", "2025Q2", "--county", "Atlantis",
                                 "--out", str(tmp_path / "r"), "--formats", "csv"])
    assert result.exit_code == 2 and "--county Atlantis" in result.output
    result = runner.invoke(app, ["report", str(results), "--quarter", "2025Q2", "--formats", "docx",
                                 "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "unknown format" in result.output


def test_report_reads_the_practice_comparison_beside_the_results(tmp_path):
    results = tmp_path / "results.parquet"
    tiny_results().to_parquet(results, index=False)
    tiny_practice_outcomes().to_parquet(tmp_path / "results.practice.parquet", index=False)
    out = tmp_path / "reports"
    result = runner.invoke(app, ["report", str(results), "--quarter", "2025Q2", "--out", str(out),
                                 "--county", LA, "--formats", "csv"])
    assert result.exit_code == 0, result.output
    assert (out / "06037-los-angeles" / "csv" / "practice-engaging-comparison.csv").exists()
    result = runner.invoke(app, ["report", str(results), "--quarter", "2025Q2", "--out", str(out),
                                 "--practice-outcomes", str(tmp_path / "nowhere.parquet")])
    assert result.exit_code == 2 and "nowhere.parquet does not exist" in result.output
