"""Quotes (``domain.quotes``: the state machine and validity as tables; ``application.quotes`` on
SQLite): created from an opportunity with server prices and totals, numbered per year, edited only
as draft or rejected, approved only by the engine's answer, accepted into a draft order
(``quote_accepted``), declined, expired past ``valid_until``; within the data scopes."""
from __future__ import annotations

import datetime as dt
import types
from decimal import Decimal

import pytest

from crm_kit.errors import Forbidden, InvalidState, NotFound, StaleVersion, ValidationFailed
from crm_kit.ids import new_id
from services.sales.application import products, quotes
from services.sales.domain import quotes as rules
from services.sales.domain.org import OrgChart, OrgUser
from services.sales.models import Base
from services.sales.models.quotes import Quote
from tests.unit.conftest import ADMIN, MANAGER_D1, MANAGER_D2, MEMBER_1, MEMBER_2

TODAY = dt.date(2026, 3, 10)
ORG = OrgChart(users={u.id: u for u in (OrgUser("admin-1", "admin", "d0"), OrgUser("mgr-1", "manager", "d1"),
                                        OrgUser("user-1", "member", "d1"), OrgUser("user-2", "member", "d1"))},
               departments={"d0": None, "d1": "d0", "d1a": "d1"})


# -- the state machine, as a table --------------------------------------------------------------------
@pytest.mark.parametrize("action, status, answer, expected", [
    ("submit", "draft", "pending", "pending_approval"),
    ("submit", "draft", "approved", "approved"),          # nothing to approve
    ("submit", "rejected", "pending", "pending_approval"),
    ("submit", "pending_approval", "pending", InvalidState),
    ("submit", "approved", "pending", InvalidState),
    ("approve", "pending_approval", "pending", "pending_approval"),   # more steps
    ("approve", "pending_approval", "approved", "approved"),
    ("approve", "draft", "approved", InvalidState),
    ("approve", "approved", "approved", InvalidState),
    ("reject", "pending_approval", "rejected", "rejected"),
    ("reject", "draft", "rejected", InvalidState),
    ("withdraw", "pending_approval", None, "draft"),
    ("withdraw", "approved", None, InvalidState),
    ("accept", "approved", None, "accepted"),
    ("accept", "pending_approval", None, InvalidState),
    ("accept", "expired", None, InvalidState),
    ("accept", "accepted", None, InvalidState),
    ("decline", "approved", None, "declined"),
    ("decline", "draft", None, InvalidState),
    ("expire", "approved", None, "expired"),
    ("expire", "accepted", None, InvalidState),
    *[("update", s, None, InvalidState) for s in rules.STATUSES if s not in rules.EDITABLE],
])
def test_state_machine(action, status, answer, expected):
    if expected is InvalidState:
        with pytest.raises(InvalidState) as exc:
            rules.next_status(action, status, answer)
        assert exc.value.extra == {"action": action, "current_state": status}
    else:
        assert rules.next_status(action, status, answer) == expected


@pytest.mark.parametrize("status", rules.EDITABLE)
def test_editable(status):
    rules.check_action("update", status)


@pytest.mark.parametrize("status, valid_until, today, expected", [
    ("approved", TODAY, TODAY, "approved"),                           # the last day still counts
    ("approved", TODAY - dt.timedelta(days=1), TODAY, "expired"),
    ("draft", TODAY - dt.timedelta(days=1), TODAY, "draft"),          # only an approved quote expires
    ("accepted", TODAY - dt.timedelta(days=9), TODAY, "accepted"),
])
def test_effective_status_and_expiry(status, valid_until, today, expected):
    assert rules.effective_status(status, valid_until, today) == expected
    assert (rules.expiry(status, valid_until, today) is not None) == (expected == "expired")


@pytest.mark.parametrize("given, expected", [
    (None, TODAY + dt.timedelta(days=30)),
    (TODAY, TODAY),
    (TODAY - dt.timedelta(days=1), ValidationFailed),
    (TODAY + dt.timedelta(days=367), ValidationFailed),
])
def test_validity(given, expected):
    if expected is ValidationFailed:
        with pytest.raises(ValidationFailed):
            rules.validity(given, TODAY)
    else:
        assert rules.validity(given, TODAY) == expected


