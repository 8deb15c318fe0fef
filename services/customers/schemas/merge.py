"""Merging a duplicate customer into another: the request and what it answers."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_kit.records.schemas import InputSchema
from services.customers.schemas.records import CustomerOut


class MergeRequest(InputSchema):
    """``duplicate_id``: the customer that goes into this one (and is deleted)."""
    duplicate_id = fields.String(required=True, validate=validate.Length(min=1, max=36))


class _Moved(Schema):
    contacts = fields.Integer()
    follow_ups = fields.Integer()
    tags = fields.Integer(metadata={"description": "tags the survivor did not have"})
    team_members = fields.Integer(metadata={"description": "members added or given a stronger access"})
    owner_history = fields.Integer(metadata={"description": "stretches of ownership"})
    business = fields.Integer(metadata={"description": "opportunities, orders, contracts, payments"})
    fields_filled = fields.List(fields.String(), metadata={"description": "fields the survivor had left blank"})


class CustomerMergeOut(Schema):
    """A merge: which customer went into which, by whom, when, and what moved."""
    id = fields.String()
    survivor_id = fields.String()
    merged_id = fields.String(metadata={"description": "gone: a request for it answers 404 naming the survivor"})
    merged_name = fields.String()
    merged_by = fields.String(allow_none=True)
    merged_at = fields.DateTime()
    moved = fields.Nested(_Moved)


class MergeResult(Schema):
    customer = fields.Nested(CustomerOut, metadata={"description": "the survivor, after the merge"})
    merge = fields.Nested(CustomerMergeOut)
