"""A receivable (应收) with its payment plan (回款计划): how every RPC returns it, its list's filters,
writing it off, setting its plan, and running the overdue rule now."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_kit.records.schemas import InputSchema, ListQuery, page_of
from services.billing.domain import plans, receivables
from services.billing.schemas.common import amount_in, day, ident, money, reason, when


class InstalmentOut(Schema):
    """An instalment of the live plan: its share of what is paid, and its status."""
    id = fields.String()
    number = fields.Integer()
    amount = money()
    paid_amount = money()
    outstanding_amount = money()
    due_date = fields.Date()
    remind_days_before = fields.Integer()
    status = fields.String(metadata={"description": ", ".join(plans.STATUSES)})
    overdue_at = fields.DateTime(allow_none=True)
    reminded_at = fields.DateTime(allow_none=True)


class ReceivableOut(Schema):
    """A receivable: amount, paid (confirmed payments less refunds), pending (awaiting review),
    outstanding (amount − paid), due date, status, and its live plan's instalments."""
    id = fields.String()
    order_id = fields.String()
    order_number = fields.String()
    contract_id = fields.String(allow_none=True)
    customer_id = fields.String()
    owner_id = fields.String(allow_none=True)
    department_id = fields.String(allow_none=True)
    currency = fields.String()
    amount = money()
    paid_amount = money()
    pending_amount = money()
    outstanding_amount = money()
    payment_terms = fields.String(allow_none=True)
    terms_due_date = fields.Date(allow_none=True)
    due_date = fields.Date(allow_none=True, metadata={
        "description": "The payment terms' due date; with a plan, its last instalment's."})
    status = fields.String(metadata={"description": ", ".join(receivables.STATUSES)})
    allowed_actions = fields.List(fields.String())
    plan_revision = fields.Integer(metadata={"description": "0: no plan yet."})
    instalments = fields.List(fields.Nested(InstalmentOut), attribute="plan")
    opened_at = fields.DateTime()
    overdue_at = fields.DateTime(allow_none=True)
    settled_at = fields.DateTime(allow_none=True)
    written_off_at = fields.DateTime(allow_none=True)
    written_off_by = fields.String(allow_none=True)
    written_off_reason = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    closed_reason = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


ReceivableList = page_of(ReceivableOut)


class ReceivableListQuery(ListQuery):
    """Filters of the receivables list (in scope, newest first)."""
    status = fields.String(load_default=None, validate=validate.OneOf(receivables.STATUSES))
    customer_id = ident(load_default=None)
    order_id = ident(load_default=None)
    owner_id = ident(load_default=None)
    due_before = day(load_default=None, metadata={"description": "Due before this day (exclusive)."})


class ReceivableWriteOff(InputSchema):
    """Give up what is outstanding (finance), with the reason."""
    reason = reason(required=True)


class InstalmentIn(Schema):
    class Meta:
        unknown = "raise"

    amount = amount_in(required=True)
    due_date = day(required=True)
    remind_days_before = fields.Integer(load_default=plans.DEFAULT_REMIND_DAYS, validate=validate.Range(
        min=0, max=plans.MAX_REMIND_DAYS), metadata={"description": "Days before the due date the owner is reminded."})


class PlanSet(InputSchema):
    """The receivable's new plan: its instalments must add up to the receivable's amount (422
    stating the difference otherwise); they are numbered by due date. It replaces the live plan."""
    instalments = fields.List(fields.Nested(InstalmentIn), required=True,
                              validate=validate.Length(min=1, max=plans.MAX_INSTALMENTS))


class PlanOut(Schema):
    """A receivable's live plan (``revision`` 0 and no instalments: none yet)."""
    receivable_id = fields.String(attribute="id")
    revision = fields.Integer(attribute="plan_revision")
    currency = fields.String()
    amount = money()
    paid_amount = money()
    outstanding_amount = money()
    instalments = fields.List(fields.Nested(InstalmentOut), attribute="plan")


class OverdueRunRequest(InputSchema):
    as_of = when(load_default=None, allow_none=True, metadata={"description": "Default now."})
    dry_run = fields.Boolean(load_default=False)


class OverdueRunResult(Schema):
    """What the overdue rule did (or, ``dry_run``, would do), as of ``as_of``."""
    as_of = fields.DateTime()
    dry_run = fields.Boolean()
    count = fields.Integer(metadata={"description": "Receivables marked overdue."})
    receivable_ids = fields.List(fields.String(), metadata={"description": "The first 100 of them."})
    instalments = fields.Integer(metadata={"description": "Instalments marked overdue."})
    events = fields.Dict(keys=fields.String(), values=fields.Integer())
