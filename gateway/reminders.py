"""The caller's reminders, gathered by the gateway (``GET /api/v1/me/reminders`` and its iCalendar
feed ``GET /api/v1/me/reminders.ics``): leads' (``leads.lead_reminders``: next contact times and
recycle warnings of their leads) and customers' (``customers.customer_reminders``: next contact
times, recycle warnings, contacts' birthdays) asked **in parallel**, each part given at most
``GATEWAY_REMINDERS_DEADLINE_SECONDS`` (default 2).

The query is checked here first (the services would refuse the same), then both parts are called
through ``gateway.fanout`` (each call carries the deadline, so a service also gives up on a request
nobody waits for). A part that does not answer in time -- the service down or hung, the broker
unreachable -- or fails is left out and marked ``{"available": false, "reason", "detail"}``
(``fanout.REASONS``) instead of failing the page: the answer says which part is missing (``parts``,
``complete``). The calendar feed answers 503 instead when a part is missing: a calendar
application replaces its whole copy of a feed with what it fetched, so a partial feed would wipe
the missing part's events from the user's calendar until the next refresh; a 503 (``Retry-After``)
keeps the copy it has.

The dispatcher (``gateway.service``) calls ``GATHERED[name](gateway, principal, **arguments)``
(``gateway.gathered``): ``gateway`` is the worker's service instance, whose RPC proxies
(``gateway.leads``, ``gateway.customers``) and ``fanout`` the parts are called through.
"""
from __future__ import annotations

import datetime as dt
import os

from marshmallow import Schema, ValidationError, fields, validate

from crm_kit.errors import ServiceUnavailable
from crm_kit.records.schemas import load
from crm_kit.runtime.transient import RETRY_AFTER_SECONDS
from gateway import reminders_ics
from gateway.fanout import REASONS, Outcome

DEADLINE_SECONDS = float(os.environ.get("GATEWAY_REMINDERS_DEADLINE_SECONDS", "") or 2)
CALENDAR_DAYS = 30          # the feed's default window: reminders due in the next 30 days (and overdue ones)
MAX_LIMIT = 200
# (part, service, RPC): each answers {"items": [{"kind", "due_at", ...}], "next_cursor": null}
PARTS = (("leads", "leads", "lead_reminders"), ("customers", "customers", "customer_reminders"))
UTC = dt.timezone.utc


# -- the schemas (gateway.<Name> in the route table and the OpenAPI document) --------------------------
def _plausible(value: dt.datetime | None) -> None:
    if value is not None and not (1900 <= value.year <= 8999):
        raise ValidationError("The year must be between 1900 and 8999.")


def _when(**kwargs):
    return fields.AwareDateTime(default_timezone=UTC, validate=_plausible, **kwargs)


class ReminderQuery(Schema):
    """``due_before`` (default now; the calendar feed: 30 days ahead): reminders due up to then
    (overdue ones too; birthdays from today); ``limit``: at most that many from each part, and in
    the merged list (by ``due_at``)."""

    class Meta:
        unknown = "raise"

    due_before = _when(load_default=None, allow_none=True)
    limit = fields.Integer(load_default=MAX_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))


class Reminder(Schema):
    """One reminder. ``source`` says whose: a lead's carries ``lead_id``, ``lead_name``, ``company``;
    a customer's ``customer_id``, ``customer_name`` and, for a contact's birthday, ``contact_id``,
    ``contact_name``. Fields of the other source are absent."""
    source = fields.String(validate=validate.OneOf([p for p, _, _ in PARTS]))
    kind = fields.String(metadata={"description": "next_contact | recycle_warning | birthday (customers only)"})
    due_at = fields.DateTime(metadata={"description": "the next contact time; when the record will be "
                                                      "recycled; 00:00 UTC of the birthday"})
    pool_id = fields.String(allow_none=True, metadata={"description": "recycle_warning: the pool that takes it"})
    lead_id = fields.String()
    lead_name = fields.String()
    company = fields.String(allow_none=True)
    customer_id = fields.String()
    customer_name = fields.String()
    contact_id = fields.String(allow_none=True)
    contact_name = fields.String(allow_none=True)


