"""Scenarios of the sales service's orders: created, submitted and approved through the engine
(``order_submitted``, ``order_approved`` with the payment plan prepared on the order; the engine
raises ``approval_requested`` / ``approval_decided``), rejected, transferred, shipped, delivered,
cancelled, and reported late by the periodic job (``order_delivery_late``)."""
from __future__ import annotations

import datetime as dt

from crm_kit.context import Principal
from services.sales.application import order_approval, order_lateness, orders, products
from services.sales.domain.org import OrgChart, OrgUser
from tests.contract.support import ADMIN, Producing

MEMBER = Principal("01933b50-1f00-7a00-8000-00000000a002", "member", "01933b50-1f00-7a00-8000-00000000d001",
                   ("01933b50-1f00-7a00-8000-00000000d001",))
MANAGER = Principal("01933b50-1f00-7a00-8000-00000000a003", "manager", "01933b50-1f00-7a00-8000-00000000d001",
                    ("01933b50-1f00-7a00-8000-00000000d001",))
ORG = OrgChart(users={p.user_id: OrgUser(p.user_id, p.role, p.department_id) for p in (ADMIN, MEMBER, MANAGER)},
               departments={MEMBER.department_id: None})
CUSTOMER = "01933b50-1f00-7a00-8000-0000000cc001"


def _order(dbs, **data) -> dict:
    product = products.create_product(dbs("sales").uow(), ADMIN, {
        "sku": f"CRM-{data.pop('sku', 'PRO')}", "name": "CRM Pro licence", "unit": "seat", "unit_price": "1280.00"})
    return orders.create_order(dbs("sales").uow(), MEMBER, {
        "customer_id": CUSTOMER, "discount_percent": "10", "payment_terms": "30 days net", "due_days": 30,
        "lines": [{"product_id": product["id"], "quantity": "10"}], **data})


def approved_shipped_delivered(dbs):
    order = _order(dbs, promised_date="2030-01-01", payment_plan=[          # 11520.00: 30% + 8064.00
        {"percent": "30", "due_days": 10}, {"amount": "8064.00", "due_date": "2030-02-01", "remind_days_before": 5}])
    order_approval.submit_order(dbs("sales").uow(), MEMBER, ORG, order["id"])
    order_approval.approve_order(dbs("sales").uow(), MANAGER, ORG, order["id"], "OK")
    orders.transfer_order(dbs("sales").uow(), MANAGER, order["id"], MANAGER.user_id, MANAGER.department_id)
    orders.ship_order(dbs("sales").uow(), MANAGER, order["id"])
    orders.deliver_order(dbs("sales").uow(), MANAGER, order["id"])


def rejected_then_cancelled(dbs):
    order = _order(dbs)
    order_approval.submit_order(dbs("sales").uow(), MEMBER, ORG, order["id"])
    order_approval.reject_order(dbs("sales").uow(), MANAGER, ORG, order["id"], "Discount above policy")
    orders.cancel_order(dbs("sales").uow(), MEMBER, order["id"], "Customer withdrew")


def reported_late(dbs):
    order = _order(dbs, promised_date="2026-03-10")
    order_approval.submit_order(dbs("sales").uow(), MEMBER, ORG, order["id"])
    order_approval.approve_order(dbs("sales").uow(), MANAGER, ORG, order["id"])
    order_lateness.mark_late_deliveries(dbs("sales").uow(), dt.datetime(2030, 3, 12, 1, tzinfo=dt.timezone.utc))


PRODUCERS = [
    Producing("sales", approved_shipped_delivered, frozenset({
        "order_submitted", "order_approved", "order_owner_changed", "order_shipped", "order_delivered",
        "approval_requested", "approval_decided"})),
    Producing("sales", rejected_then_cancelled, frozenset({
        "order_submitted", "order_rejected", "order_cancelled", "approval_requested", "approval_decided"})),
    Producing("sales", reported_late, frozenset({
        "order_submitted", "order_approved", "order_delivery_late", "approval_requested", "approval_decided"})),
]
