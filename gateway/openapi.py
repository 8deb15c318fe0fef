"""The OpenAPI 3.1 document at ``/openapi.json``, built from the route table
and from the same marshmallow schemas that validate requests: the gateway's
own (identity) converted here, each service's fetched over RPC
(``api_schemas_json``, converted by the service from its schemas). A route
cannot exist undocumented; a schema cannot drift from its validation.
"""
from __future__ import annotations

import logging
import re

from apispec import APISpec

from crm_kit.config import SERVICES
from crm_kit.jsonschema import json_schema
from gateway import schemas as gateway_schemas
from gateway.routes import ROUTES, Route

log = logging.getLogger(__name__)

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                   "description": "Field -> messages, for validation failures (dotted paths for nested fields)."},
        "current_state": {"type": "string", "description": "For actions not allowed in the record's state."},
        "current_version": {"type": "integer", "description": "For stale writes: the record's version now."},
        "existing_id": {"type": "string", "description": "For duplicates: the record that already exists."},
        "error_id": {"type": "string", "description": "For 500s: quote it when reporting the problem."},
        "retry_after": {"type": "integer", "description": "For 429: seconds to wait (also Retry-After)."},
    },
}
ERRORS = {
    "400": "Malformed request (invalid JSON, not an object, bad If-Match)",
    "401": "Missing, invalid or expired bearer token",
    "403": "Allowed to see the record but not to do this",
    "404": "Not found, or outside the caller's data scope",
    "409": "Conflict: duplicate, wrong state for the action, or stale version",
    "422": "Validation failed; `errors` names each field",
    "429": "Rate limited; see Retry-After",
    "500": "Internal error; `error_id` identifies it in the logs",
    "503": "A backing service did not answer within the gateway's deadline",
}
OPS = {
    "/healthz": ("Liveness", {"type": "object"}, "application/json"),
    "/readyz": ("Readiness: broker and every service reachable", {"type": "object"}, "application/json"),
    "/metrics": ("Prometheus metrics", {"type": "string"}, "text/plain"),
    "/openapi.json": ("This document", {"type": "object"}, "application/json"),
    "/docs": ("Human-readable API documentation", {"type": "string"}, "text/html"),
}
_PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
_REQUEST_ID = {"X-Request-ID": {"description": "The request's id (echoed, or assigned).",
                                "schema": {"type": "string"}}}


def openapi_path(route: Route) -> str:
    return _PARAM.sub(r"{\1}", route.path)


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem_responses(route: Route) -> dict:
    wanted = {"401", "404", "429", "500", "503"} if not route.public else {"400", "401", "422", "429", "500"}
    if route.body or route.query or route.version:
        wanted |= {"400", "422"}
    if route.method != "GET":
        wanted |= {"403", "409"}
    if route.public:
        wanted -= {"404", "503"}
    return {status: {"description": ERRORS[status], "headers": _REQUEST_ID,
                     "content": {"application/problem+json": {"schema": _ref("Problem")}}}
            for status in sorted(wanted)}


