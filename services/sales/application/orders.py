"""Orders (销售订单): create (a draft, numbered, priced on the server), read, list (and "to ship"),
edit while draft or rejected, copy, transfer, cancel, ship, deliver.

Prices come from ``application.pricing.unit_prices`` (the product or its price list on the day),
totals from ``domain.totals``, the number from ``order_numbers.take_number``; every action asks
``domain.orders`` first (409 naming the state). Submitting and deciding go through the approval
engine (``order_approval``); the late-delivery timer is ``order_lateness``. Reads and writes go
through the data scopes: out of scope is 404, visible but not writable 403.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from marshmallow import ValidationError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from crm_kit.context import Principal
from crm_kit.errors import ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records import audit, team_members
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load, nested_dumper
from crm_kit.records.scopes import get_for_read, get_for_write, scoped_select
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork, of_session
from services.sales.application import approvals
from services.sales.application.customer_events import current_customer_id
from services.sales.application.order_numbers import take_number
from services.sales.application.pricing import unit_prices
from services.sales.domain import orders as rules
from services.sales.domain import payment_plans as plan_rules
from services.sales.domain.numbering import ORDER_PREFIX
from services.sales.domain.totals import CENT, check_one_currency, line_total, order_totals
from services.sales.events.orders import ORDER_CANCELLED, ORDER_DELIVERED, ORDER_OWNER_CHANGED, ORDER_SHIPPED
from services.sales.models.orders import Order, OrderLine
from services.sales.schemas.orders import (
    OrderCancel,
    OrderCreate,
    OrderDeliver,
    OrderLineIn,
    OrderListQuery,
    OrderOut,
    OrderShip,
    OrderToShipQuery,
    OrderTransfer,
    OrderUpdate,
)

SUBJECT = "order"
_out = nested_dumper(OrderOut())      # (what OrderOut().dump gives)
_create, _update, _lines_in = OrderCreate(), OrderUpdate(), OrderLineIn(many=True)
_query, _to_ship_query = OrderListQuery(), OrderToShipQuery()
_cancel, _ship, _deliver, _transfer = OrderCancel(), OrderShip(), OrderDeliver(), OrderTransfer()
PRICED = ("lines", "currency", "price_list_id", "discount_percent")


_READ = object()


def dump(session, order: Order, approval=_READ) -> dict:
    """The order as every RPC returns it, with its approval request (the engine's view; ``approval``:
    None for an order just made, never submitted)."""
    out = _out(order)
    out["approval"] = approvals.current(session, SUBJECT, order.id) if approval is _READ else approval
    return out


# (an order is read with its lines in one round trip: every RPC's reply shows them)
WITH_LINES = (joinedload(Order.lines),)


def order_for_read(session, principal: Principal, order_id: str) -> Order:
    return get_for_read(session, Order, order_id, principal, SUBJECT, options=WITH_LINES)


def order_for_write(session, principal: Principal, order_id: str) -> Order:
    return get_for_write(session, Order, order_id, principal, SUBJECT, options=WITH_LINES)


# -- pricing -----------------------------------------------------------------------------------------
def price_lines(session, lines: list[dict], *, currency: str | None, price_list_id: str | None,
                on: dt.date) -> tuple[str, list[OrderLine]]:
    """The order's currency and its lines priced now: the price from the product or its list
    (never the client's), each line's total under ``domain.totals``. ``currency`` absent: the one the
    prices come in (they must agree: one currency per order)."""
    priced = unit_prices(session, [line["product_id"] for line in lines], price_list_id=price_list_id,
                         currency=currency, on=on)
    if currency is None:
        currency = next(iter(priced.values())).currency if priced else "CNY"
        check_one_currency(currency, [(p.product_id, p.currency) for p in priced.values()])
    out = []
    for position, line in enumerate(lines):
        product = priced[str(line["product_id"])]
        quantity = Decimal(line["quantity"]).quantize(Decimal("0.001"))     # (as stored)
        discount = Decimal(line.get("discount_percent") or 0).quantize(CENT)
        out.append(OrderLine(id=new_id(), position=position, product_id=product.product_id, sku=product.sku,
                             name=product.name, unit=product.unit, quantity=quantity,
                             unit_price=product.unit_price, discount_percent=discount,
                             line_total=line_total(quantity, product.unit_price, discount),
                             price_list_id=product.price_list_id))
    return currency, out


def apply_totals(order: Order) -> None:
    totals = order_totals(order.lines, order.discount_percent)
    order.subtotal, order.discount_amount, order.total = totals.subtotal, totals.discount, totals.total


def new_draft_order(session, principal: Principal, *, customer_id: str, opportunity_id: str | None = None,
                    currency: str | None = None, price_list_id: str | None = None, lines: list[dict],
                    discount_percent=Decimal(0), quote_id: str | None = None, contract_id: str | None = None,
                    payment_terms: str | None = None, due_days: int | None = None,
                    promised_date: dt.date | None = None, notes: str | None = None,
                    copied_from_id: str | None = None, owner_id: str | None = None,
                    department_id: str | None = None, payment_plan: list[dict] | None = None) -> Order:
    """A draft order added to ``session`` (the caller's unit of work: quotes accepted, copies, the
    create RPC): priced now, numbered, totals computed. Owned by ``owner_id`` (default the caller,
    in the caller's department). ``lines``: ``{product_id, quantity, discount_percent?}``;
    ``payment_plan``: the plan prepared on it (``domain.payment_plans``; it must add up to the total)."""
    now = utcnow()
    customer_id = current_customer_id(session, customer_id)     # a merged customer's id names its survivor
    currency, priced = price_lines(session, lines, currency=currency, price_list_id=price_list_id, on=now.date())
    if owner_id is None and not principal.is_system:
        owner_id, department_id = principal.user_id, principal.department_id
    order = Order(id=new_id(), number=take_number(session, ORDER_PREFIX, now.date()), customer_id=customer_id,
                  opportunity_id=opportunity_id, contract_id=contract_id, quote_id=quote_id, owner_id=owner_id,
                  department_id=department_id, currency=currency, price_list_id=price_list_id,
                  discount_percent=Decimal(discount_percent or 0).quantize(CENT), payment_terms=payment_terms,
                  due_days=due_days, promised_date=promised_date, notes=notes, status=rules.DRAFT,
                  copied_from_id=copied_from_id, paid_amount=Decimal("0.00"), created_by=principal.user_id,
                  payment_plan=plan_rules.normalized(payment_plan), version=1, created_at=now, updated_at=now)
    uow = of_session(session)
    if uow is None:
        order.lines = priced
    session.add(order)
    if uow is not None:
        _lines_with_commit(uow, order, priced)      # (after session.add: its cascade must not see them)
    apply_totals(order)
    plan_rules.check_adds_up(order.payment_plan, order.total, order.currency)
    return order


_LINE_COLUMNS = tuple(c.key for c in OrderLine.__table__.columns)


def _lines_with_commit(uow: UnitOfWork, order: Order, lines: list[OrderLine]) -> None:
    """A new order's lines written with its unit of work's commit (after the order's own flush:
    one round trip with the reply, audit and outbox rows), not by the ORM one by one: they are
    the order's lines as loaded (``order.lines`` reads them, its audit entry lists them), and
    nothing else in the unit of work changes them."""
    for line in lines:
        line.order_id = order.id
    set_committed_value(order, "lines", lines)
    uow.insert(OrderLine.__table__, [{key: getattr(line, key) for key in _LINE_COLUMNS} for line in lines])


# -- create, read, list ----------------------------------------------------------------------------
def create_order(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    fields = load(_create, data)
    with uow:
        order = new_draft_order(uow.session, principal, **fields)
        uow.audit_action("create")
        return uow.commit(lambda: dump(uow.session, order, approval=None))     # (commit flushes first)


def get_order(uow: UnitOfWork, principal: Principal, order_id: str) -> dict:
    with uow:
        return dump(uow.session, order_for_read(uow.session, principal, order_id))


def _page(session, stmt, query: dict) -> dict:
    rows, next_cursor = paginate(session, stmt, Order.id, query["limit"], query["cursor"])
    # (a list leaves out each order's approval request: read the order for it)
    return {"items": [_out.dump(order) for order in rows], "next_cursor": next_cursor}


def list_orders(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    """Orders in scope, newest first (keyset by id); filters: status, customer, owner, opportunity,
    contract, created between."""
    query = load(_query, query or {})
    stmt = scoped_select(Order, principal)
    for name in ("status", "customer_id", "owner_id", "opportunity_id", "contract_id"):
        if query.get(name) is not None:
            stmt = stmt.where(getattr(Order, name) == query[name])
    if query.get("created_from") is not None:
        stmt = stmt.where(Order.created_at >= query["created_from"])
    if query.get("created_to") is not None:
        stmt = stmt.where(Order.created_at < query["created_to"])
    with uow:
        return _page(uow.session, stmt, query)


def list_orders_to_ship(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    """Approved orders not shipped yet (待发货), in scope, newest first."""
    query = load(_to_ship_query, query or {})
    stmt = scoped_select(Order, principal).where(Order.status == rules.APPROVED, Order.shipped_at.is_(None))
    for name in ("customer_id", "owner_id"):
        if query.get(name) is not None:
            stmt = stmt.where(getattr(Order, name) == query[name])
    with uow:
        return _page(uow.session, stmt, query)


# -- edit ------------------------------------------------------------------------------------------
def _current_lines(order: Order) -> list[dict]:
    return [{"product_id": line.product_id, "quantity": line.quantity, "discount_percent": line.discount_percent}
            for line in order.lines]


def update_order(uow: UnitOfWork, principal: Principal, order_id: str, data: dict, expected_version=None) -> dict:
    """Edit a draft or rejected order (``lines`` replaces them all, priced again; a new currency or
    price list prices the lines again); on an approved order only ``promised_date``: anything else
    is 409 naming the state. A new promised date clears the late notice (a new deadline). A
    ``payment_plan`` given must add up to the (new) total; lines changed under a plan are checked
    against it at submit."""
    fields = load(_update, data, partial=True)
    if "lines" in fields:      # (a partial load leaves the lines' own fields optional: load them whole)
        try:
            fields["lines"] = _lines_in.load(data["lines"])
        except ValidationError as exc:
            raise ValidationFailed.from_messages({"lines": exc.messages}) from None
        if not fields["lines"]:
            raise ValidationFailed.from_messages({"lines": ["An order has at least one line."]})
    if "payment_plan" in fields:
        fields["payment_plan"] = plan_rules.normalized(fields["payment_plan"])
    with uow:
        session = uow.session
        order = order_for_write(session, principal, order_id)
        check_version(order, expected_version, SUBJECT)
        changed = [name for name, value in fields.items()
                   if name == "lines" or getattr(order, name) != value]
        rules.check_edit(order.status, changed, order.shipped_at, order.delivered_at)
        if not changed:
            return dump(session, order)
        if "promised_date" in changed:
            order.late_notified_at = None
        if set(changed) & {"lines", "currency", "price_list_id"}:
            currency, priced = price_lines(
                session, fields.get("lines") or _current_lines(order), currency=fields.get("currency", order.currency),
                price_list_id=fields.get("price_list_id", order.price_list_id), on=utcnow().date())
            order.lines = priced
            fields["currency"] = currency
        fields.pop("lines", None)
        for name, value in fields.items():
            setattr(order, name, value)
        if set(changed) & set(PRICED):
            apply_totals(order)
        if "payment_plan" in changed:
            plan_rules.check_adds_up(order.payment_plan, order.total, order.currency)
        order.updated_at = utcnow()
        uow.audit_action("update")
        session.flush()
        return uow.commit(lambda: dump(session, order))


def copy_order(uow: UnitOfWork, principal: Principal, order_id: str) -> dict:
    """A new draft from any order the caller can see, owned by the caller, with the same customer,
    opportunity, lines (products, quantities, discounts), order discount, currency, price list and
    payment terms, priced again now (never approved: it goes through the approval again), and its
    payment plan while it adds up to the new total."""
    with uow:
        session = uow.session
        source = order_for_read(session, principal, order_id)
        rules.check("copy", source.status)
        order = new_draft_order(
            session, principal, customer_id=source.customer_id, opportunity_id=source.opportunity_id,
            currency=source.currency, price_list_id=source.price_list_id, lines=_current_lines(source),
            discount_percent=source.discount_percent, payment_terms=source.payment_terms,
            due_days=source.due_days, notes=source.notes, copied_from_id=source.id)
        if plan_rules.adds_up(source.payment_plan, order.total):
            order.payment_plan = source.payment_plan     # (priced again, a plan of amounts may no longer add up)
        uow.audit_action("copy")
        return uow.commit(lambda: dump(session, order, approval=None))      # (a new draft: never submitted)


# -- owner, cancel, fulfilment ---------------------------------------------------------------------
def transfer_order(uow: UnitOfWork, principal: Principal, order_id: str, owner_id, department_id=None) -> dict:
    """A new owner (更换负责人: a salesperson leaving), in any state; nothing else changes."""
    fields = load(_transfer, {"owner_id": owner_id})
    with uow:
        session = uow.session
        order = order_for_write(session, principal, order_id)
        rules.check("transfer", order.status)
        previous = order.owner_id
        if previous == fields["owner_id"]:
            return dump(session, order)
        now = utcnow()
        order.owner_id, order.department_id, order.updated_at = fields["owner_id"], department_id, now
        uow.audit_action("transfer")
        session.flush()
        uow.emit(ORDER_OWNER_CHANGED, order, previous_owner_id=previous, occurred_at=now)
        return uow.commit(lambda: dump(session, order))


def cancel_order(uow: UnitOfWork, principal: Principal, order_id: str, reason) -> dict:
    """Cancel a draft, a rejected order, or an approved one while nothing is paid or shipped."""
    fields = load(_cancel, {"reason": reason})
    with uow:
        session = uow.session
        order = order_for_write(session, principal, order_id)
        previous = order.status
        order.status = rules.check("cancel", order.status, order.shipped_at, order.delivered_at, order.paid_amount)
        now = utcnow()
        order.cancelled_at, order.cancelled_reason, order.updated_at = now, fields["reason"], now
        uow.audit_action("cancel")
        session.flush()
        uow.emit(ORDER_CANCELLED, order, previous_status=previous, occurred_at=now)
        return uow.commit(lambda: dump(session, order))


def _not_before(value: dt.datetime, floor: dt.datetime | None, field: str, what: str) -> None:
    if floor is not None and value < floor:
        raise ValidationFailed.from_messages({field: [f"Must not be before {what} ({floor.isoformat()})."]})


def ship_order(uow: UnitOfWork, principal: Principal, order_id: str, shipped_at=None) -> dict:
    fields = load(_ship, {"shipped_at": shipped_at})
    with uow:
        session = uow.session
        order = order_for_write(session, principal, order_id)
        rules.check("ship", order.status, order.shipped_at, order.delivered_at)
        now = utcnow()
        when = fields["shipped_at"] or now
        _not_before(when, order.approved_at, "shipped_at", "the approval")
        order.shipped_at, order.updated_at = when, now
        uow.audit_action("ship")
        session.flush()
        uow.emit(ORDER_SHIPPED, order, occurred_at=now)
        return uow.commit(lambda: dump(session, order))


def deliver_order(uow: UnitOfWork, principal: Principal, order_id: str, delivered_at=None) -> dict:
    fields = load(_deliver, {"delivered_at": delivered_at})
    with uow:
        session = uow.session
        order = order_for_write(session, principal, order_id)
        rules.check("deliver", order.status, order.shipped_at, order.delivered_at)
        now = utcnow()
        when = fields["delivered_at"] or now
        _not_before(when, order.shipped_at, "delivered_at", "the shipment")
        order.delivered_at, order.updated_at = when, now
        uow.audit_action("deliver")
        session.flush()
        uow.emit(ORDER_DELIVERED, order, occurred_at=now)
        return uow.commit(lambda: dump(session, order))


# -- history and team --------------------------------------------------------------------------------
def order_history(uow: UnitOfWork, principal: Principal, order_id: str, query: dict | None = None) -> dict:
    return audit.record_history(uow, principal, Order, order_id, SUBJECT, query)


def list_order_team(uow: UnitOfWork, principal: Principal, order_id: str) -> dict:
    return team_members.list_team(uow, principal, Order, order_id, SUBJECT)


def set_order_team_member(uow: UnitOfWork, principal: Principal, order_id: str, user_id, access) -> dict:
    return team_members.set_team_member(uow, principal, Order, order_id, user_id, access, SUBJECT)


def remove_order_team_member(uow: UnitOfWork, principal: Principal, order_id: str, user_id) -> None:
    team_members.remove_team_member(uow, principal, Order, order_id, user_id, SUBJECT)
