"""The events of contracts (exchange ``sales.events``).

- ``contract_signed``     an approved contract got both sides' signatures: customers makes its
                          customer a deal customer (a configured trigger) and keeps it in the summary
- ``contract_expiring``   a signed contract ends within the reminder's notice (``rule``: the rule and
                          its inputs), once per contract: time to renew it
"""
from __future__ import annotations

from marshmallow import Schema, fields

from crm_kit.runtime.events import EventType

__all__ = ["ContractPayload", "ContractSignedPayload", "ContractExpiringPayload", "CONTRACT_SIGNED",
           "CONTRACT_EXPIRING"]


class ContractPayload(Schema):
    """What every contract event says of the contract."""
    id = fields.String(required=True)
    number = fields.String(required=True)
    name = fields.String(required=True)
    customer_id = fields.String(required=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    status = fields.String(required=True)
    amount = fields.Decimal(required=True, as_string=True, places=2)
    currency = fields.String(required=True)
    start_date = fields.Date(required=True, allow_none=True)
    end_date = fields.Date(required=True, allow_none=True)
    signed_at = fields.DateTime(required=True, allow_none=True)
    our_signed_on = fields.Date(required=True, allow_none=True)
    customer_signed_on = fields.Date(required=True, allow_none=True)
    payment_terms = fields.String(required=True, allow_none=True)
    order_ids = fields.List(fields.String(), required=True)
    renews_contract_id = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    occurred_at = fields.DateTime(required=True)


class ContractSignedPayload(ContractPayload):
    pass


class ExpiringRule(Schema):
    rule = fields.String(required=True)
    end_date = fields.Date(required=True)
    as_of = fields.Date(required=True)
    notice_days = fields.Integer(required=True)
    days_left = fields.Integer(required=True)


class ContractExpiringPayload(ContractPayload):
    rule = fields.Nested(ExpiringRule, required=True, metadata={"description": "the rule that fired, its inputs"})


_CONTRACT = {
    "id": "01933d30-0000-7000-8000-000000000001", "number": "CT-2024-000001", "name": "Keller framework 2025",
    "customer_id": "01933d20-0000-7000-8000-000000000007", "owner_id": "u-sales-1", "department_id": "d-east",
    "status": "signed", "amount": "120000.00", "currency": "CNY", "start_date": "2025-01-01",
    "end_date": "2025-12-31", "signed_at": "2024-12-20T09:30:00+00:00", "our_signed_on": "2024-12-19",
    "customer_signed_on": "2024-12-20", "payment_terms": "30% on signing, 70% on delivery",
    "order_ids": ["01933d40-0000-7000-8000-000000000003"], "renews_contract_id": None,
    "created_at": "2024-12-10T08:00:00+00:00", "occurred_at": "2024-12-20T09:30:00+00:00"}

CONTRACT_SIGNED = EventType(
    "contract_signed", ContractSignedPayload, version=1,
    description="An approved contract was signed by both sides (both signing dates recorded).",
    example=_CONTRACT)
CONTRACT_EXPIRING = EventType(
    "contract_expiring", ContractExpiringPayload, version=1,
    description="A signed contract ends within the renewal reminder's notice (`rule`: its inputs); raised once "
                "per contract by the job `contracts_expiring`.",
    example={**_CONTRACT, "occurred_at": "2025-12-01T02:00:00+00:00", "rule": {
        "rule": "contract_expiring", "end_date": "2025-12-31", "as_of": "2025-12-01", "notice_days": 30,
        "days_left": 30}})
