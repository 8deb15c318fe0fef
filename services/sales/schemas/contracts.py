"""Contracts (合同): what creating, editing, signing, voiding one accepts, and how they are returned."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_kit.records.schemas import InputSchema, ListQuery, not_blank, page_of, partial_of
from services.sales.domain.contracts import STATUSES

MAX_AMOUNT = 10 ** 16 - 1
MAX_ORDERS = 50
CURRENCY = r"^[A-Z]{3}$"

# Set by the server (numbering, signing, approval, voiding, the reminder job), never by an edit.
CONTRACT_SERVER_OWNED = ("number", "our_signed_on", "customer_signed_on", "signed_at", "void_reason", "voided_at",
                         "expired_at", "expiring_notified_at", "created_by", "approval")


def _id(**kwargs):
    return fields.String(validate=validate.Length(min=1, max=36), **kwargs)


def _optional_id(description: str | None = None):
    return _id(load_default=None, allow_none=True, metadata={"description": description} if description else {})


def money(**kwargs):
    return fields.Decimal(as_string=True, places=2, validate=validate.Range(min=0, max=MAX_AMOUNT), **kwargs)


class ContractCreate(InputSchema):
    """A contract with a customer, owned by its creator (in the creator's department), as a draft."""

    class Meta(InputSchema.Meta):
        server_owned = CONTRACT_SERVER_OWNED

    customer_id = _id(required=True)
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), not_blank])
    order_ids = fields.List(_id(), load_default=list, validate=validate.Length(max=MAX_ORDERS),
                            metadata={"description": f"the orders it covers (at most {MAX_ORDERS})"})
    our_signatory_id = _optional_id("the user who signs for us")
    customer_signatory_contact_id = _optional_id("the customer's contact who signs")
    customer_signatory_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                                            metadata={"description": "the customer's signatory, by name"})
    amount = money(required=True)
    currency = fields.String(load_default="CNY", validate=validate.Regexp(CURRENCY))
    start_date = fields.Date(load_default=None, allow_none=True)
    end_date = fields.Date(load_default=None, allow_none=True)
    payment_terms = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    renews_contract_id = _optional_id("the contract it renews")
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


# The customer and the renewed contract are what the contract is: they do not change.
ContractUpdate = partial_of(ContractCreate, "ContractUpdate", exclude=("customer_id", "renews_contract_id"),
                            doc="Edit a draft or rejected contract: only the fields given change.")


class ContractSubmit(InputSchema):
    """Submit for approval; ``approver_id`` names the approver when no approval flow applies."""
    approver_id = _optional_id("the approver when no flow applies")


class ContractDecision(InputSchema):
    """An approver's decision on the current step."""
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class ContractSign(InputSchema):
    """Record one or both sides' signing (dates, not in the future; the signatories when given): an
    approved contract is signed once both dates are there."""
    our_signed_on = fields.Date(load_default=None, allow_none=True)
    customer_signed_on = fields.Date(load_default=None, allow_none=True)
    our_signatory_id = _optional_id("the user who signed for us")
    customer_signatory_contact_id = _optional_id("the customer's contact who signed")
    customer_signatory_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class ContractVoid(InputSchema):
    """Void a contract (any state but expired), with a reason."""
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=500), not_blank])


class ContractOut(Schema):
    """A contract as every RPC returns it (``approval``: its approval request, when there is one)."""
    id = fields.String()
    number = fields.String()
    customer_id = fields.String()
    name = fields.String()
    order_ids = fields.List(fields.String())
    our_signatory_id = fields.String(allow_none=True)
    customer_signatory_contact_id = fields.String(allow_none=True)
    customer_signatory_name = fields.String(allow_none=True)
    our_signed_on = fields.Date(allow_none=True)
    customer_signed_on = fields.Date(allow_none=True)
    signed_at = fields.DateTime(allow_none=True)
    amount = fields.Decimal(as_string=True, places=2)
    currency = fields.String()
    start_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)
    payment_terms = fields.String(allow_none=True)
    renews_contract_id = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    department_id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": " | ".join(STATUSES)})
    void_reason = fields.String(allow_none=True)
    voided_at = fields.DateTime(allow_none=True)
    expired_at = fields.DateTime(allow_none=True)
    expiring_notified_at = fields.DateTime(allow_none=True,
                                           metadata={"description": "when its renewal reminder was raised"})
    notes = fields.String(allow_none=True)
    approval = fields.Dict(allow_none=True, metadata={
        "description": "the approval request (state, steps, decisions), null when never submitted"})
    created_by = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


ContractList = page_of(ContractOut)


class ContractListQuery(ListQuery):
    """Filters of the contract list (newest first), within the caller's data scope."""
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    customer_id = _id(load_default=None)
    owner_id = _id(load_default=None)
    department_id = _id(load_default=None)
    renews_contract_id = _id(load_default=None)
    end_before = fields.Date(load_default=None, metadata={"description": "ending on or before this date"})


class ContractHistoryQuery(ListQuery):
    """``limit`` and ``cursor`` of a contract's history (newest first)."""


class _ExpiringRun(Schema):
    """What the reminder job answers (internal)."""
    as_of = fields.DateTime()
    notice_days = fields.Integer()
    reminded = fields.List(fields.String())
    expired = fields.List(fields.String())