@pytest.mark.parametrize("gross, total, expected", [
    ("100.00", "100.00", "0.00"), ("100.00", "85.00", "15.00"), ("300.00", "200.00", "33.33"),
    ("0.00", "0.00", "0.00"),
])
def test_effective_discount(gross, total, expected):
    assert rules.effective_discount_percent(Decimal(gross), Decimal(total)) == Decimal(expected)


# -- use cases ------------------------------------------------------------------------------------------
class FakeEngine:
    """The approval engine's interface (interface 3), answering what the test says."""

    def __init__(self):
        self.answers, self.calls = [], []

    def submit(self, uow, principal, org, *, subject_kind, subject_id, facts, approver_id=None):
        self.calls.append(("submit", subject_kind, subject_id, facts, approver_id))
        return self.answers.pop(0)

    def decide(self, uow, principal, org, *, subject_kind, subject_id, decision, comment=None):
        self.calls.append(("decide", principal.user_id, decision, comment))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def withdraw(self, uow, principal, *, subject_kind, subject_id):
        self.calls.append(("withdraw", subject_id))

    def current(self, session, subject_kind, subject_id):
        return None


@pytest.fixture
def engine(monkeypatch):
    fake = FakeEngine()
    monkeypatch.setattr(quotes, "_engine", lambda: fake)
    return fake


@pytest.fixture
def orders(monkeypatch):
    made = []

    def new_draft_order(session, principal, *, customer_id, opportunity_id, currency, price_list_id, lines,
                        discount_percent, quote_id):
        made.append(dict(customer_id=customer_id, opportunity_id=opportunity_id, currency=currency,
                         price_list_id=price_list_id, lines=lines, discount_percent=discount_percent,
                         quote_id=quote_id, principal=principal.user_id))
        return types.SimpleNamespace(id=new_id())
    monkeypatch.setattr(quotes, "_orders", lambda: types.SimpleNamespace(new_draft_order=new_draft_order))
    return made


@pytest.fixture
def db(make_db):
    return make_db(Base, "sales")


@pytest.fixture
def catalogue(db):
    a = products.create_product(db.uow(), ADMIN, {"sku": "A", "name": "Printer", "unit_price": "1000.00"})
    b = products.create_product(db.uow(), ADMIN, {"sku": "B", "name": "Toner", "unit_price": "33.33", "unit": "box"})
    usd = products.create_product(db.uow(), ADMIN, {"sku": "U", "name": "Import", "unit_price": "5.00",
                                                    "currency": "USD"})
    opportunity(db)
    pl = products.create_price_list(db.uow(), ADMIN, {"name": "Partners"})
    products.set_price_list_prices(db.uow(), ADMIN, pl["id"], {"prices": [{"product_id": a["id"], "price": "900.00"}]})
    return {"a": a["id"], "b": b["id"], "usd": usd["id"], "list": pl["id"]}


def opportunity(db, id="opp-1", owner=MEMBER_1, customer_id="cust-1", status="open") -> str:
    from services.sales.models.opportunities import Opportunity, Pipeline
    with db.session() as s:
        if s.get(Pipeline, "p") is None:
            s.add(Pipeline(id="p", name="Default", is_default=True, stages=[{"key": "qualification",
                                                                           "name": "Qualification",
                                                                           "probability": 10}]))
            s.flush()
        s.add(Opportunity(id=id, customer_id=customer_id, name=f"Deal {id}", pipeline_id="p",
                          stage="qualification", probability=10, status=status, owner_id=owner.user_id,
                          department_id=owner.department_id))
        s.commit()
    return id


def quote(db, catalogue, principal=MEMBER_1, **data) -> dict:
    body = {"opportunity_id": "opp-1",
            "lines": [{"product_id": catalogue["a"], "quantity": "2", "discount_percent": "10"},
                      {"product_id": catalogue["b"], "quantity": "3"}], **data}
    return quotes.create_quote(db.uow(), principal, body)


