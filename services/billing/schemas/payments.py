"""A payment (回款): what recording one accepts, the review actions, a refund, and how every RPC
returns it (with its refund, once reversed)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_kit.records.schemas import InputSchema, ListQuery, page_of
from services.billing.domain import payments
from services.billing.schemas.common import amount_in, ident, money, reason, when

PAYMENT_SERVER_OWNED = ("number", "order_id", "customer_id", "currency", "submitted_by", "reviewed_by",
                        "reviewed_at", "rejected_reason", "refund_id", "refund", "allowed_actions")


class PaymentCreate(InputSchema):
    """Money received against a receivable (optionally one of its plan's instalments), for finance to
    review. Refused above what is outstanding less what already awaits review (409, stating the
    outstanding amount). ``reviewer_id``: the finance user asked to review it."""

    class Meta(InputSchema.Meta):
        server_owned = PAYMENT_SERVER_OWNED

    receivable_id = ident(required=True)
    instalment_id = ident(load_default=None, allow_none=True)
    amount = amount_in(required=True)
    paid_at = when(required=True)
    method = fields.String(required=True, validate=validate.OneOf(payments.METHODS))
    payer = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    attachment_ref = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500), metadata={
        "description": "A receipt's id or URL in a document store (billing keeps no files)."})
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    reviewer_id = ident(required=True)


class RefundOut(Schema):
    id = fields.String()
    number = fields.String()
    amount = money()
    currency = fields.String()
    reason = fields.String()
    reviewer_id = fields.String(allow_none=True)
    refunded_at = fields.DateTime()


class PaymentOut(Schema):
    id = fields.String()
    number = fields.String()
    receivable_id = fields.String()
    order_id = fields.String()
    customer_id = fields.String()
    instalment_id = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    department_id = fields.String(allow_none=True)
    amount = money()
    currency = fields.String()
    paid_at = fields.DateTime()
    method = fields.String()
    payer = fields.String(allow_none=True)
    attachment_ref = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    reviewer_id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": ", ".join(payments.STATUSES)})
    allowed_actions = fields.List(fields.String())
    submitted_by = fields.String(allow_none=True)
    reviewed_by = fields.String(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    rejected_reason = fields.String(allow_none=True)
    refund = fields.Nested(RefundOut, allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


PaymentList = page_of(PaymentOut)


class PaymentListQuery(ListQuery):
    status = fields.String(load_default=None, validate=validate.OneOf(payments.STATUSES))
    receivable_id = ident(load_default=None)
    order_id = ident(load_default=None)
    customer_id = ident(load_default=None)
    reviewer_id = ident(load_default=None, metadata={"description": "Awaiting this reviewer, or reviewed by them."})


class PaymentReject(InputSchema):
    reason = reason(required=True)


class PaymentRefund(InputSchema):
    """Reverse a confirmed payment (finance): a credit entry with the reason; the amount is
    outstanding again."""
    reason = reason(required=True)
