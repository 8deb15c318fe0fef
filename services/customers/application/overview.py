"""The customer's own part of its overview: the customer (with its contacts and summary, masked as
``get_customer`` masks it), its most recent follow-ups, its deal status and summary.

The gateway's overview route (``GET /api/v1/customers/{id}/overview``) calls this first -- its 404
(naming the survivor of a merged id) is the page's -- then fetches the source lead and its
follow-ups from leads, and the opportunities, orders, receivables and tickets from sales, billing
and support, in parallel and within a deadline (``gateway.fanout``).
"""
from __future__ import annotations

from sqlalchemy import select

from crm_kit.context import Principal
from crm_kit.runtime.uow import UnitOfWork
from services.customers.application.access import customer_for_read, mask
from services.customers.application.merged import lookup
from services.customers.models import CustomerFollowUp
from services.customers.schemas.business import CustomerDealOut
from services.customers.schemas.follow_ups import FollowUpOut
from services.customers.schemas.records import CustomerOut

RECENT_FOLLOW_UPS = 10       # follow-ups in the overview, newest first (all of them: list_customer_follow_ups)
_out = CustomerOut()
_follow_up_out = FollowUpOut()
_deal_out = CustomerDealOut()


def customer_overview(uow: UnitOfWork, principal: Principal, customer_id: str) -> dict:
    """``{"customer", "follow_ups", "deal"}`` for whoever may read the customer (``NotFound`` else)."""
    with uow:
        session = uow.session
        customer = lookup(customer_for_read, session, principal, customer_id)
        dumped = mask(session, principal, customer, _out.dump(customer))       # (its contacts with it)
        follow_ups = session.scalars(select(CustomerFollowUp).where(CustomerFollowUp.customer_id == customer.id)
                                     .order_by(CustomerFollowUp.id.desc()).limit(RECENT_FOLLOW_UPS))
        return {"customer": dumped, "follow_ups": _follow_up_out.dump(follow_ups, many=True),
                "deal": _deal_out.dump(customer)}
