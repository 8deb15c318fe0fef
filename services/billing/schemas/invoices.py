"""An invoice (发票): what requesting one accepts, the review actions (reject, void with a reason),
its list's filters, and how every RPC returns it."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_kit.records.schemas import InputSchema, ListQuery, page_of
from services.billing.domain import invoices
from services.billing.schemas.common import amount_in, ident, money, reason

INVOICE_SERVER_OWNED = ("number", "order_id", "order_number", "customer_id", "currency", "tax_amount", "net_amount",
                        "status", "requested_by", "reviewed_by", "reviewed_at", "rejected_reason", "issued_by",
                        "issued_at", "issue_date", "voided_by", "voided_at", "void_reason", "allowed_actions")
RATES = tuple(str(rate) for rate in invoices.TAX_RATES)


def _text(size: int, **kwargs):
    return fields.String(load_default=None, allow_none=True, validate=validate.Length(max=size), **kwargs)


class InvoiceCreate(InputSchema):
    """An invoice asked for against a receivable (``receivable_id``) or one of its confirmed payments
    (``payment_id``; the receivable is the payment's). ``amount`` is gross (tax included); the server
    derives the tax (``amount × rate / (100 + rate)``, rounded once to the cent, half up) and the net.
    A tax id is required for a ``special_vat`` invoice and for a company buyer; a ``special_vat``
    invoice also needs the buyer's address and bank account. Refused above what the order (or the
    payment) still allows: 409 ``limit-exceeded`` stating the amount still invoiceable."""

    class Meta(InputSchema.Meta):
        server_owned = INVOICE_SERVER_OWNED

    receivable_id = ident(load_default=None, allow_none=True)
    payment_id = ident(load_default=None, allow_none=True)
    kind = fields.String(required=True, validate=validate.OneOf(invoices.KINDS), metadata={
        "description": "general_vat (增值税普通发票), special_vat (增值税专用发票), electronic (电子发票)."})
    title = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={
        "description": "The buyer's name as printed (抬头)."})
    tax_id = _text(30, metadata={"description": "The buyer's taxpayer id (税号)."})
    buyer_kind = fields.String(load_default="company", validate=validate.OneOf(invoices.BUYER_KINDS))
    buyer_address = _text(300)
    buyer_bank_account = _text(200)
    amount = amount_in(required=True, metadata={"description": "Gross: tax included (价税合计)."})
    tax_rate = fields.String(required=True, validate=validate.OneOf(RATES), metadata={
        "description": "The VAT rate in percent."})
    notes = _text(2000)


class InvoiceOut(Schema):
    id = fields.String()
    number = fields.String(allow_none=True, metadata={"description": "INV-<year>-<counter>, once issued."})
    receivable_id = fields.String()
    payment_id = fields.String(allow_none=True)
    order_id = fields.String()
    order_number = fields.String()
    customer_id = fields.String()
    owner_id = fields.String(allow_none=True)
    department_id = fields.String(allow_none=True)
    kind = fields.String()
    title = fields.String()
    tax_id = fields.String(allow_none=True)
    buyer_kind = fields.String()
    buyer_address = fields.String(allow_none=True)
    buyer_bank_account = fields.String(allow_none=True)
    currency = fields.String()
    amount = money()
    tax_rate = fields.String()
    tax_amount = money()
    net_amount = money()
    notes = fields.String(allow_none=True)
    status = fields.String(metadata={"description": ", ".join(invoices.STATUSES)})
    allowed_actions = fields.List(fields.String())
    requested_by = fields.String(allow_none=True)
    reviewed_by = fields.String(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    rejected_reason = fields.String(allow_none=True)
    issued_by = fields.String(allow_none=True)
    issued_at = fields.DateTime(allow_none=True)
    issue_date = fields.Date(allow_none=True)
    voided_by = fields.String(allow_none=True)
    voided_at = fields.DateTime(allow_none=True)
    void_reason = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


InvoiceList = page_of(InvoiceOut)


class InvoiceListQuery(ListQuery):
    status = fields.String(load_default=None, validate=validate.OneOf(invoices.STATUSES))
    receivable_id = ident(load_default=None)
    payment_id = ident(load_default=None)
    order_id = ident(load_default=None)
    customer_id = ident(load_default=None)


class InvoiceReject(InputSchema):
    reason = reason(required=True)


class InvoiceVoid(InputSchema):
    """Void (红冲) an issued invoice (finance), with the reason: its amount may be invoiced again."""
    reason = reason(required=True)
