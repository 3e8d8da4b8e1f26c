"""Schema-driven tests of the JSON API: schemathesis generates requests from the OpenAPI
document (valid values from its enumerations and invalid ones) and checks that no answer is a
server error, that status codes and bodies match the document, and that bad input is refused.
Run as the public, a county user and a state user."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from web_results import make_app

_FOLDER = Path(tempfile.mkdtemp(prefix="cwoutcomes-schema-"))
APP, _DB, TOKENS = make_app(_FOLDER)
# The SQL endpoint compiles a measure's whole query (seconds each); test_web.py covers it.
schema = schemathesis.openapi.from_asgi("/api/openapi.json", APP).exclude(path_regex=r"/sql$")
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    _DB.close()
    shutil.rmtree(_FOLDER, ignore_errors=True)


def _call(case, who: str | None):
    """The answer, after schemathesis has checked it against the OpenAPI document (it raises on
    a server error, a status code or body the document does not allow, or bad input accepted)."""
    return case.call_and_validate(headers={"Authorization": f"Bearer {TOKENS[who]}"} if who else {})


@schema.parametrize()
@SETTINGS
def test_api_as_public(case):
    assert _call(case, None).status_code < 500


@schema.parametrize()
@SETTINGS
def test_api_as_county_user(case):
    assert _call(case, "alex").status_code < 500


@schema.parametrize()
@SETTINGS
def test_api_as_state_user(case):
    assert _call(case, "sally").status_code < 500
