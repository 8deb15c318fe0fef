"""The OpenAPI 3.1 document at ``/openapi.json``, built from the route table
and from the same marshmallow schemas that validate requests: the gateway's
own (identity) converted here, each service's fetched over RPC
(``api_schemas_json``, converted by the service from its schemas). A route
cannot exist undocumented; a schema cannot drift from its validation.
"""
from __future__ import annotations

import copy
import logging
import re

from apispec import APISpec

from crm_kit.config import SERVICES
from crm_kit.records.jsonschema import json_schema
from crm_kit.records.pagination import CURSOR_PATTERN, MAX_CURSOR
from gateway import idempotency
from gateway import schemas as gateway_schemas
from gateway.http import MAX_URL_LENGTH
from gateway.inputs import MAX_JSON_DEPTH
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
        "retry_after": {"type": "integer", "description": "For 429, 503 and a 409 still in progress: seconds "
                                                          "to wait (also the Retry-After header)."},
        "limit": {"type": ["string", "integer"], "description": "For 429 and 414: the limit exceeded; for a "
                                                                 "limit exceeded (409): its name (max_held...)."},
        "reason": {"type": "string", "description": "For 401: missing, expired, bad_credentials...; a customer's "
                                                    "signed link: forged (401), wrong_purpose (403), expired or "
                                                    "used (410)."},
        "expired_at": {"type": "string", "format": "date-time", "description": "For 410: when the link expired."},
        "used_at": {"type": "string", "format": "date-time", "description": "For 410: when the link was used."},
        "service": {"type": "string", "description": "For 503: the service that did not answer."},
        "field": {"type": "string", "description": "For duplicates: the field that must be unique."},
        "action": {"type": "string", "description": "For actions not allowed in the record's state, or refused "
                                                    "to the caller (403)."},
        "max": {"type": ["number", "string"],
                "description": "For a limit exceeded (409): the limit's value (money as a decimal string)."},
        "current": {"type": ["number", "string"],
                    "description": "For a limit exceeded (409): where the caller stands (e.g. leads held)."},
        "available_at": {"type": "string", "format": "date-time",
                         "description": "For a limit exceeded by a cooldown (409): when it allows the action again."},
    },
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}}
ERRORS = {
    "400": "Malformed request (invalid JSON, not an object, bad If-Match)",
    "401": "Missing, invalid or expired bearer token",
    "403": "Allowed to see the record but not to do this",
    "404": "Not found, or outside the caller's data scope",
    "410": "The signed link expired (`reason` expired, `expired_at`) or was used already (used, `used_at`)",
    "409": "Conflict: duplicate, wrong state for the action, or stale version; on a create, a request with "
           "the same Idempotency-Key still in progress (with Retry-After)",
    "422": "Validation failed; `errors` names each field",
    "429": "Rate limited; see Retry-After",
    "500": "Internal error; `error_id` identifies it in the logs",
    "503": "A backing service did not answer within the gateway's deadline (with Retry-After)",
}
LINK_ERRORS = {   # a customer's route (signed link, no user): what its statuses mean there
    "401": "No signed link (`reason` missing), or not one of ours (forged, altered)",
    "403": "A genuine link, but for something else (`reason` wrong_purpose)",
    "404": "The link's ticket is no more",
}
OPS = {
    "/healthz": ("Liveness", {"type": "object"}, "application/json"),
    "/readyz": ("Readiness: broker and every service reachable", {"type": "object"}, "application/json"),
    "/metrics": ("Prometheus metrics", {"type": "string"}, "text/plain"),
    "/openapi.json": ("This document", {"type": "object"}, "application/json"),
    "/docs": ("This document, to read and try (Swagger UI)", {"type": "string"}, "text/html"),
    "/asyncapi.json": ("The AsyncAPI 3 document of every event the services publish", {"type": "object"},
                       "application/json"),
    "/docs/events": ("The events, to read (the AsyncAPI document rendered)", {"type": "string"}, "text/html"),
}
# The contexts, in the order a reader meets them; a route's tag is its context.
TAGS = {
    "identity": "Signing in, users and departments (the gateway's own records). Start with "
                "`POST /api/v1/auth/token`.",
    "me": "What the caller sees of their own work: who they are, their reminders (also as iCalendar).",
    "leads": "Leads, lead pools and their recycling, follow-ups, CSV import and export, conversion.",
    "customers": "Customers, contacts, customer pools, follow-ups, merges, CSV import and export, the "
                 "customer's overview.",
    "sales": "Products and price books, opportunities, quotes, orders and their approvals, contracts, targets.",
    "billing": "Receivables, payment plans, payments and refunds, invoices, dunning and aging.",
    "marketing": "Campaigns, segments and their results.",
    "support": "Tickets, comments, groups, routing, SLA policies, quality per agent and group, the "
               "knowledge base and a ticket's suggestions.",
    "portal": "What a customer does without signing in, through the signed one-time link support gave "
              "them (`X-Portal-Link`): read and reply to their ticket, open one, answer the survey.",
    "analytics": "Reports.",
    "webhooks": "Signed webhooks for systems outside the cluster (admins): subscriptions, the delivery "
                "log, replay.",
    "jobs": "Long work (imports, exports, bulk actions) as jobs: state, progress, rate, ETA, errors, "
            "the result; cancel.",
}
TAGS_OPERATIONS = "For operators: health, readiness, metrics, and these documents."
_PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
_REQUEST_ID = {"X-Request-ID": {"description": "The request's id (echoed, or assigned).",
                                "schema": {"type": "string"}}}


