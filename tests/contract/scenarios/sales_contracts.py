"""Scenarios of sales' contracts: a contract approved (nothing to approve: ``approval_decided``) and
signed by both sides (``contract_signed``), then reminded before its end by the job
(``contract_expiring``)."""
from __future__ import annotations

import datetime as dt

from services.sales.application import contracts as contracts_app
from services.sales.domain.org import OrgChart
from tests.contract.support import ADMIN, Producing

ORG = OrgChart()


def signed_contract(dbs) -> dict:
    uow = dbs("sales").uow
    contract = contracts_app.create_contract(uow(), ADMIN, {
        "customer_id": "01933d20-0000-7000-8000-000000000007", "name": "Keller framework 2025",
        "amount": "120000.00", "start_date": "2025-01-01", "end_date": "2025-12-31",
        "payment_terms": "30% on signing, 70% on delivery", "customer_signatory_name": "Jonas Keller"})
    contracts_app.submit_contract(uow(), ADMIN, ORG, contract["id"])
    contracts_app.sign_contract(uow(), ADMIN, contract["id"], {"our_signed_on": "2024-12-19"})
    return contracts_app.sign_contract(uow(), ADMIN, contract["id"], {"customer_signed_on": "2024-12-20"})


def contract_reminded(dbs) -> None:
    signed_contract(dbs)
    contracts_app.remind_expiring_contracts(dbs("sales").uow(), dt.datetime(2025, 12, 1, 2, tzinfo=dt.timezone.utc))


PRODUCERS = [
    Producing("sales", signed_contract, frozenset({"approval_decided", "contract_signed"})),
    Producing("sales", contract_reminded, frozenset({"approval_decided", "contract_signed", "contract_expiring"})),
]
CONSUMERS: dict = {}