def test_create_prices_totals_and_numbers(db, catalogue, engine):
    got = quote(db, catalogue, discount_percent="5", note="Spring offer")
    year = dt.datetime.now(dt.timezone.utc).year
    assert got["number"] == f"QT-{year}-000001" and got["status"] == "draft" and got["currency"] == "CNY"
    assert [(line["sku"], line["unit_price"], line["line_total"]) for line in got["lines"]] == [
        ("A", "1000.00", "1800.00"), ("B", "33.33", "99.99")]
    assert (got["subtotal"], got["discount_amount"], got["total"]) == ("1899.99", "95.00", "1804.99")
    assert (got["owner_id"], got["department_id"], got["version"]) == (MEMBER_1.user_id, "d1", 1)
    assert quote(db, catalogue)["number"] == f"QT-{year}-000002"
    listed = quote(db, catalogue, price_list_id=catalogue["list"])
    assert [line["unit_price"] for line in listed["lines"]] == ["900.00", "33.33"]
    assert listed["lines"][0]["price_list_id"] == catalogue["list"] and listed["lines"][1]["price_list_id"] is None


@pytest.mark.parametrize("change, field", [
    ({"lines": [{"product_id": "nope", "quantity": "1"}]}, "product_id"),
    ({"currency": "USD"}, "product_id"),                            # priced in CNY
    ({"lines": [{"product_id": "A", "quantity": "0"}]}, "lines.0.quantity"),
    ({"lines": [{"product_id": "A", "quantity": "1.0001"}]}, "lines.0.quantity"),
    ({"lines": [{"product_id": "A", "quantity": "1", "unit_price": "1"}]}, "lines.0.unit_price"),   # never the client's
    ({"lines": []}, "lines"),
    ({"discount_percent": "101"}, "discount_percent"),
    ({"valid_until": "2000-01-01"}, "valid_until"),
    ({"total": "1.00"}, "total"),
    ({"number": "QT-1"}, "number"),
    ({"opportunity_id": None}, "opportunity_id"),
    ({"opportunity_id": "unknown"}, "opportunity_id"),
    ({"opportunity_id": "theirs"}, "opportunity_id"),       # one the caller does not see
    ({"opportunity_id": "lost"}, "opportunity_id"),
    ({"customer_id": "someone-else"}, "customer_id"),        # not the opportunity's
    ({"opportunity_id": "nobody"}, "customer_id"),           # the opportunity has no customer
])
def test_what_a_quote_may_not_be(db, catalogue, engine, change, field):
    opportunity(db, "theirs", owner=MEMBER_2)
    opportunity(db, "lost", status="lost")
    opportunity(db, "nobody", customer_id=None)
    for line in change.get("lines", ()):
        line["product_id"] = catalogue.get(line["product_id"].lower(), line["product_id"])
    with pytest.raises(ValidationFailed) as exc:
        quote(db, catalogue, **change)
    assert field in exc.value.errors


def test_scopes(db, catalogue, engine):
    got = quote(db, catalogue)
    for principal in (MEMBER_1, MANAGER_D1, ADMIN):
        assert quotes.get_quote(db.uow(), principal, got["id"])["id"] == got["id"]
    for principal in (MEMBER_2, MANAGER_D2):
        with pytest.raises(NotFound):
            quotes.get_quote(db.uow(), principal, got["id"])
        with pytest.raises(NotFound):
            quotes.update_quote(db.uow(), principal, got["id"], {"note": "x"})
    assert [q["id"] for q in quotes.list_quotes(db.uow(), MEMBER_2, {})["items"]] == []
    assert [q["id"] for q in quotes.list_quotes(db.uow(), MANAGER_D1, {"status": "draft"})["items"]] == [got["id"]]
    assert quotes.list_quotes(db.uow(), MANAGER_D1, {"customer_id": "other"})["items"] == []


def test_update_reprices_and_takes_the_version(db, catalogue, engine):
    got = quote(db, catalogue)
    changed = quotes.update_quote(db.uow(), MEMBER_1, got["id"], {"price_list_id": catalogue["list"],
                                                                  "discount_percent": "0"}, 1)
    assert changed["lines"][0]["unit_price"] == "900.00" and changed["total"] == "1719.99"
    assert changed["version"] == 2
    with pytest.raises(StaleVersion):
        quotes.update_quote(db.uow(), MEMBER_1, got["id"], {"note": "late"}, 1)
    lines = quotes.update_quote(db.uow(), MEMBER_1, got["id"], {"lines": [{"product_id": catalogue["b"],
                                                                           "quantity": "1.5"}]})
    assert [(line["sku"], line["quantity"], line["line_total"]) for line in lines["lines"]] == [("B", "1.500", "50.00")]
    with pytest.raises(ValidationFailed):
        quotes.update_quote(db.uow(), MEMBER_1, got["id"], {"customer_id": "someone-else"})


