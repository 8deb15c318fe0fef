"""What support adds to the customer's whole picture (the gateway's
``GET /api/v1/customers/{id}/overview``, part ``tickets``): the customer's tickets, open ones first,
then the newest, within the caller's data scope (``access``). A merged customer's id reads as its
survivor's."""
from __future__ import annotations

from sqlalchemy import case

from crm_kit.context import Principal
from crm_kit.errors import ValidationFailed
from crm_kit.records.db import utcnow
from crm_kit.records.scopes import scoped_select
from crm_kit.runtime.uow import UnitOfWork
from services.support.application.access import read_clause
from services.support.application.customer_events import current_customer_id
from services.support.application.tickets import dump
from services.support.domain import tickets as rules
from services.support.models import Ticket

MAX_LIMIT = 100


def customer_tickets(uow: UnitOfWork, principal: Principal, customer_id: str, limit: int = 10) -> dict:
    """``{"items": [ticket]}``: at most ``limit`` (1..100), open ones first, newest first."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed("The request has invalid fields.", {"errors": {"limit": [
            f"Must be between 1 and {MAX_LIMIT}."]}})
    with uow:
        session = uow.session
        open_first = case((Ticket.status.in_(rules.OPEN_STATUSES), 0), else_=1)
        stmt = scoped_select(Ticket, principal, read_clause(principal)).where(
            Ticket.customer_id == current_customer_id(session, customer_id))
        rows = session.scalars(stmt.order_by(open_first, Ticket.id.desc()).limit(limit)).all()
        now = utcnow()
        return {"items": [dump(r, now) for r in rows]}
