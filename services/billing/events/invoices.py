"""The events of invoices (exchange ``billing.events``).

- ``invoice_requested``  an invoice was asked for against a receivable (or a payment), awaiting finance
- ``invoice_issued``     finance issued it: its number and issue date (the customer's documents, analytics)
- ``invoice_rejected``   finance rejected the request, with the reason (its amount is free again)
- ``invoice_voided``     finance voided (红冲) an issued invoice, with the reason (its amount is free again)

Every payload carries ``id, number, receivable_id, payment_id, order_id, order_number, customer_id,
owner_id, department_id, kind, title, tax_id, currency, amount, tax_rate, tax_amount, net_amount,
status, occurred_at``, dumped from the invoice itself (what it does not hold as keywords).
"""
from __future__ import annotations

from marshmallow import Schema, fields

from crm_kit.runtime.events import EventType

__all__ = ["InvoiceRequestedPayload", "InvoiceIssuedPayload", "InvoiceRejectedPayload", "InvoiceVoidedPayload",
           "INVOICE_REQUESTED", "INVOICE_ISSUED", "INVOICE_REJECTED", "INVOICE_VOIDED"]


def _money(**kwargs):
    return fields.Decimal(required=True, places=2, as_string=True, **kwargs)


class _InvoicePayload(Schema):
    id = fields.String(required=True, metadata={"description": "The invoice's id."})
    number = fields.String(required=True, allow_none=True, metadata={"description": "Once issued."})
    receivable_id = fields.String(required=True)
    payment_id = fields.String(required=True, allow_none=True)
    order_id = fields.String(required=True)
    order_number = fields.String(required=True)
    customer_id = fields.String(required=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    tax_id = fields.String(required=True, allow_none=True)
    currency = fields.String(required=True)
    amount = _money(metadata={"description": "Gross: tax included."})
    tax_rate = fields.String(required=True, metadata={"description": "Percent."})
    tax_amount = _money()
    net_amount = _money()
    status = fields.String(required=True)
    occurred_at = fields.DateTime(required=True)


class InvoiceRequestedPayload(_InvoicePayload):
    requested_by = fields.String(required=True, allow_none=True)


class InvoiceIssuedPayload(_InvoicePayload):
    issue_date = fields.Date(required=True)
    issued_by = fields.String(required=True, allow_none=True)
    issued_at = fields.DateTime(required=True)


class InvoiceRejectedPayload(_InvoicePayload):
    reviewed_by = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True, attribute="rejected_reason")


class InvoiceVoidedPayload(_InvoicePayload):
    issue_date = fields.Date(required=True)
    voided_by = fields.String(required=True, allow_none=True)
    voided_at = fields.DateTime(required=True)
    reason = fields.String(required=True, attribute="void_reason")


_FINANCE = "01933b50-1f00-7a00-8000-00000000a009"
_BASE = {"id": "01933b50-1f00-7a00-8000-0000000ab301", "number": None,
         "receivable_id": "01933b50-1f00-7a00-8000-0000000ee001", "payment_id": None,
         "order_id": "01933b50-1f00-7a00-8000-0000000bb001", "order_number": "SO-2026-000123",
         "customer_id": "01933b50-1f00-7a00-8000-0000000cc001", "owner_id": "01933b50-1f00-7a00-8000-00000000a002",
         "department_id": "01933b50-1f00-7a00-8000-00000000d001", "kind": "special_vat", "title": "Initech Ltd",
         "tax_id": "91310000MA1K000000", "currency": "CNY", "amount": "11300.00", "tax_rate": "13",
         "tax_amount": "1300.00", "net_amount": "10000.00", "status": "requested",
         "occurred_at": "2026-03-12T08:00:00+00:00"}
_ISSUED = {**_BASE, "number": "INV-2026-000042", "issue_date": "2026-03-13", "issued_by": _FINANCE,
           "issued_at": "2026-03-13T09:00:00+00:00"}

INVOICE_REQUESTED = EventType(
    "invoice_requested", InvoiceRequestedPayload, version=1,
    description="An invoice was requested against a receivable (or one of its payments) and awaits finance's "
                "review.",
    example={**_BASE, "requested_by": "01933b50-1f00-7a00-8000-00000000a002"})
INVOICE_ISSUED = EventType(
    "invoice_issued", InvoiceIssuedPayload, version=1,
    description="Finance issued an invoice: its number and issue date, the amount with its tax.",
    example={**_ISSUED, "status": "issued", "occurred_at": "2026-03-13T09:00:00+00:00"})
INVOICE_REJECTED = EventType(
    "invoice_rejected", InvoiceRejectedPayload, version=1,
    description="Finance rejected an invoice request, with the reason: its amount may be invoiced again.",
    example={**_BASE, "status": "rejected", "reviewed_by": _FINANCE, "reason": "Wrong tax id",
             "occurred_at": "2026-03-12T10:00:00+00:00"})
INVOICE_VOIDED = EventType(
    "invoice_voided", InvoiceVoidedPayload, version=1,
    description="Finance voided (红冲) an issued invoice, with the reason: its amount may be invoiced again.",
    example={**_BASE, "number": "INV-2026-000042", "issue_date": "2026-03-13", "status": "voided",
             "voided_by": _FINANCE, "voided_at": "2026-03-20T09:00:00+00:00",
             "reason": "The buyer's title was misspelt", "occurred_at": "2026-03-20T09:00:00+00:00"})
