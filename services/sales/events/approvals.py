"""The events of the approval engine (exchange ``sales.events``).

- ``approval_requested``  a step of a request now waits for its approvers (on submission, and each
                          time a step passes and the next one starts): notify ``approver_ids``
- ``approval_decided``    a decision on a request (approve, reject, withdraw; or ``approve`` with
                          ``decided_by: null`` when every step was skipped): ``state`` is the
                          request's after it (``pending`` while more steps remain)

Both are dumped from the request itself; the step's position and approvers, the decision, its
comment and who made it go as keywords.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_kit.runtime.events import EventType
from services.sales.domain.approvals import REQUEST_STATES, SUBJECT_KINDS

__all__ = ["ApprovalRequestedPayload", "ApprovalDecidedPayload", "APPROVAL_REQUESTED", "APPROVAL_DECIDED"]


class _ApprovalPayload(Schema):
    id = fields.String(required=True, metadata={"description": "The approval request's id."})
    subject_kind = fields.String(required=True, validate=validate.OneOf(SUBJECT_KINDS))
    subject_id = fields.String(required=True)
    round = fields.Integer(required=True, metadata={"description": "1 for the first submission, 2 for the next..."})
    step = fields.Integer(required=True, allow_none=True, metadata={"description": "The step's position (0-based)."})
    step_name = fields.String(required=True, allow_none=True)
    approver_ids = fields.List(fields.String(), required=True)
    decision = fields.String(required=True, allow_none=True,
                             validate=validate.OneOf(("approve", "reject", "withdraw")))
    comment = fields.String(required=True, allow_none=True)
    decided_by = fields.String(required=True, allow_none=True)
    state = fields.String(required=True, validate=validate.OneOf(REQUEST_STATES))
    submitted_by = fields.String(required=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    amount = fields.Decimal(required=True, allow_none=True, places=2, as_string=True)
    currency = fields.String(required=True, allow_none=True)
    flow_id = fields.String(required=True, allow_none=True)
    cc_user_ids = fields.List(fields.String(), required=True)
    occurred_at = fields.DateTime(required=True)


class ApprovalRequestedPayload(_ApprovalPayload):
    """A step waits for ``approver_ids`` (``decision``, ``comment``, ``decided_by``: null)."""


class ApprovalDecidedPayload(_ApprovalPayload):
    """A decision was made on step ``step`` by ``decided_by``; ``state``: the request's now."""


_EXAMPLE = {"id": "01933b50-1f00-7a00-8000-0000000aa001", "subject_kind": "order",
            "subject_id": "01933b50-1f00-7a00-8000-0000000bb001", "round": 1, "step": 0, "step_name": "Manager",
            "approver_ids": ["01933b50-1f00-7a00-8000-00000000a001"],
            "submitted_by": "01933b50-1f00-7a00-8000-00000000a002",
            "owner_id": "01933b50-1f00-7a00-8000-00000000a002", "department_id": "01933b50-1f00-7a00-8000-00000000d001",
            "amount": "12800.00", "currency": "CNY", "flow_id": None, "cc_user_ids": [],
            "occurred_at": "2026-03-02T08:00:00+00:00"}

APPROVAL_REQUESTED = EventType(
    "approval_requested", ApprovalRequestedPayload, version=1,
    description="A step of an approval request (order, quote, contract) waits for its approvers.",
    example={**_EXAMPLE, "decision": None, "comment": None, "decided_by": None, "state": "pending"})
APPROVAL_DECIDED = EventType(
    "approval_decided", ApprovalDecidedPayload, version=1,
    description="A decision on an approval request: approve, reject or withdraw; state is the request's after it.",
    example={**_EXAMPLE, "decision": "approve", "comment": "OK within the discount policy",
             "decided_by": "01933b50-1f00-7a00-8000-00000000a001", "state": "approved"})
