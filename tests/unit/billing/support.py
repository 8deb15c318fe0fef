"""What billing's use-case tests share: a database, an approved order's event, the people."""
from __future__ import annotations

import datetime as dt

from crm_kit.context import Principal
from crm_kit.ids import new_id
from services.billing.application import receivables
from services.billing.events.consumed_orders import OrderApproved, OrderCancelled

OWNER = Principal("owner-1", "member", "d1a", ("d1a",))
FINANCE = Principal("fin-1", "finance", "d1", ("d1", "d1a"))
OTHER_FINANCE = Principal("fin-2", "finance", "d2", ("d2",))
ADMIN = Principal("admin-1", "admin")
APPROVED_AT = "2026-03-02T09:00:00+00:00"


def order_event(total="1000.00", event_type="order_approved", **payload) -> dict:
    body = {"id": payload.pop("id", new_id()), "number": "SO-2026-000001", "customer_id": "cust-1",
            "opportunity_id": None, "owner_id": OWNER.user_id, "department_id": OWNER.department_id,
            "status": "approved", "total": total, "currency": "CNY", "approved_at": APPROVED_AT,
            "occurred_at": APPROVED_AT, "contract_id": None, "payment_terms": "30 days net", "due_days": 30,
            "due_date": "2026-04-01", **payload}
    return {"event_id": new_id(), "event_type": event_type, "actor": "u-approver", "payload": body}


def open_receivable(db, **payload) -> dict:
    envelope = order_event(**payload)
    db.handle(receivables.open_receivable, envelope, OrderApproved, "billing.handle_order_approved")
    return receivables.list_receivables(db.uow(), ADMIN, {"order_id": envelope["payload"]["id"]})["items"][0]


def cancel(db, order_id: str, **payload) -> None:
    envelope = order_event(event_type="order_cancelled", id=order_id, status="cancelled", reason="Customer withdrew",
                           previous_status="approved", cancelled_at="2026-03-05T09:00:00+00:00", **payload)
    db.handle(receivables.close_for_cancelled_order, envelope, OrderCancelled, "billing.handle_order_cancelled")


def paid_at() -> str:
    return (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).isoformat()


def events(db, event_type: str) -> list[dict]:
    return [row.body["payload"] for row in db.outbox(event_type)]
