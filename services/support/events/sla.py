"""The events of the SLA timer (exchange ``support.events``), each raised once per ticket and clock:

- ``ticket_sla_warning``   a clock passed its warning point (``warn_fraction`` of its target) unmet
- ``ticket_sla_breached``  a clock passed its deadline unmet

``clock`` is ``first_response``, ``resolution`` or ``arrival``; ``rule`` names the rule and its inputs
(policy, target minutes, due and warning times, business time elapsed, as of, the calendar's zone).
"""
from __future__ import annotations

from marshmallow import fields

from crm_kit.runtime.events import EventType
from services.support.events.tickets import _BASE, TicketPayload

__all__ = ["TicketSlaWarningPayload", "TicketSlaBreachedPayload", "TICKET_SLA_WARNING", "TICKET_SLA_BREACHED"]


class _SlaPayload(TicketPayload):
    clock = fields.String(required=True, metadata={"description": "first_response, resolution, arrival"})
    due_at = fields.DateTime(required=True, allow_none=True)
    rule = fields.Dict(required=True, metadata={
        "description": "rule (sla.<clock>.warning | sla.<clock>.breached), policy, target_minutes, due_at, "
                       "warn_at, elapsed_seconds, remaining_seconds, as_of, tz."})


class TicketSlaWarningPayload(_SlaPayload):
    pass


class TicketSlaBreachedPayload(_SlaPayload):
    pass


_RULE = {"policy": "default-normal", "target_minutes": 1440, "due_at": "2026-03-05T04:00:00+00:00",
         "warn_at": "2026-03-04T07:48:00+00:00", "tz": "Asia/Shanghai"}

TICKET_SLA_WARNING = EventType(
    "ticket_sla_warning", TicketSlaWarningPayload, version=1,
    description="A ticket's SLA clock passed its warning point without being met, once per clock.",
    example={**_BASE, "clock": "first_response", "due_at": "2026-03-05T04:00:00+00:00", "rule": {
        **_RULE, "rule": "sla.first_response.warning", "elapsed_seconds": 69120, "remaining_seconds": 17280,
        "as_of": "2026-03-04T08:00:00+00:00"}, "occurred_at": "2026-03-04T08:00:00+00:00"})
TICKET_SLA_BREACHED = EventType(
    "ticket_sla_breached", TicketSlaBreachedPayload, version=1,
    description="A ticket's SLA clock passed its deadline without being met, once per clock.",
    example={**_BASE, "clock": "first_response", "due_at": "2026-03-05T04:00:00+00:00", "rule": {
        **_RULE, "rule": "sla.first_response.breached", "elapsed_seconds": 86400, "remaining_seconds": 0,
        "as_of": "2026-03-05T04:00:00+00:00"}, "occurred_at": "2026-03-05T04:00:00+00:00"})