def approved(db, catalogue, engine, **data) -> dict:
    got = quote(db, catalogue, **data)
    engine.answers.append("approved")
    return quotes.submit_quote(db.uow(), MEMBER_1, ORG, got["id"], {})


def test_submit_decide_and_withdraw(db, catalogue, engine):
    got = quote(db, catalogue)
    engine.answers += ["pending", "pending", "approved"]
    pending = quotes.submit_quote(db.uow(), MEMBER_1, ORG, got["id"], {"approver_id": "mgr-1"})
    assert pending["status"] == "pending_approval" and pending["submitted_at"]
    kind, facts = engine.calls[0][1], engine.calls[0][3]
    assert kind == "quote" and facts["amount"] == Decimal("1899.99") and facts["owner_id"] == MEMBER_1.user_id
    assert facts["discount_percent"] == Decimal("9.52") and facts["currency"] == "CNY"   # 200 of 2099.99 off
    with pytest.raises(InvalidState):
        quotes.update_quote(db.uow(), MEMBER_1, got["id"], {"note": "x"})
    assert quotes.approve_quote(db.uow(), MANAGER_D1, ORG, got["id"], {})["status"] == "pending_approval"
    done = quotes.approve_quote(db.uow(), MANAGER_D1, ORG, got["id"], {"comment": "ok"})
    assert done["status"] == "approved" and done["approved_at"]
    with pytest.raises(InvalidState):
        quotes.withdraw_quote(db.uow(), MEMBER_1, got["id"])

    other = quote(db, catalogue)
    engine.answers += ["pending", "rejected"]
    quotes.submit_quote(db.uow(), MEMBER_1, ORG, other["id"])
    with pytest.raises(ValidationFailed):
        quotes.reject_quote(db.uow(), MANAGER_D1, ORG, other["id"], {})      # a reason is required
    assert quotes.reject_quote(db.uow(), MANAGER_D1, ORG, other["id"], {"reason": "Too cheap"})["status"] == "rejected"
    assert engine.calls[-1] == ("decide", MANAGER_D1.user_id, "reject", "Too cheap")
    assert quotes.update_quote(db.uow(), MEMBER_1, other["id"], {"note": "better"})["status"] == "rejected"
    engine.answers.append("pending")
    quotes.submit_quote(db.uow(), MEMBER_1, ORG, other["id"])
    assert quotes.withdraw_quote(db.uow(), MEMBER_1, other["id"])["status"] == "draft"
    assert engine.calls[-1] == ("withdraw", other["id"])
    actions = [e["action"] for e in quotes.quote_history(db.uow(), MEMBER_1, other["id"])["items"]]
    assert actions[0] == "withdraw" and actions[-1] == "create" and "reject" in actions
    with pytest.raises(NotFound):
        quotes.quote_history(db.uow(), MEMBER_2, other["id"])


def test_an_outsider_deciding_is_told_nothing_exists(db, catalogue, engine):
    got = quote(db, catalogue)
    engine.answers += ["pending", Forbidden("Not an approver.", {}), Forbidden("Not an approver.", {})]
    quotes.submit_quote(db.uow(), MEMBER_1, ORG, got["id"])
    with pytest.raises(NotFound):
        quotes.approve_quote(db.uow(), MEMBER_2, ORG, got["id"])
    with pytest.raises(Forbidden):              # one who sees it is told they may not
        quotes.approve_quote(db.uow(), MANAGER_D1, ORG, got["id"])
    assert db.all(Quote)[0].status == "pending_approval"


