"""What the gateway reads from a request before anything else sees it: the JSON body, the CSV body,
the query string, the expected version. Input that no service could store or even carry is refused
here, as a 400 or 422 problem naming the field:

- a body that is not JSON (``NaN`` and ``Infinity`` are not JSON either), not an object, or nested
  deeper than ``MAX_JSON_DEPTH``;
- a JSON string, or an object key, holding a NUL character or an unpaired surrogate
  (``"\\ud800"``: not Unicode, no database stores it, UTF-8 cannot encode it); the error names the
  field by its dotted path (list items by index: ``admin_ids.0``);
- a query parameter (name or value) holding a NUL character (percent-encoded bytes that are not
  UTF-8 arrive as they were sent, and a path parameter as U+FFFD: text, not a fault);
- an ``If-Match`` that is not a version number (400), a body ``version`` that is not an integer of
  at least 1 (422);
- on a customer's (link) route, no ``X-Portal-Link`` header (401 ``missing``), or one longer than
  ``MAX_LINK_LENGTH`` (401 ``forged``: no link of ours is).
"""
from __future__ import annotations

import json
import re

from crm_kit.errors import BadRequest, Unauthorized, ValidationFailed

JSON = "application/json"
MAX_JSON_DEPTH = 32           # objects and arrays within each other; no request needs more than 3
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
PORTAL_LINK_HEADER = "X-Portal-Link"
MAX_LINK_LENGTH = 4096
_IF_MATCH = re.compile(r'(?:W/)?"?0*([1-9][0-9]*)"?')


def unstorable(text: str) -> str | None:
    """Why no service can take ``text`` (a NUL, an unpaired surrogate), or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return "Must not contain NUL characters." if found.group() == "\x00" else \
        "Must not contain unpaired surrogates (not Unicode text)."


def printable(name: str) -> str:
    """A field name fit for an error message: NULs and surrogates written as ``\\uXXXX``."""
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", name)


def json_body(request) -> dict:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    ctype = request.mimetype or ""
    if ctype and ctype != JSON and not ctype.endswith("+json"):
        raise BadRequest(f"Content-Type must be {JSON}.", {"errors": {"_body": [f"Expected {JSON}."]}})
    try:
        body = json.loads(raw, parse_constant=_not_json)
    except RecursionError:
        raise _too_deep() from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}.", {"errors": {"_body": ["Malformed JSON."]}}) from None
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.", {"errors": {"_body": ["Expected a JSON object."]}})
    errors = check_json(body)
    if errors:
        raise ValidationFailed.from_messages(errors, "The request has text no service can store.")
    return body


def _not_json(constant: str):
    raise ValueError(f"{constant} is not a JSON value")


def _too_deep() -> BadRequest:
    return BadRequest(f"The body is nested deeper than {MAX_JSON_DEPTH} levels.",
                      {"errors": {"_body": [f"Nested deeper than {MAX_JSON_DEPTH} levels."]}})


def check_json(value) -> dict[str, list[str]]:
    """``{dotted path: [message]}`` for every string and key of ``value`` no service can store; raises
    the 400 of a value nested deeper than ``MAX_JSON_DEPTH``. Iterative: depth costs no recursion."""
    errors: dict[str, list[str]] = {}
    stack = [(value, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, str):
            reason = unstorable(node)
            if reason:
                errors.setdefault(path or "_body", []).append(reason)
        elif isinstance(node, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                raise _too_deep()
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, item in items:
                name = printable(key) if isinstance(key, str) else str(key)
                sub = f"{path}.{name}" if path else name
                if isinstance(key, str) and unstorable(key):
                    errors.setdefault(sub, []).append("The field name must not contain NUL characters or "
                                                      "unpaired surrogates.")
                stack.append((item, sub, depth + 1))
    return errors


def csv_body(request) -> str:
    ctype = request.mimetype or ""
    if ctype not in ("text/csv", "text/plain", ""):
        raise BadRequest("Content-Type must be text/csv.", {"errors": {"_body": ["Expected text/csv."]}})
    try:
        text = request.get_data(cache=True).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The CSV must be UTF-8 (with or without BOM).",
                         {"errors": {"_body": ["Not valid UTF-8."]}}) from None
    if "\x00" in text:
        raise BadRequest("The CSV must not contain NUL characters.", {"errors": {"_body": ["NUL character."]}})
    return text


def check_query(request) -> None:
    """Every query parameter, whatever the route: none may hold what no service can store."""
    errors: dict[str, list[str]] = {}
    for key, values in request.args.lists():
        for text in (key, *values):
            reason = unstorable(text)
            if reason:
                errors.setdefault(printable(key), []).append(reason)
                break
    if errors:
        raise ValidationFailed.from_messages(errors, "The query string has text no service can store.")


def query(request) -> dict:
    return {key: request.args.get(key) for key in request.args.keys()}


def expected_version(request, body: dict | None) -> int | None:
    """``If-Match: 3`` (or ``"3"``, ``W/"3"``), else ``version`` in the body, else no check. The body's
    ``version`` is the gateway's, never the service's: taken out (and checked) even when If-Match wins."""
    raw = request.headers.get("If-Match")
    in_body = None
    if body is not None and "version" in body:
        in_body = body.pop("version")
        if type(in_body) is not int or in_body < 1:
            raise ValidationFailed.from_messages({"version": ["Must be the record's version: an integer, at least 1."]})
    if raw is None:
        return in_body
    match = _IF_MATCH.fullmatch(raw.strip())
    if match is None:
        raise BadRequest("If-Match must be the record's version number.",
                         {"errors": {"If-Match": ["Expected an integer version, at least 1."]}})
    return int(match.group(1))


def portal_link(request) -> str:
    """The customer's signed link of a link route (checked by the service that signed it)."""
    token = request.headers.get(PORTAL_LINK_HEADER, "").strip()
    if not token:
        raise Unauthorized(f"A signed link is required ({PORTAL_LINK_HEADER}: <token>).", {"reason": "missing"})
    if len(token) > MAX_LINK_LENGTH:
        raise Unauthorized("This link is not valid.", {"reason": "forged"})
    return token
