"""What billing adds to the customer's whole picture (the gateway's
``GET /api/v1/customers/{id}/overview``, part ``open_receivables``): the customer's receivables still
being collected (open, partially paid, overdue), the soonest due first, within the caller's data scope
(finance: its departments'). A merged customer's id reads as its survivor's. (What is outstanding in
all is the customer's own summary, kept by customers from billing's payment events.)"""
from __future__ import annotations

from crm_kit.context import Principal
from crm_kit.errors import ValidationFailed
from crm_kit.records.scopes import scoped_select
from crm_kit.runtime.uow import UnitOfWork
from services.billing.application.access import finance_clause
from services.billing.application.customer_events import current_customer_id
from services.billing.application.receivables import dump
from services.billing.domain import receivables as rules
from services.billing.models import Receivable

MAX_LIMIT = 100


def customer_receivables(uow: UnitOfWork, principal: Principal, customer_id: str, limit: int = 10) -> dict:
    """``{"items": [receivable]}``: at most ``limit`` (1..100), the soonest due first."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed("The request has invalid fields.", {"errors": {"limit": [
            f"Must be between 1 and {MAX_LIMIT}."]}})
    with uow:
        session = uow.session
        stmt = scoped_select(Receivable, principal, finance_clause(Receivable, principal)).where(
            Receivable.customer_id == current_customer_id(session, customer_id),
            Receivable.status.in_(rules.UNPAID))
        rows = session.scalars(stmt.order_by(Receivable.due_date, Receivable.id).limit(limit)).all()
        return {"items": [dump(r) for r in rows]}
