"""The caller's reminders from customers (``customer_reminders``): the query and the list, in the
shape of leads' ``lead_reminders`` so that the two lists merge (``GET /api/v1/me/reminders``)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_kit.records.schemas import page_of
from services.customers.domain.reminders import KINDS
from services.customers.schemas.follow_ups import when


class ReminderQuery(Schema):
    """``due_before`` (default now): reminders due up to then (birthdays: from today, 00:00 UTC);
    ``limit``: the first that many, by ``due_at``. The same query as leads' ``lead_reminders``."""

    class Meta:
        unknown = "raise"

    due_before = when(load_default=None, allow_none=True)
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=200))


class _Reminder(Schema):
    kind = fields.String(validate=validate.OneOf(KINDS),
                         metadata={"description": "next_contact | recycle_warning | birthday"})
    customer_id = fields.String()
    customer_name = fields.String()
    contact_id = fields.String(allow_none=True, metadata={"description": "birthday: the contact (null: the "
                                                                         "customer itself, a person)"})
    contact_name = fields.String(allow_none=True)
    pool_id = fields.String(allow_none=True, metadata={"description": "recycle_warning: the pool that will take it"})
    due_at = fields.DateTime(metadata={"description": "the next contact time; when the customer will be "
                                                      "recycled; 00:00 UTC of the birthday"})


ReminderList = page_of(_Reminder, "ReminderList",
                       doc="The caller's reminders from customers, by due_at (next_cursor: null).")
