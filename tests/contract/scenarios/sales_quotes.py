"""Scenarios of the sales service's quotes: a quote for an opportunity submitted to a named
approver, approved, and accepted by the customer into a draft order (``quote_accepted``; the
approval engine raises ``approval_requested`` / ``approval_decided`` on the way)."""
from __future__ import annotations

from crm_kit.context import Principal
from services.sales.application import products, quotes
from services.sales.domain.org import OrgChart, OrgUser
from services.sales.models.opportunities import Opportunity, Pipeline
from tests.contract.support import ADMIN, Producing

APPROVER = Principal("01933b50-1f00-7a00-8000-00000000a009", "manager", "01933b50-1f00-7a00-8000-00000000d001",
                     ("01933b50-1f00-7a00-8000-00000000d001",))
ORG = OrgChart(users={ADMIN.user_id: OrgUser(ADMIN.user_id, "admin"),
                      APPROVER.user_id: OrgUser(APPROVER.user_id, "manager", APPROVER.department_id)},
               departments={APPROVER.department_id: None})


def _opportunity(dbs) -> str:
    """An open opportunity of the customer (the state a quote starts from)."""
    with dbs("sales").session_factory() as session:
        session.add(Pipeline(id="01933b50-1f00-7a00-8000-0000000000p1", name="Default", is_default=True,
                             stages=[{"key": "proposal", "name": "Proposal", "probability": 50}]))
        session.flush()
        session.add(Opportunity(id="01933b50-1f00-7a00-8000-0000000000o1", name="Keller printers 2026",
                                customer_id="01933d20-0000-7000-8000-000000000007",
                                pipeline_id="01933b50-1f00-7a00-8000-0000000000p1", stage="proposal",
                                probability=50, status="open", owner_id=ADMIN.user_id))
        session.commit()
    return "01933b50-1f00-7a00-8000-0000000000o1"


def accepted_into_an_order(dbs):
    db = dbs("sales")
    product = products.create_product(db.uow(), ADMIN, {"sku": "PRN-A4", "name": "A4 printer",
                                                        "unit_price": "1999.00"})
    quote = quotes.create_quote(db.uow(), ADMIN, {
        "opportunity_id": _opportunity(dbs), "discount_percent": "5",
        "lines": [{"product_id": product["id"], "quantity": "6", "discount_percent": "10"}]})
    quotes.submit_quote(db.uow(), ADMIN, ORG, quote["id"], {"approver_id": APPROVER.user_id})
    quotes.approve_quote(db.uow(), APPROVER, ORG, quote["id"], {"comment": "Fine for a six-unit deal"})
    quotes.accept_quote(db.uow(), ADMIN, quote["id"])


PRODUCERS = [
    Producing("sales", accepted_into_an_order,
              frozenset({"approval_requested", "approval_decided", "quote_accepted"})),
]
