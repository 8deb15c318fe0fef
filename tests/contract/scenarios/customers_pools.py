"""Scenarios of the customers service's pools and ownership: a customer returned to a pool and
claimed from it, assigned, transferred, claimed in bulk (``customer_owner_changed``,
``customer_returned``, ``customer_claimed``; the customers they start from raise
``customer_created``)."""
from __future__ import annotations

from crm_kit.context import Principal
from services.customers import application as customers_app
from tests.contract.support import ADMIN, Producing

MEMBER = Principal("01933b50-1f00-7a00-8000-00000000a002", "member", "01933b50-1f00-7a00-8000-00000000d001",
                   ("01933b50-1f00-7a00-8000-00000000d001",))


def _pool(dbs) -> dict:
    return customers_app.create_customer_pool(dbs("customers").uow(), ADMIN, {
        "name": "North China customers", "member_ids": [MEMBER.user_id], "return_reasons": ["No budget this year"]},
        {MEMBER.user_id: MEMBER.department_id})


def returned_and_claimed(dbs):
    pool = _pool(dbs)
    customer = customers_app.create_customer(dbs("customers").uow(), ADMIN, {"name": "Keller Logistik GmbH"})
    customers_app.return_customer(dbs("customers").uow(), ADMIN, customer["id"], "No budget this year", pool["id"])
    customers_app.claim_customer(dbs("customers").uow(), MEMBER, customer["id"])


def assigned_transferred_locked(dbs):
    customer = customers_app.create_customer(dbs("customers").uow(), ADMIN, {"name": "Initech"})
    customers_app.assign_customer(dbs("customers").uow(), ADMIN, customer["id"], MEMBER.user_id,
                                  MEMBER.department_id)
    customers_app.lock_customer(dbs("customers").uow(), MEMBER, customer["id"])
    customers_app.transfer_customer(dbs("customers").uow(), MEMBER, customer["id"], ADMIN.user_id, "read",
                                    reason="Account plan 2025")


def claimed_in_bulk(dbs):
    pool = _pool(dbs)
    ids = [customers_app.create_customer(dbs("customers").uow(), ADMIN, {"name": name})["id"]
           for name in ("Globex", "Umbrella")]
    customers_app.bulk_return_customers(dbs("customers").uow(), ADMIN, {
        "customer_ids": ids, "reason": "No budget this year", "pool_id": pool["id"]})
    customers_app.bulk_claim_customers(dbs("customers").uow(), MEMBER, {"customer_ids": ids})


PRODUCERS = [
    Producing("customers", returned_and_claimed,
              frozenset({"customer_created", "customer_owner_changed", "customer_returned", "customer_claimed"})),
    Producing("customers", assigned_transferred_locked, frozenset({"customer_created", "customer_owner_changed"})),
    Producing("customers", claimed_in_bulk,
              frozenset({"customer_created", "customer_owner_changed", "customer_returned", "customer_claimed"})),
]
