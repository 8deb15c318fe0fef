"""The approval engine (审批): what a flow accepts and how it is returned; an approval request with its
steps and decisions; what waits for the caller (``/me/approvals``)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from crm_kit.records.schemas import InputSchema, ListQuery, not_blank, page_of, partial_of
from services.sales.domain.approvals import (
    APPROVER_TYPES,
    MAX_LEVELS,
    MODES,
    REQUEST_STATES,
    RESTARTS,
    ROLES,
    STEP_STATES,
    SUBJECT_KINDS,
)

_id = validate.Length(min=1, max=36)
_money = dict(places=2, as_string=True, allow_none=True, load_default=None)
MAX_STEPS = 20


class ApprovalStepSpec(Schema):
    """A step of a flow. ``approver``: ``user`` (one of ``user_ids``, or all of them with ``mode: all``),
    ``role`` (the active users of ``role``), ``managers`` (the owner's chain of managers ``levels`` up:
    **each level its own step**, decided in turn). ``mode``: ``any`` (或签: one approval passes it) or
    ``all`` (会签: every approver must approve). A rejection by anyone rejects the request."""

    class Meta:
        unknown = RAISE

    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    approver = fields.String(required=True, validate=validate.OneOf(APPROVER_TYPES))
    mode = fields.String(load_default="any", validate=validate.OneOf(MODES))
    user_ids = fields.List(fields.String(validate=_id), load_default=list, validate=validate.Length(max=50))
    role = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(ROLES))
    levels = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_LEVELS))

    @validates_schema
    def _approver(self, data, **kwargs):
        if data.get("approver") == "user" and not data.get("user_ids"):
            raise ValidationError({"user_ids": ["A user step names at least one user."]})
        if data.get("approver") == "role" and not data.get("role"):
            raise ValidationError({"role": ["A role step names its role."]})


class ApprovalFlowCreate(InputSchema):
    """A flow: its conditions (each empty one holds for everything), its steps in order, its priority
    (the highest applying flow is chosen; ties: the oldest), what a resubmission after a rejection
    restarts from, the fallback approver (else the admins), the people copied. No steps: submissions
    it applies to are approved at once."""

    class Meta(InputSchema.Meta):
        server_owned = ("created_by",)

    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), not_blank])
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    active = fields.Boolean(load_default=True)
    priority = fields.Integer(load_default=0, validate=validate.Range(min=-1000, max=1000))
    subject_kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(SUBJECT_KINDS))
    kind = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=50), metadata={
        "description": "the subject's own kind (an order's or contract's type); null: any"})
    currency = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[A-Z]{3}$"))
    min_amount = fields.Decimal(**_money, validate=validate.Range(min=0), metadata={
        "description": "amount >= min_amount (inclusive)"})
    max_amount = fields.Decimal(**_money, validate=validate.Range(min=0), metadata={
        "description": "amount < max_amount (exclusive)"})
    min_discount_percent = fields.Decimal(**_money, validate=validate.Range(min=0, max=100), metadata={
        "description": "discount_percent >= min_discount_percent"})
    department_ids = fields.List(fields.String(validate=_id), load_default=list, validate=validate.Length(max=200),
                                 metadata={"description": "the owner's department is one of them; empty: any"})
    restart = fields.String(load_default="first", validate=validate.OneOf(RESTARTS), metadata={
        "description": "after a rejection, the next submission starts from the first step, or from the "
                       "rejected one (the steps approved before it are kept)"})
    fallback_approver_id = fields.String(load_default=None, allow_none=True, validate=_id)
    cc_user_ids = fields.List(fields.String(validate=_id), load_default=list, validate=validate.Length(max=50))
    steps = fields.List(fields.Nested(ApprovalStepSpec), load_default=list, validate=validate.Length(max=MAX_STEPS))

    @validates_schema
    def _amounts(self, data, **kwargs):
        low, high = data.get("min_amount"), data.get("max_amount")
        if low is not None and high is not None and low >= high:
            raise ValidationError({"max_amount": ["Must be more than min_amount."]})


ApprovalFlowUpdate = partial_of(ApprovalFlowCreate, "ApprovalFlowUpdate",
                                doc="Partial update of a flow: only the fields given change; `steps` replaces "
                                    "every step. Requests already made keep the steps they were given.")


class ApprovalFlowListQuery(ListQuery):
    subject_kind = fields.String(load_default=None, validate=validate.OneOf(SUBJECT_KINDS))
    active = fields.Boolean(load_default=None)


class ApprovalFlowStepOut(Schema):
    position = fields.Integer(required=True)
    name = fields.String(allow_none=True)
    approver = fields.String(required=True)
    mode = fields.String(required=True)
    user_ids = fields.List(fields.String())
    role = fields.String(allow_none=True)
    levels = fields.Integer()


class ApprovalFlowOut(Schema):
    """An approval flow and its steps."""
    id = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(allow_none=True)
    active = fields.Boolean()
    priority = fields.Integer()
    subject_kind = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    min_amount = fields.Decimal(places=2, as_string=True, allow_none=True)
    max_amount = fields.Decimal(places=2, as_string=True, allow_none=True)
    min_discount_percent = fields.Decimal(places=2, as_string=True, allow_none=True)
    department_ids = fields.List(fields.String())
    restart = fields.String()
    fallback_approver_id = fields.String(allow_none=True)
    cc_user_ids = fields.List(fields.String())
    steps = fields.List(fields.Nested(ApprovalFlowStepOut))
    created_by = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


ApprovalFlowList = page_of(ApprovalFlowOut)


class ApprovalApproverOut(Schema):
    user_id = fields.String(required=True)
    decision = fields.String(allow_none=True, metadata={"description": "approve | reject | null (not yet)"})


class ApprovalRequestStepOut(Schema):
    """A step of a request: ``source`` says how its approvers were found (user, role, managers,
    fallback_user, fallback_admins)."""
    position = fields.Integer(required=True)
    name = fields.String()
    mode = fields.String()
    source = fields.String()
    state = fields.String(validate=validate.OneOf(STEP_STATES))
    approver_ids = fields.List(fields.String())
    approvers = fields.List(fields.Nested(ApprovalApproverOut))
    carried_from_request_id = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)


class ApprovalDecisionOut(Schema):
    """One decision: approve, reject, skip (the submitter was the step's only approver), withdraw."""
    id = fields.String(required=True)
    request_id = fields.String()
    position = fields.Integer(allow_none=True)
    user_id = fields.String(allow_none=True)
    decision = fields.String()
    comment = fields.String(allow_none=True)
    decided_at = fields.DateTime()


class ApprovalRequestOut(Schema):
    """An approval request (one submission of an order, quote or contract), its steps and decisions.
    ``decisions`` holds this request's own, and those of the steps it carried from the rejected
    request before it (``restart: rejected``)."""
    id = fields.String(required=True)
    subject_kind = fields.String()
    subject_id = fields.String()
    round = fields.Integer()
    flow_id = fields.String(allow_none=True)
    flow_name = fields.String()
    restart = fields.String()
    previous_request_id = fields.String(allow_none=True)
    submitted_by = fields.String()
    owner_id = fields.String(allow_none=True)
    department_id = fields.String(allow_none=True)
    amount = fields.Decimal(places=2, as_string=True, allow_none=True)
    discount_percent = fields.Decimal(places=2, as_string=True, allow_none=True)
    currency = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    state = fields.String(validate=validate.OneOf(REQUEST_STATES))
    current_step = fields.Integer(allow_none=True, attribute="current_position")
    steps = fields.List(fields.Nested(ApprovalRequestStepOut))
    decisions = fields.List(fields.Nested(ApprovalDecisionOut))
    cc_user_ids = fields.List(fields.String())
    submitted_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)


class MyApprovalQuery(ListQuery):
    kind = fields.String(load_default=None, validate=validate.OneOf(("approve", "cc")), metadata={
        "description": "approve: steps waiting for the caller's decision; cc: requests the caller is copied on"})
    subject_kind = fields.String(load_default=None, validate=validate.OneOf(SUBJECT_KINDS))


class MyApprovalOut(Schema):
    """Something waiting for the caller: a step to decide (``kind: approve``, decided on the subject's
    own ``/approve`` or ``/reject`` route), or a request they are copied on (``kind: cc``)."""
    request_id = fields.String(required=True)
    kind = fields.String(required=True)
    subject_kind = fields.String()
    subject_id = fields.String()
    submitted_by = fields.String()
    owner_id = fields.String(allow_none=True)
    amount = fields.Decimal(places=2, as_string=True, allow_none=True)
    currency = fields.String(allow_none=True)
    state = fields.String()
    step = fields.Integer(allow_none=True)
    step_name = fields.String(allow_none=True)
    submitted_at = fields.DateTime()


MyApprovalList = page_of(MyApprovalOut, doc="A page of what waits for the caller, newest request first.")