class ReminderPart(Schema):
    """Whether a part answered in time; ``count``: its reminders (null when unavailable); ``reason``
    and ``detail``: why it is missing (null when available)."""
    available = fields.Boolean()
    count = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True, validate=validate.OneOf(REASONS), metadata={
        "description": "not_answered: the service did not answer within the deadline, is not running, or "
                       "the broker cannot be reached; failed: it answered with an error"})
    detail = fields.String(allow_none=True)


class ReminderList(Schema):
    """The caller's reminders from every part, by ``due_at`` (then source), the first ``limit``;
    ``parts``: each source's state; ``complete``: every part answered (``false``: ``items`` lacks
    the unavailable parts'). ``next_cursor`` is always null."""
    items = fields.List(fields.Nested(Reminder))
    parts = fields.Dict(keys=fields.String(validate=validate.OneOf([p for p, _, _ in PARTS])),
                        values=fields.Nested(ReminderPart))
    complete = fields.Boolean()
    next_cursor = fields.String(allow_none=True)


_query = ReminderQuery()


# -- the use cases ----------------------------------------------------------------------------------
def my_reminders(gateway, principal, query: dict | None = None) -> dict:
    """``GET /api/v1/me/reminders``: every part's reminders merged, each part marked available or not."""
    params = load(_query, query or {})
    return _merged(_gathered(gateway, params), params["limit"])


def my_reminders_calendar(gateway, principal, query: dict | None = None) -> str:
    """``GET /api/v1/me/reminders.ics``: the same reminders as an iCalendar document (RFC 5545),
    30 days ahead by default; 503 when a part does not answer (see the module's doc)."""
    params = load(_query, query or {})
    now = dt.datetime.now(UTC)
    if params["due_before"] is None:
        params["due_before"] = now + dt.timedelta(days=CALENDAR_DAYS)
    outcomes = _gathered(gateway, params)
    missing = sorted(name for name, outcome in outcomes.items() if not outcome.available)
    if missing:
        raise ServiceUnavailable(f"The reminders of {', '.join(missing)} could not be fetched in time; "
                                 "the calendar is not sent incomplete.",
                                 {"service": missing[0], "retry_after": RETRY_AFTER_SECONDS})
    merged = _merged(outcomes, params["limit"])
    return reminders_ics.calendar(merged["items"], now)


def _gathered(gateway, params: dict) -> dict[str, Outcome]:
    asked = {"limit": params["limit"]}
    if params["due_before"] is not None:
        asked["due_before"] = params["due_before"].astimezone(UTC).isoformat()
    calls = {part: (lambda service=service, rpc=rpc: getattr(getattr(gateway, service), rpc)(query=dict(asked)))
             for part, service, rpc in PARTS}
    return gateway.fanout(calls, DEADLINE_SECONDS)


def _merged(outcomes: dict[str, Outcome], limit: int) -> dict:
    items, parts = [], {}
    for part, _, _ in PARTS:
        outcome = outcomes[part]
        if outcome.available:
            found = list((outcome.value or {}).get("items") or ())
            items += [{"source": part, **item} for item in found]
            parts[part] = {"available": True, "count": len(found), "reason": None, "detail": None}
        else:
            parts[part] = {"available": False, "count": None, "reason": outcome.reason, "detail": outcome.detail}
    order = [p for p, _, _ in PARTS]
    items.sort(key=lambda item: (_instant(item["due_at"]), order.index(item["source"]),
                                 item.get("lead_id") or item.get("customer_id") or ""))
    return {"items": items[:limit], "parts": parts, "complete": all(p["available"] for p in parts.values()),
            "next_cursor": None}


def _instant(value) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# the gateway's gathered routes: ``gateway.<name>`` (``gateway.service`` calls them with itself)
GATHERED = {"my_reminders": my_reminders, "my_reminders_calendar": my_reminders_calendar}
