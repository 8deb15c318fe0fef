"""Quotes (报价): create from an opportunity, read, list, edit; submit / approve / reject / withdraw
through the approval engine (``application.approvals``); accept (a draft order with the quote's
lines, ``quote_accepted``), decline; and the daily expiry job.

Reads and writes go through the data scopes (``owner_id`` / ``department_id``: 404 out of scope,
403 visible but not writable). An approver decides a quote outside their data scope too (the
engine says who may); anyone else out of scope is told it does not exist. The state machine is
``domain.quotes``'s (an approved quote past ``valid_until`` is expired for every action); only the
engine's answers make a quote approved. Lines are priced on the server, on the day they are
written (``application.pricing.unit_prices``), totals by ``domain.totals``.
"""
from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal

from sqlalchemy import exc, select

from crm_kit.context import Principal
from crm_kit.errors import Forbidden, InvalidState, NotFound, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.audit import record_history
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load
from crm_kit.records.scopes import get_for_read, get_for_write, scope_clause, scoped_select
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork
from services.sales import models
from services.sales.application.customer_events import current_customer_id
from services.sales.application.pricing import unit_prices
from services.sales.domain import quotes as rules
from services.sales.domain.numbering import format_number
from services.sales.domain.org import OrgChart
from services.sales.domain.totals import line_total, order_totals
from services.sales.events.quotes import QUOTE_ACCEPTED
from services.sales.models.products import PriceList, Product
from services.sales.models.quotes import Quote, QuoteLine, QuoteNumberCounter
from services.sales.schemas.quotes import (
    QuoteApprove,
    QuoteCreate,
    QuoteDecline,
    QuoteListQuery,
    QuoteOut,
    QuoteReject,
    QuoteSubmit,
    QuoteUpdate,
)

KIND = "quote"               # the approval engine's subject kind
QUANTITY_PLACES = Decimal("0.001")   # as the Quantity column keeps them
JOB_BATCH = 500              # quotes per run of the expiry job (the next run goes on)
_PRICING_FIELDS = ("lines", "price_list_id", "currency", "discount_percent")

_create, _update, _query = QuoteCreate(), QuoteUpdate(), QuoteListQuery()
_submit, _approve, _reject, _decline = QuoteSubmit(), QuoteApprove(), QuoteReject(), QuoteDecline()
_out = QuoteOut()


def _engine():
    """The approval engine (``services.sales.application.approvals``: interface 3 of issue 12)."""
    return importlib.import_module("services.sales.application.approvals")


def _orders():
    """Orders (``services.sales.application.orders.new_draft_order``)."""
    return importlib.import_module("services.sales.application.orders")


def dump(session, quote: Quote, today: dt.date | None = None) -> dict:
    out = _out.dump(quote)
    out["status"] = rules.effective_status(quote.status, quote.valid_until, today or utcnow().date())
    out["approval"] = _engine().current(session, KIND, quote.id)
    return out


