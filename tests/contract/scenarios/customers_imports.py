"""Scenarios of the customers service's CSV import: customers and their contacts written in bulk emit
``customer_created`` and ``contact_created`` as ``create_customer`` does (the same payloads:
``tests/unit/customers/test_imports.py``), owned by the importer or straight into a pool."""
from __future__ import annotations

from services.customers import application as customers_app
from tests.contract.support import ADMIN, Producing

SALESFORCE_FILE = ("Account Name,Phone,Industry,Rating,Type,First Name,Last Name,Title,Email,Mobile\n"
                   "GenePoint,(650) 867-3450,Biotechnology,Hot,Customer - Channel,Edna,Frank,VP,"
                   "efrank@genepoint.com,(650) 867-3451\n"
                   "Initech,010-5555 0000,Software,Cold,,,,,,\n")


def customers_imported_with_contacts(dbs):
    report = customers_app.import_customers(dbs("customers").uow(), ADMIN, SALESFORCE_FILE)
    assert (report["created"], report["contacts_created"]) == (2, 1), report["rows"]


def customers_imported_into_a_pool(dbs):
    pool = customers_app.create_customer_pool(dbs("customers").uow(), ADMIN, {"name": "Imported"})
    report = customers_app.import_customers(dbs("customers").uow(), ADMIN, "客户名称,客户级别,联系人姓名,联系人手机\n"
                                            "深圳华星科技,A（重点客户）,王五,13912345678\n", pool_id=pool["id"])
    assert report["created"] == 1, report["rows"]


PRODUCERS = [
    Producing("customers", customers_imported_with_contacts, frozenset({"customer_created", "contact_created"})),
    Producing("customers", customers_imported_into_a_pool, frozenset({"customer_created", "contact_created"})),
]

CONSUMERS: dict = {}
