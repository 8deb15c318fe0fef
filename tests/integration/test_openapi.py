"""The OpenAPI document: valid, complete, and true (schemathesis finds no 5xx, no response that
breaks its schema, no request the document calls invalid that the API takes, and a 405 with
``Allow`` for every method a path does not take)."""
import re
import subprocess
import sys

import pytest
from openapi_spec_validator import validate

from crm_kit.config import ALL_PROCESSES
from gateway.openapi import openapi_path
from gateway.routes import ROUTES
from tests.integration.harness import Platform


@pytest.fixture(scope="module")
def fuzz_platform(tmp_path_factory):
    """Its own platform: the fuzzer creates and changes records at random."""
    plat = Platform(tmp_path_factory.mktemp("openapi"), services=ALL_PROCESSES)   # every route answered
    try:
        plat.start()
        yield plat
    finally:
        plat.destroy()


def test_document_is_valid_openapi_31_and_covers_every_route(fuzz_platform):
    doc = fuzz_platform.get("/openapi.json", token=False).json()
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    for route in ROUTES:
        op = doc["paths"][openapi_path(route)][route.method.lower()]
        assert str(route.status) in op["responses"], route
        assert any(code.startswith(("4", "5")) for code in op["responses"]), route
        if route.response:
            assert route.response in doc["components"]["schemas"], route.response
            assert "unavailable" not in doc["components"]["schemas"][route.response].get("description", "")
        if route.request:
            assert route.request in doc["components"]["schemas"], route.request
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
        assert path in doc["paths"]


def test_docs_page_works_offline(fuzz_platform):
    html = fuzz_platform.get("/docs", token=False)
    assert html.status_code == 200 and html.headers["Content-Type"].startswith("text/html")
    assert not re.search(r'(src|href)="https?://', html.text), "the docs page must not load assets from a CDN"


def test_document_states_the_rules_the_api_enforces(fuzz_platform):
    doc = fuzz_platform.get("/openapi.json", token=False).json()
    schemas, paths = doc["components"]["schemas"], doc["paths"]
    lead = schemas["leads.LeadCreate"]["properties"]
    assert lead["phone"]["pattern"] and "digits" in lead["phone"]["description"]
    assert schemas["leads.FollowUpCreate"]["properties"]["next_contact_at"]["pattern"].startswith("^(?:19")
    assert schemas["leads.LeadUpdate"]["properties"]["version"]["minimum"] == 1
    assert schemas["leads.ReturnRequest"]["properties"]["reason"]["pattern"] == r"\S"
    patch = {p["name"]: p for p in paths["/api/v1/leads/{lead_id}"]["patch"]["parameters"]}
    assert "0*[1-9]" in patch["If-Match"]["schema"]["pattern"]
    create = {p["name"]: p for p in paths["/api/v1/leads"]["post"]["parameters"]}
    assert create["Idempotency-Key"]["schema"]["pattern"]
    assert "Retry-After" in paths["/api/v1/leads"]["post"]["responses"]["409"]["headers"]
    listing = {p["name"]: p for p in paths["/api/v1/leads"]["get"]["parameters"]}
    assert "Opaque" in listing["cursor"]["description"]


def test_schemathesis_finds_no_server_error_and_no_schema_violation(fuzz_platform, tmp_path):
    token = fuzz_platform.admin_token
    # Not positive_data_acceptance: a schema-valid request may still name a record that does not exist
    # (a department, a user, a cursor), reuse an Idempotency-Key with another body, or break a rule
    # between fields that the document states in words: 422s that no JSON Schema can foresee.
    cmd = [sys.executable, "-m", "schemathesis.cli", "run", f"{fuzz_platform.base_url}/openapi.json",
           "--checks", "not_a_server_error,response_schema_conformance,status_code_conformance,"
                       "content_type_conformance,negative_data_rejection,unsupported_method,"
                       "allow_header_conformance,response_headers_conformance",
           "--max-examples", "12", "--seed", "20261122", "--request-timeout", "20",
           "--phases", "examples,coverage,fuzzing",
           "--workers", "1",  # hypothesis describes strategies with ast.parse, which is not thread-safe
           "-H", f"Authorization: Bearer {token}",
           "--report", "junit", "--report-dir", str(tmp_path)]
    # run in tmp_path: schemathesis keeps its cache in the working directory
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=fuzz_platform.env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
