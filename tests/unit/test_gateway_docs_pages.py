"""The documentation pages (gateway.docs_pages) and what the OpenAPI document tells their readers
(gateway.openapi): every page and asset from the gateway itself, nothing else of its folders, every
operation under its context's tag, conventions in the document rather than in a file elsewhere."""
from __future__ import annotations

import json
import re

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway import docs_pages
from gateway.openapi import build_spec, tags
from gateway.routes import ROUTES
from gateway.service import GatewayService


def get(path: str):
    request = Request(EnvironBuilder(method="GET", path=path).get_environ())
    return GatewayService.__new__(GatewayService).dispatch(request)


@pytest.mark.parametrize("path, mimetype", [
    ("/docs", "text/html"), ("/docs/events", "text/html"), ("/asyncapi.json", "application/json"),
    ("/docs/assets/docs.js", "text/javascript"), ("/docs/assets/events.js", "text/javascript"),
    ("/docs/assets/docs.css", "text/css"),
    ("/docs/assets/vendor/swagger-ui/swagger-ui-bundle.js", "text/javascript"),
    ("/docs/assets/vendor/swagger-ui/swagger-ui.css", "text/css"),
    ("/docs/assets/vendor/asyncapi/index.js", "text/javascript"),
    ("/docs/assets/vendor/asyncapi/default.min.css", "text/css"),
])
def test_pages_and_assets_are_served(path, mimetype):
    response = get(path)
    assert response.status_code == 200, (path, response.get_data(as_text=True)[:200])
    assert response.mimetype == mimetype and response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_asyncapi_document_is_the_generated_one():
    doc = json.loads(get("/asyncapi.json").get_data())
    assert doc["asyncapi"].startswith("3.") and doc["channels"]


@pytest.mark.parametrize("path", [
    "/docs/assets/vendor/../assets/package.json", "/docs/assets/vendor/../../service.py",
    "/docs/assets/vendor/%2e%2e/docs.html", "/docs/assets/asyncapi.json", "/docs/assets/assets/package.json",
    "/docs/assets/vendor/", "/docs/assets/vendor/nothing.js", "/docs/assets/docs.html",
])
def test_nothing_else_of_the_folders_is_served(path):
    assert get(path).status_code == 404


@pytest.mark.parametrize("page", ["docs.html", "events.html"])
def test_the_pages_load_nothing_from_elsewhere(page):
    html = (docs_pages.STATIC / page).read_text()
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert re.findall(r'(?:src|href)="(/[^"]+)"', html), "the page loads its assets from the gateway"
    for url in re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', html):
        assert get(url).status_code == 200, url


def test_every_operation_has_its_context_tag_and_every_tag_is_listed():
    doc = build_spec({})
    listed = [t["name"] for t in doc["tags"]]
    assert listed == [t["name"] for t in tags()] and len(set(listed)) == len(listed)
    assert {route.tag for route in ROUTES} <= set(listed)
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            assert len(op["tags"]) == 1 and op["tags"][0] in listed, (method, path)
    assert all(t["description"] for t in doc["tags"])


def test_the_description_states_the_conventions_itself():
    description = build_spec({})["info"]["description"]
    assert "shared/api.md" not in description
    for convention in ("POST /api/v1/auth/token", "Idempotency-Key", "If-Match", "next_cursor", "problem+json",
                       "X-Request-ID", "/docs/events"):
        assert convention in description, convention


def test_sign_in_for_try_it_out_uses_the_gateway_scheme():
    doc = build_spec({})
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert {k: v for k, v in schemes["portalLink"].items() if k != "description"} == {
        "type": "apiKey", "in": "header", "name": "X-Portal-Link"}      # the customers' portal
    assert set(schemes) == {"bearer", "portalLink"}
    script = (docs_pages.STATIC / "docs.js").read_text()
    assert 'preauthorizeApiKey("bearer"' in script and "/api/v1/auth/token" in script
    assert "validatorUrl: null" in script  # Swagger UI would otherwise ask an online validator