def _query_parameters(route: Route, components: dict) -> list[dict]:
    schema = components.get(route.query_schema or "", {})
    props = schema.get("properties") or {
        "limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
        "cursor": {"type": ["string", "null"]}}
    params = []
    for name, prop in props.items():
        prop = dict(prop)
        if name == "cursor":
            prop.setdefault("description", "`next_cursor` of the previous page.")
        description = prop.pop("description", None)
        param = {"name": name, "in": "query", "required": name in schema.get("required", ()), "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


def _operation(route: Route, components: dict) -> dict:
    op = {
        "summary": route.summary,
        "tags": [route.tag],
        "operationId": f"{route.service}_{route.rpc}",
        "parameters": [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                       for name in _PARAM.findall(route.path)],
    }
    if route.description:
        op["description"] = route.description
    if route.public:
        op["security"] = []
    ok = {"description": {201: "Created", 204: "Deleted"}.get(route.status, "OK"), "headers": dict(_REQUEST_ID)}
    if route.download:
        ok["content"] = {"text/csv": {"schema": {"type": "string"}}}
        ok["headers"]["Content-Disposition"] = {"schema": {"type": "string"},
                                                "description": f'`attachment; filename="{route.download}"`'}
    elif route.status != 204:
        ok["content"] = {"application/json": {"schema": _ref(route.response) if route.response else {}}}
    if route.location:
        ok["headers"]["Location"] = {"schema": {"type": "string"}, "description": "The new record's URL."}
    op["responses"] = {str(route.status): ok, **_problem_responses(route)}
    if route.query:
        op["parameters"] += _query_parameters(route, components)
    if route.version:
        op["parameters"].append({"name": "If-Match", "in": "header", "required": False,
                                 "schema": {"type": "string", "pattern": r'^(W/)?"?[0-9]+"?$'},
                                 "description": "The version you read; a stale one answers 409."})
    if route.creates:
        op["parameters"].append({"name": "Idempotency-Key", "in": "header", "required": False,
                                 "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                                 "description": "Same key and body within 24 h returns the first result."})
    if route.csv_body:
        op["requestBody"] = {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
        op["parameters"].append({"name": "pool_id", "in": "query", "required": False,
                                 "schema": {"type": "string"}, "description": "Put the leads in this pool."})
        op["responses"].setdefault("400", {"description": ERRORS["400"], "headers": _REQUEST_ID, "content": {
            "application/problem+json": {"schema": _ref("Problem")}}})
        op["responses"].setdefault("422", {"description": ERRORS["422"], "headers": _REQUEST_ID, "content": {
            "application/problem+json": {"schema": _ref("Problem")}}})
    if route.body:
        op["requestBody"] = {"required": route.creates or route.public,
                             "content": {"application/json": {"schema": _ref(route.request) if route.request
                                                              else {"type": "object"}}}}
    return op


def build_spec(service_schemas: dict[str, dict], routes=ROUTES) -> dict:
    """``service_schemas``: {"leads.Lead": {JSON Schema}, ...} as the services describe them."""
    spec = APISpec(title="CRM platform API", version="1", openapi_version="3.1.0",
                   info={"description": "The gateway's HTTP contract (see shared/api.md). Errors are "
                                        "application/problem+json (RFC 9457). Lists are keyset-paginated: "
                                        "{items, next_cursor}. Every /api/v1 route but /auth/token needs "
                                        "`Authorization: Bearer <token>`."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema("Problem", PROBLEM)
    components = dict(service_schemas)
    for name in sorted({r for route in routes for r in (route.request, route.response, route.query_schema)
                        if r and r.startswith("gateway.")}):
        components[name] = json_schema(getattr(gateway_schemas, name.split(".", 1)[1]))
    query_schemas = {route.query_schema for route in routes if route.query_schema}
    for name, schema in sorted(components.items()):
        if name not in query_schemas:  # query schemas become parameters, not components
            spec.components.schema(name, schema)
    by_path: dict[str, dict] = {}
    for route in routes:
        by_path.setdefault(openapi_path(route), {})[route.method.lower()] = _operation(route, components)
    for path, operations in by_path.items():
        spec.path(path=path, operations=operations)
    for path, (summary, schema, mime) in OPS.items():
        spec.path(path=path, operations={"get": {
            "summary": summary, "tags": ["operations"], "security": [], "operationId": path.strip("/").replace(".", "_"),
            "responses": {"200": {"description": "OK", "content": {mime: {"schema": schema}}}}}})
    doc = spec.to_dict()
    doc["security"] = [{"bearer": []}]
    return doc


class OpenApi:
    """Builds the document once every service has described its schemas."""

    def __init__(self):
        self._doc: dict | None = None

    def document(self, gateway) -> dict:
        if self._doc is not None:
            return self._doc
        needed = {r.service for r in ROUTES if r.service != "gateway"}
        schemas: dict[str, dict] = {}
        missing = []
        for service in sorted(needed & set(SERVICES)):
            try:
                schemas.update(getattr(gateway, service).api_schemas_json())
            except Exception as exc:  # a service that is down: document what we can, retry next time
                log.warning("could not fetch %s's schemas for OpenAPI: %r", service, exc)
                missing.append(service)
        referenced = {r for route in ROUTES for r in (route.request, route.response) if r}
        for name in referenced - set(schemas):
            if not name.startswith("gateway."):
                schemas[name] = {"type": "object", "description": "(schema unavailable: service not reachable)"}
        doc = build_spec(schemas)
        if not missing:
            self._doc = doc
        return doc
