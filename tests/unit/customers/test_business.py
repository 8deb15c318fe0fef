"""Deal status and the summary kept from other contexts' facts (``application.apply_business_fact``):
entries kept once and newest first, the summary recomputed, ``customer_became_deal`` raised once by a
configured trigger, facts for merged or deleted customers, and what is refused."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm_kit.errors import ValidationFailed
from services.customers import application as app
from services.customers.application.settings import update_customer_settings
from services.customers.models import Base, Customer, CustomerBusiness, CustomerMerge
from tests.unit.conftest import ADMIN

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 12, 2, 9, 0, tzinfo=UTC)
H = dt.timedelta(hours=1)


@pytest.fixture
def db(make_db):
    return make_db(Base, "customers")


def customer(db, name="Initech") -> str:
    return app.create_customer(db.uow(), ADMIN, {"name": name})["id"]


def fact(customer_id, kind="order", status="approved", amount="1000.00", at=T0, ref="ord-1", **extra):
    return {"kind": kind, "ref_id": ref, "customer_id": customer_id, "status": status, "amount": amount,
            "occurred_at": at.isoformat(), **extra}


def apply(db, *facts, event_id=None):
    return [app.apply_business_fact(db.uow(), f) for f in facts]


def stored(db, customer_id) -> Customer:
    with db.session() as s:
        return s.get(Customer, customer_id)


def summary(db, customer_id) -> tuple:
    c = stored(db, customer_id)
    return (str(c.opportunity_total), str(c.order_total), str(c.paid_total), str(c.outstanding), c.open_opportunities)


def test_facts_keep_the_summary_and_the_deal(db):
    cid = customer(db)
    apply(db, fact(cid, "opportunity", "proposal", "5000.00", T0, "opp-1"))
    assert summary(db, cid) == ("5000.00", "0.00", "0.00", "0.00", 1)
    assert stored(db, cid).deal_status == "prospect" and stored(db, cid).last_opportunity_at == T0
    apply(db, fact(cid, "order", "approved", "4800.00", T0 + H, "ord-1"),
          fact(cid, "payment", "confirmed", "1000.50", T0 + 2 * H, "pay-1"))
    assert summary(db, cid) == ("5000.00", "4800.00", "1000.50", "3799.50", 1)
    c = stored(db, cid)
    assert (c.deal_status, c.deal_at, c.last_deal_at) == ("deal", T0 + H, T0 + H)
    became = db.outbox("customer_became_deal")
    assert [r.body["payload"] for r in became] == [{
        "customer_id": cid, "trigger": "order_approved", "ref_id": "ord-1", "owner_id": ADMIN.user_id,
        "deal_at": (T0 + H).isoformat()}]
    apply(db, fact(cid, "payment", "reversed", "1000.50", T0 + 3 * H, "pay-1"),
          fact(cid, "opportunity", "won", "5000.00", T0 + 4 * H, "opp-1"))
    assert summary(db, cid) == ("5000.00", "4800.00", "0.00", "4800.00", 0)
    assert len(db.outbox("customer_became_deal")) == 1           # a deal customer once
    assert stored(db, cid).last_deal_at == T0 + 4 * H


def test_an_older_fact_never_overwrites_a_newer_one(db):
    cid = customer(db)
    assert apply(db, fact(cid, status="cancelled", at=T0 + H)) == [True]
    assert apply(db, fact(cid, status="approved", at=T0)) == [True]     # its opening time, and the deal
    with db.session() as s:
        row = s.get(CustomerBusiness, ("order", "ord-1"))
        assert (row.status, row.occurred_at, row.opened_at) == ("cancelled", T0 + H, T0)
    assert summary(db, cid)[1] == "0.00"
    assert stored(db, cid).deal_status == "deal"       # the order was approved, whichever came first


def test_the_same_fact_twice_changes_nothing_the_second_time(db):
    cid = customer(db)
    assert apply(db, fact(cid), fact(cid)) == [True, False]
    assert summary(db, cid)[1] == "1000.00"
    assert len(db.outbox("customer_became_deal")) == 1


def test_only_the_configured_triggers_make_a_deal(db):
    cid = customer(db)
    update_customer_settings(db.uow(), ADMIN, {"deal_triggers": ["contract_signed"]}, 1)
    apply(db, fact(cid, "order", "approved"), fact(cid, "opportunity", "won", ref="opp-1"))
    assert stored(db, cid).deal_status == "prospect" and not db.outbox("customer_became_deal")
    apply(db, fact(cid, "contract", "signed", "9000.00", ref="con-1"))
    assert stored(db, cid).deal_status == "deal"
    assert [r.body["payload"]["trigger"] for r in db.outbox("customer_became_deal")] == ["contract_signed"]
    assert summary(db, cid)[1] == "1000.00"          # contracts are not in the totals


def test_a_record_that_moves_to_another_customer_leaves_its_old_one(db):
    first, second = customer(db, "First"), customer(db, "Second")
    apply(db, fact(first, "opportunity", "proposal", "700.00", T0, "opp-1"))
    apply(db, fact(second, "opportunity", "negotiation", "700.00", T0 + H, "opp-1"))
    assert summary(db, first)[0] == "0.00" and summary(db, second)[0] == "700.00"
    apply(db, fact(first, "opportunity", "proposal", "700.00", T0 + H / 2, "opp-1"))   # older: stays with second
    assert summary(db, first)[0] == "0.00" and summary(db, second)[0] == "700.00"


def test_a_fact_for_a_merged_customer_goes_to_its_survivor(db):
    survivor, duplicate = customer(db, "Survivor"), customer(db, "Duplicate")
    app.merge_customers(db.uow(), ADMIN, survivor, duplicate)
    apply(db, fact(duplicate, amount="250.00"))
    assert summary(db, survivor)[1] == "250.00" and stored(db, survivor).deal_status == "deal"
    with db.session() as s:
        assert s.get(CustomerBusiness, ("order", "ord-1")).customer_id == survivor
        assert s.get(CustomerMerge, s.query(CustomerMerge.id).scalar()).merged_id == duplicate


def test_a_fact_for_a_customer_that_is_gone_changes_nothing(db):
    assert apply(db, fact("no-such-customer")) == [False]
    assert db.count(CustomerBusiness) == 0 and not db.outbox()


@pytest.mark.parametrize("bad, field", [
    ({"kind": "invoice"}, "kind"),
    ({"status": "won"}, "status"),                          # not an order's status
    ({"amount": "-1.00"}, "amount"),
    ({"amount": "abc"}, "amount"),
    ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"ref_id": ""}, "ref_id"),
    ({"surprise": 1}, "surprise"),
])
def test_a_malformed_fact_is_refused(db, bad, field):
    cid = customer(db)
    with pytest.raises(ValidationFailed) as err:
        app.apply_business_fact(db.uow(), {**fact(cid), **bad})
    assert field in err.value.errors
    assert db.count(CustomerBusiness) == 0


def test_money_stays_exact(db):
    cid = customer(db)
    apply(db, *[fact(cid, "payment", "confirmed", "0.10", T0, f"pay-{i}") for i in range(3)],
          fact(cid, "order", "approved", "0.30", T0, "ord-1"))
    c = stored(db, cid)
    assert c.paid_total == Decimal("0.30") and c.outstanding == Decimal("0.00")


def test_the_summary_is_audited_with_what_said_it(db):
    cid = customer(db)
    apply(db, fact(cid))
    entries = app.customer_history(db.uow(), ADMIN, cid, {})["items"]
    assert entries[0]["action"] == "order_approved"
    assert entries[0]["changes"]["order_total"] == ["0.00", "1000.00"]
    assert entries[0]["changes"]["deal_status"] == ["prospect", "deal"]
