"""Shared fixtures. `engine` runs a test once per execution engine (the conformance suite):
DuckDB always, Spark unless CWOUTCOMES_SKIP_SPARK=1."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

ENGINES = ["duckdb"] + ([] if os.environ.get("CWOUTCOMES_SKIP_SPARK") == "1" else ["spark"])


@pytest.fixture(params=ENGINES)
def engine(request):
    if request.param == "spark":
        request.applymarker(pytest.mark.spark)
    return request.param
