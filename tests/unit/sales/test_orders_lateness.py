"""The late-delivery timer (``application.order_lateness.mark_late_deliveries``): each approved order
past its promised date without delivery once, with the rule and its inputs in the audit entry and the
event; a dry run (the kit's preview unit of work) changes nothing; a new promise is a new deadline.
And ``new_draft_order``, the orders' entry for quotes, inside the caller's session."""
from __future__ import annotations

import datetime as dt

from crm_kit.runtime.preview import PreviewUnitOfWork
from services.sales.application import order_lateness, orders
from services.sales.models.orders import Order
from tests.unit.conftest import MEMBER_1
from tests.unit.sales.test_orders import approved, catalogue, db, draft, events, set_columns  # noqa: F401

UTC = dt.timezone.utc
AS_OF = dt.datetime(2026, 3, 12, 1, tzinfo=UTC)


def test_late_orders_are_reported_once(db, catalogue):  # noqa: F811
    late = approved(db, catalogue, promised_date="2026-03-10")
    on_time = approved(db, catalogue, promised_date="2026-03-12")
    delivered = approved(db, catalogue, promised_date="2026-03-01")
    set_columns(db, delivered["id"], shipped_at=AS_OF, delivered_at=AS_OF)
    not_approved = draft(db, catalogue, promised_date="2026-03-01")
    result = order_lateness.mark_late_deliveries(db.uow(), AS_OF, batch_size=1)
    assert result["count"] == 1 and result["order_ids"] == [late["id"]]
    [event] = events(db, "order_delivery_late")
    assert event["id"] == late["id"] and event["days_late"] == 2 and event["promised_date"] == "2026-03-10"
    assert event["rule"] == {"rule": "promised_date_passed", "promised_date": "2026-03-10",
                             "as_of": AS_OF.isoformat(), "days_late": 2}
    entry = orders.order_history(db.uow(), MEMBER_1, late["id"])["items"][0]
    assert entry["action"] == "mark_late" and entry["changes"]["late_rule"][1]["days_late"] == 2
    got = orders.get_order(db.uow(), MEMBER_1, late["id"])
    assert got["late_notified_at"] is not None and got["version"] == late["version"] + 1
    # a second run finds nothing left to do
    assert order_lateness.mark_late_deliveries(db.uow(), AS_OF + dt.timedelta(hours=12))["count"] == 0
    assert len(events(db, "order_delivery_late")) == 1
    for order in (on_time, not_approved):
        assert orders.get_order(db.uow(), MEMBER_1, order["id"])["late_notified_at"] is None


def test_a_new_promise_is_a_new_deadline(db, catalogue):  # noqa: F811
    order = approved(db, catalogue, promised_date="2026-03-10")
    order_lateness.mark_late_deliveries(db.uow(), AS_OF)
    orders.update_order(db.uow(), MEMBER_1, order["id"], {"promised_date": "2026-03-20"})
    assert order_lateness.mark_late_deliveries(db.uow(), AS_OF)["count"] == 0
    assert order_lateness.mark_late_deliveries(db.uow(), dt.datetime(2026, 3, 21, tzinfo=UTC))["count"] == 1
    assert len(events(db, "order_delivery_late")) == 2


def test_a_dry_run_changes_nothing(db, catalogue):  # noqa: F811
    for _ in range(3):
        approved(db, catalogue, promised_date="2026-03-10")
    previewed: list = []
    result = order_lateness.mark_late_deliveries(PreviewUnitOfWork.of(db.uow(), previewed), AS_OF, batch_size=2)
    assert result["count"] == 3 and result["batches"] == 2 and len(previewed) == 3
    assert events(db, "order_delivery_late") == []
    assert all(o.late_notified_at is None for o in db.all(Order))


def test_new_draft_order_in_the_callers_session(db, catalogue):  # noqa: F811
    uow = db.uow()
    with uow:
        order = orders.new_draft_order(uow.session, MEMBER_1, customer_id="c9", opportunity_id="opp-1",
                                       currency=None, price_list_id=None, discount_percent="0",
                                       quote_id="quote-1", lines=[{"product_id": catalogue["PRN"], "quantity": 1}])
        uow.session.flush()
        assert order.status == "draft" and order.quote_id == "quote-1" and order.number.startswith("SO-")
        assert str(order.total) == "1999.00" and order.owner_id == MEMBER_1.user_id
        uow.commit()
    assert orders.get_order(db.uow(), MEMBER_1, order.id)["quote_id"] == "quote-1"
