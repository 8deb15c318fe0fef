"""The customer's whole picture (``GET /api/v1/customers/{id}/overview``), gathered by the gateway.

First the customer's own part, from customers (``customer_overview``: the customer with its
contacts, its recent follow-ups, its deal status and summary): its answer is the page's -- a 404
(naming the survivor of a merged id), a 403, or a 503 if customers does not answer. Then, in
parallel and within ``GATEWAY_OVERVIEW_DEADLINE_SECONDS`` (``gateway.fanout``), the parts other
services own, each ``{"available", "data" | "items", "reason", "detail"}``:

- ``source_lead`` and ``source_lead_follow_ups`` (leads: ``get_lead``, ``list_lead_follow_ups``),
  with the caller's data scope (a lead they may not see is ``not_visible``); no source lead: an
  available part with ``data: null`` / ``items: []``, nothing called;
- ``open_opportunities`` (sales: ``customer_opportunities``), ``recent_orders`` (sales:
  ``list_orders`` filtered by the customer, newest first), within the caller's data scope;
- ``open_receivables`` (billing: ``customer_receivables``, those still being collected, the soonest
  due first), within the caller's data scope (finance: its departments');
- ``tickets`` (support: ``customer_tickets``, open ones first, then the newest), within the caller's
  data scope (support's: group membership, the creator, the customer's owner).

A part whose service has no such call says ``not_provided`` (nothing is called, no data is made up):
its ``Part`` names no ``call`` (:data:`PARTS`).

``unavailable`` lists the parts that are not (the answer says which). Every call carries the
caller's principal: each service answers within the caller's data scope.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from marshmallow import Schema, fields

from crm_kit.context import Principal
from gateway.fanout import REASONS, Outcome

DEADLINE_SECONDS = float(os.environ.get("GATEWAY_OVERVIEW_DEADLINE_SECONDS", "") or 2.0)
RECENT = 10      # items of each list part (newest first)


@dataclass(frozen=True)
class Part:
    """A part other services own: ``shape`` ``data`` (one record) or ``items`` (a list); ``call``:
    ``(services, customer) -> the RPC's answer`` (None: its service has no such RPC yet, ``missing``
    says what), ``empty``: the part without a call when the customer has nothing to fetch."""
    name: str
    service: str
    shape: str
    call: Callable[[Any, dict], Any] | None = None
    missing: str | None = None
    needs: Callable[[dict], bool] = lambda customer: True

    def empty(self):
        return None if self.shape == "data" else []


def _has_source_lead(customer: dict) -> bool:
    return bool(customer.get("source_lead_id"))


PARTS = (
    Part("source_lead", "leads", "data", needs=_has_source_lead,
         call=lambda services, customer: services.leads.get_lead(lead_id=customer["source_lead_id"])),
    Part("source_lead_follow_ups", "leads", "items", needs=_has_source_lead,
         call=lambda services, customer: services.leads.list_lead_follow_ups(
             lead_id=customer["source_lead_id"], query={"limit": RECENT})["items"]),
    Part("open_opportunities", "sales", "items",
         call=lambda services, customer: services.sales.customer_opportunities(
             customer_id=customer["id"], limit=RECENT)["items"]),
    Part("recent_orders", "sales", "items",
         call=lambda services, customer: services.sales.list_orders(
             query={"customer_id": customer["id"], "limit": RECENT})["items"]),
    Part("open_receivables", "billing", "items",
         call=lambda services, customer: services.billing.customer_receivables(
             customer_id=customer["id"], limit=RECENT)["items"]),
    Part("tickets", "support", "items",
         call=lambda services, customer: services.support.customer_tickets(
             customer_id=customer["id"], limit=RECENT)["items"]),
)


def customer_overview(services, principal: Principal, customer_id: str, parts=PARTS,
                      within: float | None = None) -> dict:
    """The page (:class:`CustomerOverview`). ``services``: the gateway worker (its RPC proxies by
    service name, and ``fanout``)."""
    own = services.customers.customer_overview(customer_id=customer_id)
    customer = own["customer"]
    outcomes, calls = {}, {}
    for part in parts:
        if part.call is None:
            outcomes[part.name] = Outcome.not_provided(part.missing)
        elif not part.needs(customer):
            outcomes[part.name] = Outcome(True, part.empty())
        else:
            calls[part.name] = (lambda p: lambda: p.call(services, customer))(part)
    outcomes.update(services.fanout(calls, DEADLINE_SECONDS if within is None else within))
    page = dict(own)
    for part in parts:
        page[part.name] = _part(part, outcomes[part.name])
    page["unavailable"] = [part.name for part in parts if not outcomes[part.name].available]
    return page


def _part(part: Part, outcome: Outcome) -> dict:
    return {"available": outcome.available, part.shape: outcome.value if outcome.available else None,
            "reason": outcome.reason, "detail": outcome.detail}


# -- the answer's schema (``gateway.CustomerOverview``) ------------------------------------------------
_REASON = ("Why it is unavailable (null when available): " + ", ".join(REASONS) + ". not_answered: the "
           "service did not answer within the deadline or is not running; not_visible: out of your data scope "
           "or gone; not_provided: the service has no such call yet.")


class _Part(Schema):
    available = fields.Boolean(required=True)
    reason = fields.String(allow_none=True, metadata={"description": _REASON})
    detail = fields.String(allow_none=True)


class _RecordPart(_Part):
    data = fields.Dict(allow_none=True, metadata={"description": "the record (null: none, or unavailable)"})


class _ListPart(_Part):
    items = fields.List(fields.Dict(), allow_none=True, metadata={
        "description": f"newest first, at most {RECENT} (null: unavailable)"})


class CustomerOverview(Schema):
    """The customer's whole picture: its own part (as ``customers.CustomerOverview``: the customer
    with its contacts, recent follow-ups, deal status and summary), and the parts other services own,
    each marked unavailable (with the reason) when its service does not answer in time."""
    customer = fields.Dict(metadata={"description": "the customer with its contacts (customers.Customer)"})
    follow_ups = fields.List(fields.Dict(), metadata={"description": "its recent follow-ups, newest first "
                                                                    "(customers.FollowUp)"})
    deal = fields.Dict(metadata={"description": "deal status and summary (customers.CustomerDeal)"})
    source_lead = fields.Nested(_RecordPart, metadata={"description": "the lead it was converted from (leads.Lead)"})
    source_lead_follow_ups = fields.Nested(_ListPart, metadata={"description": "leads.FollowUp"})
    open_opportunities = fields.Nested(_ListPart, metadata={"description": "sales"})
    recent_orders = fields.Nested(_ListPart, metadata={"description": "sales"})
    open_receivables = fields.Nested(_ListPart, metadata={"description": "billing"})
    tickets = fields.Nested(_ListPart, metadata={"description": "support"})
    unavailable = fields.List(fields.String(), metadata={"description": "the parts that are not available"})
