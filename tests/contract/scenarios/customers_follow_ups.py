"""Scenarios of the customers service's follow-ups and recycling: a follow-up recorded
(``follow_up_recorded``), and a pool's recycle rule taking a customer back, run now for the pool
and on the periodic job (``customer_recycled``, with ``customer_owner_changed``)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from services.customers import application as customers_app
from services.customers.application import pools
from services.customers.models import Customer
from tests.contract.support import ADMIN, Producing

RULES = [{"level": None, "no_follow_up_days": 30, "warning_days": 3},
         {"level": "A", "no_follow_up_days": 60, "no_deal_days": 180, "exempt_deals": False}]


def follow_up_recorded(dbs):
    customer = customers_app.create_customer(dbs("customers").uow(), ADMIN, {"name": "Keller Logistik GmbH"})
    contact = customers_app.create_contact(dbs("customers").uow(), ADMIN,
                                           {"customer_id": customer["id"], "name": "Maria Keller"})
    customers_app.add_customer_follow_up(dbs("customers").uow(), ADMIN, customer["id"], {
        "kind": "visit", "content": "Visited the depot", "contact_id": contact["id"], "outcome": "wants a quote",
        "next_contact_at": "2030-01-02T09:00:00Z"})
    customers_app.add_customer_follow_up(dbs("customers").uow(), ADMIN, customer["id"],
                                         {"kind": "call", "content": "Called back"})


def _stale_customer(dbs, name: str, level: str | None, days_ago: int) -> str:
    customer = customers_app.create_customer(dbs("customers").uow(), ADMIN, {"name": name, "level": level})
    received = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days_ago)
    with dbs("customers").session_factory() as session:
        session.execute(update(Customer).where(Customer.id == customer["id"]).values(
            owner_since=received, last_followed_at=received - dt.timedelta(days=1)))
        session.commit()
    return customer["id"]


def customer_recycled_now(dbs):
    pool = pools.create_customer_pool(dbs("customers").uow(), ADMIN, {
        "name": "Public pool", "recycle_enabled": True, "recycle_rules": RULES}, {})
    _stale_customer(dbs, "Keller Logistik GmbH", None, 31)
    _stale_customer(dbs, "Brandt Spedition", "A", 200)
    customers_app.recycle_customer_pool(dbs("customers").uow(), ADMIN, pool["id"])


def customer_recycled_by_the_job(dbs):
    pools.create_customer_pool(dbs("customers").uow(), ADMIN, {
        "name": "Public pool", "recycle_enabled": True, "recycle_rules": RULES}, {})
    _stale_customer(dbs, "Keller Logistik GmbH", None, 45)
    customers_app.recycle_all_pools(dbs("customers").uow())


PRODUCERS = [
    Producing("customers", follow_up_recorded, frozenset({"customer_created", "contact_created",
                                                          "follow_up_recorded"})),
    Producing("customers", customer_recycled_now, frozenset({"customer_created", "customer_owner_changed",
                                                             "customer_recycled"})),
    Producing("customers", customer_recycled_by_the_job, frozenset({"customer_created", "customer_owner_changed",
                                                                    "customer_recycled"})),
]
CONSUMERS: dict = {}