def openapi_path(route: Route) -> str:
    return _PARAM.sub(r"{\1}", route.path)


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem_responses(route: Route) -> dict:
    wanted = {"401", "404", "429", "500", "503"} if not route.public else {"400", "401", "422", "429", "500"}
    if route.json_body or route.takes("query", "version"):
        wanted |= {"400", "422"}
    if route.method != "GET":
        wanted |= {"403", "409"}
    if route.idempotent:               # a malformed Idempotency-Key, or one reused with another body
        wanted |= {"422"}
    if route.public:
        wanted -= {"404", "503"}
    if route.link:
        wanted |= {"401", "403", "410"}
    return {status: _problem(status, route.link) for status in sorted(wanted)}


def _problem(status: str, link: bool = False) -> dict:
    headers = dict(_REQUEST_ID, **_RETRY_AFTER) if status in ("409", "429", "503") else _REQUEST_ID
    return {"description": LINK_ERRORS.get(status, ERRORS[status]) if link else ERRORS[status], "headers": headers,
            "content": {"application/problem+json": {"schema": _ref("Problem")}}}


def _query_parameters(route: Route, components: dict) -> list[dict]:
    schema = components.get(route.query_schema or "", {})
    props = schema.get("properties") or {
        "limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
        "cursor": {"type": ["string", "null"]}}
    params = []
    for name, prop in props.items():
        prop = dict(prop)
        if name == "cursor":
            prop.update(pattern=CURSOR_PATTERN, maxLength=MAX_CURSOR)
            prop.setdefault("description", "Opaque: the `next_cursor` of the previous page, as it was given "
                                           "(any other value is 422).")
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
    if route.link:
        op["security"] = [{"portalLink": []}]
    ok = {"description": {201: "Created", 202: "Accepted", 204: "Deleted"}.get(route.status, "OK"),
          "headers": dict(_REQUEST_ID)}
    if route.download:
        ok["content"] = {"text/csv": {"schema": {"type": "string"}}}
        ok["headers"]["Content-Disposition"] = {"schema": {"type": "string"},
                                                "description": f'`attachment; filename="{route.download}"`'}
    elif route.media_type:
        ok["content"] = {route.media_type: {"schema": {"type": "string"}}}
    elif route.status != 204:
        ok["content"] = {"application/json": {"schema": _ref(route.response) if route.response else {}}}
    if route.location:
        ok["headers"]["Location"] = {"schema": {"type": "string"}, "description": (
            "The job's URL (poll it)." if route.status == 202 else "The new record's URL.")}
    op["responses"] = {str(route.status): ok, **_problem_responses(route)}
    if route.takes("query"):
        op["parameters"] += _query_parameters(route, components)
    for arg in route.args:
        if arg.source == "query_param":
            param = {"name": arg.read, "in": "query", "required": False, "schema": {"type": "string"}}
            op["parameters"].append(dict(param, description=arg.doc) if arg.doc else param)
    if route.takes("version"):
        op["parameters"].append({"name": "If-Match", "in": "header", "required": False,
                                 "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
                                 "description": "The version you read (at least 1); a stale one answers 409."})
    if route.idempotent:
        op["parameters"].append({"name": "Idempotency-Key", "in": "header", "required": False,
                                 "schema": {"type": "string", "pattern": idempotency.KEY_PATTERN},
                                 "description": "Same key and body within 24 h returns the first answer "
                                                "(a success or a 4xx; a 5xx frees the key); a different "
                                                "body with the same key is 422."})
    if route.takes("csv"):
        op["requestBody"] = {"required": True, "content": {"text/csv": {"schema": {
            "type": "string", "minLength": 1,
            "description": "UTF-8 (with or without BOM), a header row naming the lead fields, then a row per lead."}}}}
        op["responses"].setdefault("400", _problem("400"))
        op["responses"].setdefault("422", _problem("422"))
    if route.json_body:
        needs = bool(components.get(route.request or "", {}).get("required"))
        op["requestBody"] = {"required": route.creates or route.public or needs,
                             "content": {"application/json": {"schema": _ref(route.request) if route.request
                                                              else {"type": "object"}}}}
    return op


