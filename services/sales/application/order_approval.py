"""An order through the approval engine (审批): submit, approve, reject, withdraw.

The order's own state machine (``domain.orders``) is asked first (approve without a submission,
submit of an approved order: 409 naming the state); then the engine
(``application.approvals``: ``submit`` / ``decide`` / ``withdraw``) answers, and only its answer
moves the order to ``approved`` or ``rejected``. Submitting and withdrawing are the owner's (the
data scope's writers); deciding is the approvers' (the engine says who: ``Forbidden`` otherwise),
so an approver outside the order's data scope may decide it, while anyone else outside it gets 404.
"""
from __future__ import annotations

from decimal import Decimal

from crm_kit.context import Principal
from crm_kit.errors import Forbidden, InvalidState, NotFound, ValidationFailed
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.records.scopes import get_for_read
from crm_kit.runtime.uow import UnitOfWork
from services.sales.application import approvals
from services.sales.application.orders import SUBJECT, WITH_LINES, dump, order_for_write
from services.sales.domain import orders as rules
from services.sales.domain import payment_plans as plan_rules
from services.sales.domain.org import OrgChart
from services.sales.domain.totals import line_total
from services.sales.events.orders import ORDER_APPROVED, ORDER_REJECTED, ORDER_SUBMITTED
from services.sales.models.orders import Order
from services.sales.schemas.orders import OrderApprove, OrderReject, OrderSubmit

_submit, _approve, _reject = OrderSubmit(), OrderApprove(), OrderReject()


def approval_facts(order: Order) -> dict:
    """What the flows are chosen by: the total, the largest discount the customer gets (order,
    line, or all together: ``domain.orders.effective_discount_percent``), owner, department, currency."""
    gross = sum((line_total(line.quantity, line.unit_price, 0) for line in order.lines), Decimal("0.00"))
    discount = rules.effective_discount_percent(gross, order.total, [line.discount_percent for line in order.lines],
                                                order.discount_percent)
    return {"amount": order.total, "discount_percent": discount, "department_id": order.department_id,
            "owner_id": order.owner_id, "kind": None, "currency": order.currency}


def _approved(uow: UnitOfWork, order: Order, now) -> None:
    order.status, order.approved_at = rules.APPROVED, now
    order.due_date = rules.due_date(now.date(), order.due_days)
    uow.session.flush()
    uow.emit(ORDER_APPROVED, order, occurred_at=now)


def submit_order(uow: UnitOfWork, principal: Principal, org: OrgChart, order_id: str, approver_id=None) -> dict:
    """Submit a draft or rejected order (``approver_id``: the approver when no flow applies). The
    engine answers ``pending`` (the order waits) or ``approved`` (nothing needed approving: the order
    is approved at once, ``order_submitted`` then ``order_approved``). A payment plan prepared on
    the order must still add up to its total (422 stating the difference)."""
    fields = load(_submit, {"approver_id": approver_id})
    with uow:
        session = uow.session
        order = order_for_write(session, principal, order_id)
        rules.check("submit", order.status)
        if not order.lines:
            raise ValidationFailed.from_messages({"lines": ["An order has at least one line."]})
        plan_rules.check_adds_up(order.payment_plan, order.total, order.currency)   # (the lines may have changed)
        state = approvals.submit(uow, principal, org, subject_kind=SUBJECT, subject_id=order.id,
                                 facts=approval_facts(order), approver_id=fields["approver_id"])
        now = utcnow()
        order.status, order.submitted_at, order.updated_at = rules.PENDING, now, now
        order.rejected_at = order.rejected_reason = None
        uow.audit_action("submit")
        session.flush()
        uow.emit(ORDER_SUBMITTED, order, submitted_by=principal.user_id, approval_state=state, occurred_at=now)
        if state == "approved":
            _approved(uow, order, now)
        return uow.commit(lambda: dump(session, order))


def _for_decision(session, principal: Principal, order_id: str, action: str) -> tuple[Order, bool]:
    """The order an approver decides on (whether it is in the caller's scope); ``NotFound`` when it
    is missing, or out of scope and not waiting (nothing to decide: nothing to show)."""
    try:
        order = get_for_read(session, Order, order_id, principal, SUBJECT, options=WITH_LINES)
        visible = True
    except NotFound:
        order, visible = session.get(Order, order_id, options=WITH_LINES), False
        if order is None:
            raise NotFound.of(SUBJECT, order_id) from None
    if order.status != rules.PENDING and not visible:
        raise NotFound.of(SUBJECT, order_id)
    rules.check(action, order.status, order.shipped_at, order.delivered_at)
    return order, visible


def _decide(uow: UnitOfWork, principal: Principal, org: OrgChart, order_id: str, decision: str,
            comment: str | None) -> dict:
    with uow:
        session = uow.session
        order, visible = _for_decision(session, principal, order_id, decision)
        try:
            state = approvals.decide(uow, principal, org, subject_kind=SUBJECT, subject_id=order.id,
                                     decision=decision, comment=comment)
        except (Forbidden, InvalidState):
            if not visible:
                raise NotFound.of(SUBJECT, order_id) from None
            raise
        now = utcnow()
        uow.audit_action(decision)
        if state == "approved":
            order.updated_at = now
            _approved(uow, order, now)
        elif state == "rejected":
            order.status, order.rejected_at, order.updated_at = rules.REJECTED, now, now
            order.rejected_reason = comment or "Rejected."
            session.flush()
            uow.emit(ORDER_REJECTED, order, occurred_at=now)
        return uow.commit(lambda: dump(session, order))


def approve_order(uow: UnitOfWork, principal: Principal, org: OrgChart, order_id: str, comment=None) -> dict:
    """An approver's approval of the current step; the order is approved when the engine says the
    last step passed (``order_approved``), else it keeps waiting."""
    fields = load(_approve, {"comment": comment})
    return _decide(uow, principal, org, order_id, "approve", fields["comment"])


def reject_order(uow: UnitOfWork, principal: Principal, org: OrgChart, order_id: str, reason) -> dict:
    """An approver's rejection, with the reason (``order_rejected``); the owner may edit and resubmit."""
    fields = load(_reject, {"reason": reason})
    return _decide(uow, principal, org, order_id, "reject", fields["reason"])


def withdraw_order(uow: UnitOfWork, principal: Principal, order_id: str) -> dict:
    """The owner takes a pending order back to draft (撤回); the engine records the withdrawal."""
    with uow:
        session = uow.session
        order = order_for_write(session, principal, order_id)
        order.status = rules.check("withdraw", order.status)
        approvals.withdraw(uow, principal, subject_kind=SUBJECT, subject_id=order.id)
        order.updated_at = utcnow()
        uow.audit_action("withdraw")
        session.flush()
        return uow.commit(lambda: dump(session, order))
