"""Sales targets: periods and who may set which (tables), and the use cases: set, change, delete, the
list with its filters and visibility, attainment from approved orders and from collection facts."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm_kit.context import Principal
from crm_kit.errors import Duplicate, Forbidden, NotFound, ValidationFailed
from crm_kit.ids import new_id
from services.sales.application import targets as app
from services.sales.domain import targets as rules
from services.sales.domain.org import OrgChart, OrgUser
from services.sales.models import Base, Order, TargetCollection
from tests.unit.conftest import ADMIN

UTC = dt.timezone.utc
# d1 > d1a; d2 elsewhere
ORG = OrgChart(users={"u-m1": OrgUser("u-m1", "member", "d1"), "u-m2": OrgUser("u-m2", "member", "d1a"),
                      "u-m3": OrgUser("u-m3", "member", "d2"), "u-mgr": OrgUser("u-mgr", "manager", "d1"),
                      "u-gone": OrgUser("u-gone", "member", "d1", active=False)},
               departments={"d0": None, "d1": "d0", "d1a": "d1", "d2": "d0"})
MEMBER = Principal("u-m1", "member", "d1", ("d1",))
MEMBER2 = Principal("u-m2", "member", "d1a", ("d1a",))
MANAGER = Principal("u-mgr", "manager", "d1", ("d1", "d1a"))
OTHER = Principal("u-m3", "member", "d2", ("d2",))


@pytest.mark.parametrize("year, month, text, start, end", [
    (2026, None, "2026", dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC)),
    (2026, 3, "2026-03", dt.datetime(2026, 3, 1, tzinfo=UTC), dt.datetime(2026, 4, 1, tzinfo=UTC)),
    (2026, 12, "2026-12", dt.datetime(2026, 12, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC)),
])
def test_periods(year, month, text, start, end):
    assert rules.period(year, month) == text
    assert rules.bounds(year, month) == (start, end)


@pytest.mark.parametrize("principal, subject, allowed", [
    (ADMIN, rules.Subject("company"), True),
    (MANAGER, rules.Subject("company"), False),
    (MANAGER, rules.Subject("department", "d1"), True),
    (MANAGER, rules.Subject("department", "d1a"), True),
    (MANAGER, rules.Subject("department", "d2"), False),
    (MANAGER, rules.Subject("user", "d1a", "u-m2"), True),
    (MANAGER, rules.Subject("user", "d2", "u-m3"), False),
    (MANAGER, rules.Subject("user", "d1", "u-mgr"), False),        # their own: set above them
    (MEMBER, rules.Subject("user", "d1", "u-m1"), False),
    (MEMBER, rules.Subject("department", "d1"), False),
])
def test_who_may_set(principal, subject, allowed):
    assert rules.may_set(principal, subject) is allowed


@pytest.mark.parametrize("target, attained, percent", [
    ("1000.00", "250.00", "25.00"), ("3.00", "1.00", "33.33"), ("3.00", "2.00", "66.67"),
    ("0.00", "10.00", None), ("100.00", "150.00", "150.00")])
def test_attainment(target, attained, percent):
    got = rules.attainment(Decimal(target), Decimal(attained))
    assert (None if got is None else str(got)) == percent


def test_subtree():
    assert rules.subtree(ORG.departments, "d1") == {"d1", "d1a"}
    assert rules.subtree(ORG.departments, "d0") == {"d0", "d1", "d1a", "d2"}
    assert rules.subtree({}, "dx") == {"dx"}


@pytest.fixture
def db(make_db):
    return make_db(Base, "sales")


def target(db, principal=ADMIN, **data) -> dict:
    body = {"year": 2026, "month": 3, "scope": "company", "metric": "order_amount", "amount": "1000.00", **data}
    return app.create_target(db.uow(), principal, ORG, body)


def order(db, total, owner="u-m1", department="d1", at=dt.datetime(2026, 3, 10, tzinfo=UTC), status="approved",
          currency="CNY"):
    with db.session() as s:
        s.add(Order(id=new_id(), number=f"SO-{new_id()[-10:]}", customer_id="c-1", owner_id=owner,
                    department_id=department, status=status, total=Decimal(total), currency=currency,
                    approved_at=at if status in ("approved", "cancelled") else None))
        s.commit()


def collection(db, amount, payment="p-1", owner="u-m1", department="d1", status="confirmed",
               at="2026-03-12T10:00:00+00:00", occurred="2026-03-12T10:00:00+00:00"):
    return app.record_collection(db.uow(), {
        "payment_id": payment, "order_id": None, "customer_id": "c-1", "owner_id": owner, "department_id": department,
        "amount": amount, "currency": "CNY", "status": status, "collected_at": at, "occurred_at": occurred})


def test_set_change_delete(db):
    company = target(db, note="Q1 push")
    assert (company["period"], company["scope"], company["department_id"], company["user_id"]) == (
        "2026-03", "company", None, None)
    assert (company["amount"], company["attained"], company["attainment_percent"]) == ("1000.00", "0.00", "0.00")
    with pytest.raises(Duplicate) as err:
        target(db)
    assert err.value.extra["existing_id"] == company["id"]
    target(db, currency="USD")                                 # another currency: another target
    yearly = target(db, month=None, amount="12000.00")
    assert yearly["period"] == "2026" and yearly["month"] is None
    person = target(db, MANAGER, scope="user", user_id="u-m2", amount="300.00")
    assert (person["user_id"], person["department_id"]) == ("u-m2", "d1a")
    changed = app.update_target(db.uow(), MANAGER, ORG, person["id"], {"amount": "400.00"}, expected_version=1)
    assert (changed["amount"], changed["version"]) == ("400.00", 2)
    with pytest.raises(ValidationFailed):                      # what it is for does not change
        app.update_target(db.uow(), MANAGER, ORG, person["id"], {"scope": "company"})
    with pytest.raises(Forbidden):                             # the company's: admins only
        app.update_target(db.uow(), MANAGER, ORG, company["id"], {"amount": "1.00"})
    app.delete_target(db.uow(), MANAGER, person["id"], expected_version=2)
    with pytest.raises(NotFound):
        app.get_target(db.uow(), ADMIN, ORG, person["id"])


@pytest.mark.parametrize("principal, data, error", [
    (MANAGER, {}, Forbidden),                                               # company
    (MANAGER, {"scope": "department", "department_id": "d2"}, Forbidden),
    (MANAGER, {"scope": "user", "user_id": "u-mgr"}, Forbidden),
    (MEMBER, {"scope": "user", "user_id": "u-m1"}, Forbidden),
    (ADMIN, {"scope": "department"}, ValidationFailed),
    (ADMIN, {"scope": "department", "department_id": "nowhere"}, ValidationFailed),
    (ADMIN, {"scope": "user", "user_id": "u-gone"}, ValidationFailed),
    (ADMIN, {"scope": "company", "user_id": "u-m1"}, ValidationFailed),
    (ADMIN, {"metric": "leads"}, ValidationFailed),
    (ADMIN, {"month": 13}, ValidationFailed),
    (ADMIN, {"amount": "-5"}, ValidationFailed),
    (ADMIN, {"attained": "5"}, ValidationFailed),
])
def test_refused(db, principal, data, error):
    with pytest.raises(error):
        target(db, principal, **data)


def test_who_sees_which(db):
    company = target(db)["id"]
    d1 = target(db, scope="department", department_id="d1")["id"]
    d2 = target(db, scope="department", department_id="d2")["id"]
    m1 = target(db, scope="user", user_id="u-m1")["id"]
    m2 = target(db, scope="user", user_id="u-m2")["id"]
    m3 = target(db, scope="user", user_id="u-m3")["id"]

    def seen(principal, query=None):
        return {t["id"] for t in app.list_targets(db.uow(), principal, ORG, query)["items"]}

    assert seen(ADMIN) == {company, d1, d2, m1, m2, m3}
    assert seen(MANAGER) == {company, d1, m1, m2}
    assert seen(MEMBER) == {company, d1, m1}
    assert seen(MEMBER2) == {company, m2}
    assert seen(OTHER) == {company, d2, m3}
    with pytest.raises(NotFound):
        app.get_target(db.uow(), MEMBER, ORG, m2)
    with pytest.raises(Forbidden):                    # seen, not theirs to change
        app.update_target(db.uow(), MEMBER, ORG, m1, {"amount": "1.00"})
    assert seen(ADMIN, {"scope": "user", "user_id": "u-m2"}) == {m2}
    assert seen(ADMIN, {"department_id": "d2"}) == {d2, m3}
    assert seen(ADMIN, {"yearly": True}) == set()
    assert seen(ADMIN, {"year": 2026, "month": 3, "metric": "order_amount"}) == {company, d1, d2, m1, m2, m3}


def test_order_attainment(db):
    company, d1 = target(db), target(db, scope="department", department_id="d1", amount="400.00")
    m2 = target(db, scope="user", user_id="u-m2", amount="0.00")
    yearly = target(db, month=None, amount="10000.00")
    order(db, "100.00")                                      # d1, u-m1
    order(db, "200.50", owner="u-m2", department="d1a")      # d1's subtree
    order(db, "300.00", owner="u-m3", department="d2")
    order(db, "999.00", status="cancelled")                  # no longer counts
    order(db, "999.00", status="pending_approval")
    order(db, "999.00", currency="USD")
    order(db, "50.00", at=dt.datetime(2026, 4, 1, tzinfo=UTC))          # April: the year's only
    order(db, "50.00", at=dt.datetime(2026, 2, 28, 23, 59, tzinfo=UTC))  # February

    def got(t):
        out = app.get_target(db.uow(), ADMIN, ORG, t["id"])
        return out["attained"], out["attainment_percent"]

    assert got(company) == ("600.50", "60.05")
    assert got(d1) == ("300.50", "75.13")
    assert got(m2) == ("200.50", None)
    assert got(yearly) == ("700.50", "7.01")


def test_collected_attainment(db):
    company = target(db, metric="collected_amount", amount="500.00")
    person = target(db, metric="collected_amount", scope="user", user_id="u-m1", amount="100.00")
    assert collection(db, "120.00") is True
    assert collection(db, "120.00") is False                            # the same fact again
    collection(db, "30.00", payment="p-2", owner="u-m3", department="d2")
    assert app.get_target(db.uow(), ADMIN, ORG, company["id"])["attained"] == "150.00"
    assert app.get_target(db.uow(), ADMIN, ORG, person["id"])["attainment_percent"] == "120.00"
    collection(db, "120.00", status="reversed", occurred="2026-03-20T10:00:00+00:00")
    assert collection(db, "120.00", occurred="2026-03-13T10:00:00+00:00") is False   # older: changes nothing
    assert app.get_target(db.uow(), ADMIN, ORG, company["id"])["attained"] == "30.00"
    with pytest.raises(ValidationFailed):
        collection(db, "1.00", status="pending")
    with db.session() as s:
        assert s.get(TargetCollection, "p-1").status == "reversed"