def test_accept_into_a_draft_order(db, catalogue, engine, orders):
    got = approved(db, catalogue, engine, price_list_id=catalogue["list"], discount_percent="5")
    accepted = quotes.accept_quote(db.uow(), MEMBER_1, got["id"])
    assert accepted["status"] == "accepted" and accepted["order_id"] and accepted["closed_at"]
    (order,) = orders
    assert order["quote_id"] == got["id"] and order["price_list_id"] == catalogue["list"]
    assert order["discount_percent"] == Decimal("5.00") and order["currency"] == "CNY"
    assert [(line["product_id"], line["quantity"], line["discount_percent"]) for line in order["lines"]] == [
        (catalogue["a"], Decimal("2.000"), Decimal("10.00")), (catalogue["b"], Decimal("3.000"), Decimal("0.00"))]
    (event,) = db.outbox("quote_accepted")
    payload = event.body["payload"]
    assert payload["order_id"] == accepted["order_id"] and payload["total"] == got["total"]
    assert payload["number"] == got["number"] and payload["opportunity_id"] == "opp-1"
    with pytest.raises(InvalidState):
        quotes.accept_quote(db.uow(), MEMBER_1, got["id"])
    with pytest.raises(InvalidState):
        quotes.decline_quote(db.uow(), MEMBER_1, got["id"])


def test_only_an_approved_quote_is_accepted_or_declined(db, catalogue, engine, orders):
    draft = quote(db, catalogue)
    with pytest.raises(InvalidState):
        quotes.accept_quote(db.uow(), MEMBER_1, draft["id"])
    with pytest.raises(NotFound):
        quotes.accept_quote(db.uow(), MEMBER_2, draft["id"])
    got = approved(db, catalogue, engine)
    declined = quotes.decline_quote(db.uow(), MEMBER_1, got["id"], {"reason": "Budget cut"})
    assert (declined["status"], declined["decline_reason"]) == ("declined", "Budget cut")
    assert orders == [] and db.outbox("quote_accepted") == []


def test_expiry(db, catalogue, engine, orders):
    got = approved(db, catalogue, engine, valid_until=dt.date.today().isoformat())
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)
    assert quotes.expire_quotes(db.uow(), later)["expired"] == [got["id"]]
    assert quotes.expire_quotes(db.uow(), later)["expired"] == []
    assert quotes.get_quote(db.uow(), MEMBER_1, got["id"])["status"] == "expired"
    with pytest.raises(InvalidState) as exc:
        quotes.accept_quote(db.uow(), MEMBER_1, got["id"])
    assert exc.value.extra["current_state"] == "expired"


def test_past_its_date_an_approved_quote_is_expired_before_the_job(db, catalogue, engine, orders):
    got = approved(db, catalogue, engine)
    with db.session() as s:
        s.get(Quote, got["id"]).valid_until = dt.date.today() - dt.timedelta(days=1)
        s.commit()
    assert quotes.get_quote(db.uow(), MEMBER_1, got["id"])["status"] == "expired"
    with pytest.raises(InvalidState):
        quotes.accept_quote(db.uow(), MEMBER_1, got["id"])
    assert orders == []


# -- with the real approval engine and orders ----------------------------------------------------------------
def test_through_the_engine_into_an_order(db, catalogue):
    from services.sales.models import Order
    got = quote(db, catalogue, price_list_id=catalogue["list"])
    pending = quotes.submit_quote(db.uow(), MEMBER_1, ORG, got["id"], {"approver_id": "mgr-1"})
    assert pending["status"] == "pending_approval" and pending["approval"]["state"] == "pending"
    with pytest.raises(NotFound):                  # neither in scope nor an approver
        quotes.approve_quote(db.uow(), MANAGER_D2, ORG, got["id"])
    with pytest.raises(Forbidden):                 # in scope, not an approver
        quotes.approve_quote(db.uow(), MEMBER_1, ORG, got["id"])
    done = quotes.approve_quote(db.uow(), MANAGER_D1, ORG, got["id"], {"comment": "fine"})
    assert done["status"] == "approved" and done["approval"]["state"] == "approved"
    accepted = quotes.accept_quote(db.uow(), MEMBER_1, got["id"])
    (order,) = db.all(Order)
    assert accepted["order_id"] == order.id and order.quote_id == got["id"] and order.status == "draft"
    assert order.total == Decimal(got["total"]) and order.opportunity_id == "opp-1"
    assert [(line.sku, line.unit_price) for line in order.lines] == [("A", Decimal("900.00")), ("B", Decimal("33.33"))]
