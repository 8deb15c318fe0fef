"""Scenarios of sales' handlers of billing's payment events: each payment kept once as a target
collection fact (``application.collections``), confirmed or reversed."""
from __future__ import annotations

from decimal import Decimal

from services.sales.application import collections
from services.sales.models import TargetCollection
from tests.contract.support import Consuming

PRODUCERS: list = []


def kept_as(status: str):
    def check(dbs, payload: dict) -> None:
        with dbs("sales").session_factory() as session:
            row = session.get(TargetCollection, payload["id"])
        assert row is not None, "no collection fact for the payment"
        assert (row.status, Decimal(str(row.amount)), row.currency) == (status, Decimal(payload["amount"]),
                                                                         payload["currency"])
        assert (row.owner_id, row.order_id) == (payload["owner_id"], payload["order_id"])
    return check


def _handle(event_type: str):
    return lambda uow, event: collections.on_payment_event(uow, event, event_type)


CONSUMERS = {
    ("billing", "payment_confirmed", "sales.handle_payment_confirmed"):
        Consuming(_handle("payment_confirmed"), kept_as("confirmed")),
    ("billing", "payment_reversed", "sales.handle_payment_reversed"):
        Consuming(_handle("payment_reversed"), kept_as("reversed")),
}