DESCRIPTION = f"""The CRM platform's HTTP API: the gateway is the only way in. Operations are grouped by context
below; the events the services publish are described at [/docs/events](/docs/events)
([asyncapi.json](/asyncapi.json)).

**Signing in.** `POST /api/v1/auth/token` with `{{"username", "password"}}` answers
`{{"access_token", "token_type": "bearer", "expires_in"}}`; every other `/api/v1` route needs
`Authorization: Bearer <token>`, but the customers' `/api/v1/portal` routes, which take the customer's
signed one-time link as `X-Portal-Link: <token>` instead. On this page, *Try it out* on the sign-in
operation signs you in for the others (or paste a token under *Authorize*).

**Conventions.** JSON in and out, UTF-8; ids are strings; money is a decimal string (`"1999.00"`), never a
float; times are ISO 8601 with an offset. A create answers 201 with the record and a `Location` header,
and takes an optional `Idempotency-Key` (the same key and body within 24 h returns the first answer); long
work (imports and exports of any size, bulk actions) answers 202 with the job's URL (`/api/v1/jobs/{{id}}`:
state, progress, rate, ETA, errors, result). A
record carries `version`; an update takes `If-Match: <version>` (or `version` in the body) and answers 409
when it is stale. Actions on a state machine are sub-resources (`POST /api/v1/leads/{{id}}/convert`); one
the record's state does not allow answers 409 naming the current state. Lists are keyset-paginated:
`?limit=` (at most 200) and `?cursor=` (the previous page's `next_cursor`) answer
`{{"items": [...], "next_cursor": ... | null}}`, page 1000 costing what page 1 costs. Every response
carries `X-Request-ID` (taken from the request when given), also in every log line and event the request
caused.

**Errors** are `application/problem+json` (RFC 9457: `type`, `title`, `status`, `detail`, and
`errors: {{field: [messages]}}` for validation): 400/422 bad input, 401 no valid token, 403 allowed to see but
not to do, 404 unknown or outside the caller's data scope, 409 conflict, 429 rate limited and 503 a service
not answering in time (both with `Retry-After`), never a 500 for bad input. Text anywhere in a request
(JSON strings and keys, query parameters) must not hold NUL characters or unpaired surrogates (422 naming
the field); a JSON body nests at most {MAX_JSON_DEPTH} levels (400); a URL is at most {MAX_URL_LENGTH}
characters (414). A method a path does not take answers 405 with `Allow`."""

IF_MATCH_PATTERN = r'^(W/)?"?0*[1-9][0-9]*"?$'
VERSION = {"type": "integer", "minimum": 1,
           "description": "The version you read, instead of If-Match (which wins when both are given)."}


def _with_version(schema: dict) -> dict:
    """A request body that may carry ``version`` (the gateway takes it out before the service sees it)."""
    schema = copy.deepcopy(schema)
    if schema.get("type") == "object" or "properties" in schema:
        schema.setdefault("properties", {})["version"] = VERSION
    return schema


def build_spec(service_schemas: dict[str, dict], routes=ROUTES) -> dict:
    """``service_schemas``: {"leads.Lead": {JSON Schema}, ...} as the services describe them."""
    spec = APISpec(title="CRM platform API", version="1", openapi_version="3.1.0",
                   info={"description": DESCRIPTION})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.security_scheme("portalLink", {
        "type": "apiKey", "in": "header", "name": "X-Portal-Link",
        "description": "A customer's signed one-time link (support hands it out: a survey link on "
                       "`ticket_resolved`, reply and open-ticket links from staff). A write uses it up."})
    spec.components.schema("Problem", PROBLEM)
    components = dict(service_schemas)
    for name in sorted({r for route in routes for r in (route.request, route.response, route.query_schema)
                        if r and r.startswith("gateway.")}):
        components[name] = json_schema(getattr(gateway_schemas, name.split(".", 1)[1]))
    for route in routes:
        if route.takes("version") and route.json_body and route.request in components:
            components[route.request] = _with_version(components[route.request])
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
            "summary": summary, "tags": ["operations"], "security": [],
            "operationId": path.strip("/").replace(".", "_"),
            "responses": {"200": {"description": "OK", "content": {mime: {"schema": schema}}}}}})
    doc = spec.to_dict()
    doc["security"] = [{"bearer": []}]
    doc["tags"] = tags(routes)
    return doc


def tags(routes=ROUTES) -> list[dict]:
    """Every tag an operation has, one per context (``TAGS``' order and words first), then operations'."""
    used = {route.tag for route in routes}
    out = [{"name": name, "description": text} for name, text in TAGS.items() if name in used]
    out += [{"name": name, "description": f"The {name} context."} for name in sorted(used - set(TAGS))]
    return out + [{"name": "operations", "description": TAGS_OPERATIONS}]


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
