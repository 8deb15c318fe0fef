"""The gateway's gathered routes under ``/api/v1/me``: the caller's reminders from leads and
customers, asked in parallel within a deadline (``gateway.reminders``), as JSON and as an
iCalendar feed."""
from __future__ import annotations

from gateway.routes.model import Route, query

ROUTES = (
    Route("GET", "/api/v1/me/reminders", "gateway", "my_reminders",
          "The caller's reminders from leads and customers: next contact times, recycle warnings, birthdays",
          "me", (query(),), response="gateway.ReminderList", query_schema="gateway.ReminderQuery", description=(
              "Gathered by the gateway from leads (`lead_reminders`) and customers (`customer_reminders`) in "
              "parallel, each within `GATEWAY_REMINDERS_DEADLINE_SECONDS`. A part that does not answer in "
              "time is left out and marked `available: false` in `parts` (`complete: false`) instead of "
              "failing the page. `items` are merged by `due_at`; `source` says whose each is.")),
    Route("GET", "/api/v1/me/reminders.ics", "gateway", "my_reminders_calendar",
          "The caller's reminders as an iCalendar feed (RFC 5545), to add to their own calendar", "me",
          (query(),), query_schema="gateway.ReminderQuery", media_type="text/calendar", description=(
              "The same reminders as `/api/v1/me/reminders`, 30 days ahead by default (`due_before`), one "
              "VEVENT with a VALARM each (a birthday: an all-day event). Event UIDs are stable, so a "
              "calendar fetching the feed again updates its events. When a part does not answer in time "
              "the feed answers 503 with `Retry-After` rather than an incomplete calendar (which would "
              "remove that part's events from the user's calendar).")),
)
