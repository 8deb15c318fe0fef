"""The actions that change who holds a customer (claim, assign, return, move, lock, transfer, one by
one and in bulk) and the owner history: what they accept and return."""
from __future__ import annotations

import datetime as dt

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from crm_kit.records.schemas import InputSchema, not_blank, page_of
from crm_kit.records.teams import ACCESS

_id = validate.Length(min=1, max=36)
BULK_MAX = 200


def _plausible(value: dt.datetime) -> None:
    if not 2000 <= value.year <= 2200:
        raise ValidationError("Must be between the years 2000 and 2200.")


def _when(**kwargs):
    """A time in ISO 8601; one without an offset is taken as UTC."""
    return fields.AwareDateTime(default_timezone=dt.timezone.utc, validate=_plausible, **kwargs)


class _Strict(Schema):
    """Requests that write ``owner_id`` (server-owned for every other input): unknown fields refused."""

    class Meta:
        unknown = RAISE


class AssignRequest(_Strict):
    """Give the customer to a user (an admin, the pool's admins, a manager)."""
    owner_id = fields.String(required=True, validate=_id)


class ReturnRequest(InputSchema):
    """Give the customer back to a pool, saying why (one of the pool's ``return_reasons`` when it has
    any); ``pool_id`` chooses the pool where the customer may go to several."""
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=500), not_blank])
    pool_id = fields.String(load_default=None, allow_none=True, validate=_id)


class MoveRequest(InputSchema):
    """Move a customer of a pool to another pool (an admin, the pool's admins)."""
    pool_id = fields.String(required=True, validate=_id)


class TransferRequest(_Strict):
    """Give an owned customer to another user; optionally keep the old owner as a team member
    (``read`` / ``read_write``), for good or ``until`` a time."""
    owner_id = fields.String(required=True, validate=_id)
    keep_old_owner = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(ACCESS))
    until = _when(load_default=None, allow_none=True, metadata={
        "description": "the old owner stays a team member until then (needs keep_old_owner; in the future)"})
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500),
                           metadata={"description": "why (kept in the owner history)"})


class CustomerOwnerOut(Schema):
    """One stretch of a customer's owner history: who, from, until, how and why."""
    owner_id = fields.String()
    department_id = fields.String(allow_none=True)
    pool_id = fields.String(allow_none=True, metadata={"description": "the pool it was claimed or assigned from"})
    started_at = fields.DateTime(data_key="from")
    ended_at = fields.DateTime(data_key="until", allow_none=True, metadata={"description": "null: the owner now"})
    start_kind = fields.String(metadata={"description": "created, convert, import, claim, assign, transfer, merge"})
    started_by = fields.String(allow_none=True)
    end_kind = fields.String(allow_none=True, metadata={
        "description": "return, recycle, assign, transfer, merge, delete"})
    end_reason = fields.String(allow_none=True)
    ended_by = fields.String(allow_none=True)


CustomerOwnerList = page_of(CustomerOwnerOut, doc="A customer's owner history, oldest first (next_cursor: null).")


class _ReturnOption(Schema):
    pool_id = fields.String()
    name = fields.String()
    return_reasons = fields.List(fields.String(), metadata={"description": "give one of them (empty: any reason)"})


class ReturnOptionsOut(Schema):
    """Where a customer may be returned, highest priority first, and with which reasons."""
    customer_id = fields.String()
    default_pool_id = fields.String(allow_none=True, metadata={
        "description": "where a return without pool_id goes (the pool it came from, or the only one); null: choose"})
    items = fields.List(fields.Nested(_ReturnOption))


# -- bulk ----------------------------------------------------------------------------------------
def _customer_ids():
    return fields.List(fields.String(validate=_id), required=True, validate=validate.Length(min=1, max=BULK_MAX),
                       metadata={"description": f"at most {BULK_MAX}; each id once (repeats are ignored)"})


class BulkClaimRequest(InputSchema):
    customer_ids = _customer_ids()


class BulkAssignRequest(AssignRequest):
    customer_ids = _customer_ids()


class BulkReturnRequest(ReturnRequest):
    customer_ids = _customer_ids()


class BulkTransferRequest(TransferRequest):
    customer_ids = _customer_ids()


class _BulkItem(Schema):
    customer_id = fields.String()
    status = fields.Integer(metadata={"description": "200, or the status of the item's problem"})
    customer = fields.Dict(allow_none=True, metadata={"description": "the customer after the action (200)"})
    problem = fields.Dict(allow_none=True, metadata={
        "description": "why the item was refused: a problem+json body (type, title, status, detail, ...)"})


class BulkResult(Schema):
    """One result per customer id, in the order given; each item was its own transaction."""
    items = fields.List(fields.Nested(_BulkItem))
    succeeded = fields.Integer()
    failed = fields.Integer()