# -- records -------------------------------------------------------------------------------------
def create_quote(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    """A draft quote for an opportunity, owned by the caller (in the caller's department)."""
    fields = load(_create, data)
    now = utcnow()
    fields["valid_until"] = rules.validity(fields["valid_until"], now.date())
    with uow:
        session = uow.session
        fields["customer_id"] = _opportunity_customer(session, principal, fields["opportunity_id"],
                                                      fields["customer_id"])
        quote = Quote(id=new_id(), number=_take_number(session, now.year), status="draft",
                      owner_id=principal.user_id, department_id=principal.department_id,
                      created_by=principal.user_id, created_at=now, updated_at=now,
                      **{k: v for k, v in fields.items() if k != "lines"})
        _price(session, quote, fields["lines"], now.date(), fields["currency"])
        session.add(quote)
        session.flush()
        return uow.commit(lambda: dump(session, quote, now.date()))


def get_quote(uow: UnitOfWork, principal: Principal, quote_id: str) -> dict:
    with uow:
        return dump(uow.session, get_for_read(uow.session, Quote, quote_id, principal, "quote"))


def list_quotes(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    """Quotes in the caller's scope, newest first, filtered by status, opportunity, customer, owner."""
    params = load(_query, query or {})
    with uow:
        stmt = scoped_select(Quote, principal)
        for name in ("status", "opportunity_id", "customer_id", "owner_id"):
            if params.get(name):
                stmt = stmt.where(getattr(Quote, name) == params[name])
        rows, next_cursor = paginate(uow.session, stmt, Quote.id, params["limit"], params["cursor"])
        today = utcnow().date()
        return {"items": [dump(uow.session, q, today) for q in rows], "next_cursor": next_cursor}


def update_quote(uow: UnitOfWork, principal: Principal, quote_id: str, data: dict, expected_version=None) -> dict:
    """Edit a draft or rejected quote (If-Match); lines, price list or currency changed: priced again today."""
    fields = load(_update, data, partial=True)
    today = utcnow().date()
    with uow:
        session = uow.session
        quote = get_for_write(session, Quote, quote_id, principal, "quote")
        check_version(quote, expected_version, "quote")
        rules.check_action("update", rules.effective_status(quote.status, quote.valid_until, today))
        if "valid_until" in fields:
            fields["valid_until"] = rules.validity(fields["valid_until"], today)
        lines = fields.pop("lines", None)
        repriced = bool(set(fields) & set(_PRICING_FIELDS)) or lines is not None
        # the currency asked for; a new price list without one: the list's (else the first product's)
        currency = fields.pop("currency", None if "price_list_id" in fields else quote.currency)
        for name, value in fields.items():
            if getattr(quote, name) != value:
                setattr(quote, name, value)
        if repriced:
            before = [_line_text(line) for line in quote.lines]
            wanted = lines if lines is not None else [
                {"product_id": line.product_id, "quantity": line.quantity, "discount_percent": line.discount_percent}
                for line in quote.lines]
            _price(session, quote, wanted, today, currency)
            after = [_line_text(line) for line in quote.lines]
            if before != after:
                uow.audit_record("quote", quote.id, {"lines": [before, after]})
        quote.updated_at = utcnow()
        session.flush()
        return uow.commit(lambda: dump(session, quote, today))


def quote_history(uow: UnitOfWork, principal: Principal, quote_id: str, query: dict | None = None) -> dict:
    return record_history(uow, principal, Quote, quote_id, "quote", query)


# -- approval ------------------------------------------------------------------------------------
def submit_quote(uow: UnitOfWork, principal: Principal, org: OrgChart, quote_id: str,
                 data: dict | None = None) -> dict:
    """Submit a draft (or rejected) quote to the approval engine: ``approved`` at once when nothing
    needs approving, else ``pending_approval``. Its validity must not have passed."""
    fields = load(_submit, data or {})
    now = utcnow()
    with uow:
        session = uow.session
        quote = get_for_write(session, Quote, quote_id, principal, "quote")
        rules.check_action("submit", quote.status)
        if quote.valid_until < now.date():
            raise ValidationFailed.from_messages({"valid_until": ["The quote's validity has passed: edit it first."]})
        uow.audit_action("submit")
        answer = _engine().submit(uow, principal, org, subject_kind=KIND, subject_id=quote.id,
                                  facts=approval_facts(quote), approver_id=fields["approver_id"])
        quote.status = rules.next_status("submit", quote.status, answer)
        quote.submitted_at = now
        if quote.status == "approved":
            quote.approved_at = now
        session.flush()
        return uow.commit(lambda: dump(session, quote, now.date()))


def approve_quote(uow: UnitOfWork, principal: Principal, org: OrgChart, quote_id: str,
                  data: dict | None = None) -> dict:
    return _decide(uow, principal, org, quote_id, "approve", load(_approve, data or {})["comment"])


def reject_quote(uow: UnitOfWork, principal: Principal, org: OrgChart, quote_id: str,
                 data: dict | None = None) -> dict:
    return _decide(uow, principal, org, quote_id, "reject", load(_reject, data or {})["reason"])


def _decide(uow: UnitOfWork, principal: Principal, org: OrgChart, quote_id: str, decision: str,
            comment: str | None) -> dict:
    now = utcnow()
    with uow:
        session = uow.session
        quote = session.get(Quote, quote_id) if isinstance(quote_id, str) else None
        if quote is None:
            raise NotFound.of("quote", quote_id)
        readable = session.scalar(select(Quote.id).where(Quote.id == quote.id,
                                                         scope_clause(Quote, principal))) is not None
        try:
            rules.check_action(decision, quote.status)
            uow.audit_action(decision)
            answer = _engine().decide(uow, principal, org, subject_kind=KIND, subject_id=quote.id,
                                      decision=decision, comment=comment)
        except (Forbidden, InvalidState):
            if not readable:          # neither in scope nor an approver: as if it did not exist
                raise NotFound.of("quote", quote_id) from None
            raise
        quote.status = rules.next_status("approve", quote.status, answer)
        if quote.status == "approved":
            quote.approved_at = now
        session.flush()
        return uow.commit(lambda: dump(session, quote, now.date()))


def withdraw_quote(uow: UnitOfWork, principal: Principal, quote_id: str) -> dict:
    """The owner's side takes a pending quote back to ``draft`` (its approval request withdrawn)."""
    with uow:
        session = uow.session
        quote = get_for_write(session, Quote, quote_id, principal, "quote")
        rules.check_action("withdraw", quote.status)
        uow.audit_action("withdraw")
        _engine().withdraw(uow, principal, subject_kind=KIND, subject_id=quote.id)
        quote.status = rules.next_status("withdraw", quote.status)
        session.flush()
        return uow.commit(lambda: dump(session, quote))


def approval_facts(quote: Quote) -> dict:
    """What the engine's conditions read: the total, the discount over list prices (lines' and the
    quote's together: ``domain.quotes.effective_discount_percent``), who owns it."""
    gross = sum((line_total(line.quantity, line.unit_price, 0) for line in quote.lines), Decimal("0.00"))
    return {"amount": quote.total, "discount_percent": rules.effective_discount_percent(gross, quote.total),
            "department_id": quote.department_id, "owner_id": quote.owner_id, "kind": None,
            "currency": quote.currency}


# -- the customer's answer -----------------------------------------------------------------------
def accept_quote(uow: UnitOfWork, principal: Principal, quote_id: str) -> dict:
    """The customer accepts an approved, unexpired quote: a draft order with its lines (owned by the
    caller; priced as the orders price it), ``quote_accepted``."""
    now = utcnow()
    with uow:
        session = uow.session
        quote = get_for_write(session, Quote, quote_id, principal, "quote")
        status = rules.next_status("accept", rules.effective_status(quote.status, quote.valid_until, now.date()))
        uow.audit_action("accept")
        order = _orders().new_draft_order(
            session, principal, customer_id=quote.customer_id, opportunity_id=quote.opportunity_id,
            currency=quote.currency, price_list_id=quote.price_list_id,
            lines=[{"product_id": line.product_id, "quantity": line.quantity,
                    "discount_percent": line.discount_percent} for line in quote.lines],
            discount_percent=quote.discount_percent, quote_id=quote.id)
        session.flush()
        quote.status, quote.order_id, quote.closed_at = status, order.id, now
        session.flush()
        uow.emit(QUOTE_ACCEPTED, quote, accepted_at=now, occurred_at=now)
        return uow.commit(lambda: dump(session, quote, now.date()))


def decline_quote(uow: UnitOfWork, principal: Principal, quote_id: str, data: dict | None = None) -> dict:
    """The customer declines an approved, unexpired quote (a reason optional)."""
    fields = load(_decline, data or {})
    now = utcnow()
    with uow:
        session = uow.session
        quote = get_for_write(session, Quote, quote_id, principal, "quote")
        status = rules.next_status("decline", rules.effective_status(quote.status, quote.valid_until, now.date()))
        uow.audit_action("decline")
        quote.status, quote.decline_reason, quote.closed_at = status, fields["reason"], now
        session.flush()
        return uow.commit(lambda: dump(session, quote, now.date()))


def expire_quotes(uow: UnitOfWork, as_of: dt.datetime | None = None) -> dict:
    """As of ``as_of`` (default now): approved quotes past their ``valid_until`` become ``expired``,
    each with an audit entry naming the rule and its inputs. Idempotent for an ``as_of``."""
    when = as_of or utcnow()
    today = when.date()
    with uow:
        session = uow.session
        due = session.scalars(select(Quote).where(Quote.status == "approved", Quote.valid_until < today)
                              .order_by(Quote.valid_until, Quote.id).limit(JOB_BATCH)).all()
        uow.audit_action("expire")
        expired = []
        for quote in due:
            rule = rules.expiry(quote.status, quote.valid_until, today)
            if rule is None:
                continue
            quote.status, quote.closed_at = rules.next_status("expire", quote.status), when
            uow.audit_record("quote", quote.id, {"expiry_rule": [None, {
                "rule": rule.rule, "valid_until": rule.valid_until.isoformat(), "as_of": rule.as_of.isoformat()}]},
                "expire")
            expired.append(quote.id)
        session.flush()
        uow.commit()
    return {"as_of": when.isoformat(), "expired": expired}


# -- helpers -------------------------------------------------------------------------------------
def _price(session, quote: Quote, lines: list[dict], today: dt.date, currency: str | None) -> None:
    """The quote's lines priced today (replacing those it had), its currency (``currency``, else the
    price list's, else the first product's), and its totals."""
    product_ids = [str(line["product_id"]) for line in lines]
    with session.no_autoflush:
        currency = currency or _default_currency(session, quote.price_list_id, product_ids)
        priced = unit_prices(session, product_ids, price_list_id=quote.price_list_id, currency=currency, on=today)
    rows = []
    for position, line in enumerate(lines, start=1):
        price = priced[str(line["product_id"])]
        discount = Decimal(line.get("discount_percent") or 0)
        rows.append(QuoteLine(
            id=new_id(), position=position, product_id=price.product_id, sku=price.sku, name=price.name,
            unit=price.unit, quantity=Decimal(line["quantity"]).quantize(QUANTITY_PLACES), unit_price=price.unit_price,
            discount_percent=discount, line_total=line_total(line["quantity"], price.unit_price, discount),
            price_list_id=price.price_list_id))
    totals = order_totals([row.line_total for row in rows], quote.discount_percent or 0)
    quote.lines = rows
    quote.currency = currency
    quote.subtotal, quote.discount_amount, quote.total = totals.subtotal, totals.discount, totals.total


def _default_currency(session, price_list_id: str | None, product_ids: list[str]) -> str:
    """The price list's currency, else the first product's (an unknown one: ``unit_prices`` says so)."""
    if price_list_id is not None:
        price_list = session.get(PriceList, price_list_id)
        if price_list is not None:
            return price_list.currency
    product = session.get(Product, product_ids[0]) if product_ids else None
    return product.currency if product is not None else Product.currency.default.arg


def _line_text(line: QuoteLine) -> str:
    return f"{line.sku} x {line.quantity} @ {line.unit_price} -{line.discount_percent}% = {line.line_total}"


def _opportunity_customer(session, principal: Principal, opportunity_id: str, customer_id: str | None) -> str:
    """The quote's customer: the opportunity's (which the caller may see, and is neither lost nor
    invalid); a ``customer_id`` given must be it. Without ``models.Opportunity`` (a build before the
    pipeline), the ``customer_id`` given."""
    opportunity = getattr(models, "Opportunity", None)
    if opportunity is None:
        if customer_id is None:
            raise ValidationFailed.from_messages({"customer_id": ["Missing data for required field."]})
        return current_customer_id(session, customer_id)
    found = session.scalars(select(opportunity).where(opportunity.id == opportunity_id,
                                                      scope_clause(opportunity, principal))).first()
    if found is None:
        raise ValidationFailed.from_messages({"opportunity_id": ["No such opportunity."]})
    if found.status in rules.CLOSED_OPPORTUNITY_STATUSES:
        raise ValidationFailed.from_messages({"opportunity_id": [f"The opportunity is {found.status}."]})
    own = current_customer_id(session, found.customer_id) if found.customer_id else None
    given = current_customer_id(session, customer_id) if customer_id else None
    if own is None and given is None:
        raise ValidationFailed.from_messages({"customer_id": ["The opportunity has no customer: give one."]})
    if own is not None and given is not None and own != given:
        raise ValidationFailed.from_messages({"customer_id": ["Not the opportunity's customer."]})
    return own or given


def _take_number(session, year: int) -> str:
    """The year's next quote number: its counter row locked for the transaction (created on first
    use; two creating it at once: the second reads the first's)."""
    counter = session.scalars(select(QuoteNumberCounter).where(QuoteNumberCounter.year == year)
                              .with_for_update()).first()
    if counter is None:
        try:
            with session.begin_nested():
                session.add(QuoteNumberCounter(year=year, value=0))
        except exc.IntegrityError:
            pass
        counter = session.scalars(select(QuoteNumberCounter).where(QuoteNumberCounter.year == year)
                                  .with_for_update()).one()
    counter.value += 1
    return format_number(rules.NUMBER_PREFIX, year, counter.value)
