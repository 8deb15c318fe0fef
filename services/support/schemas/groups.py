"""Support groups (their agents' skills and capacity, their business calendar) and SLA policies."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from crm_kit.records.schemas import InputSchema, ListQuery, page_of, partial_of
from services.support.domain import tickets as rules
from services.support.domain.sla_policies import calendar_from
from services.support.schemas.common import ident, text

MAX_MEMBERS = 500


class GroupMemberIn(Schema):
    class Meta:
        unknown = "raise"

    user_id = ident(required=True)
    role = fields.String(load_default="agent", validate=validate.OneOf(("agent", "lead")))
    categories = fields.List(fields.String(validate=validate.OneOf(rules.CATEGORIES)), load_default=list,
                             metadata={"description": "Skills: empty = every category."})
    products = fields.List(ident(), load_default=list, validate=validate.Length(max=200),
                           metadata={"description": "Product ids: empty = every product."})
    capacity = fields.Integer(load_default=20, validate=validate.Range(min=0, max=10000))
    active = fields.Boolean(load_default=True)


class SupportGroupCreate(InputSchema):
    """A group with its agents (replaced whole on update) and its calendar: ``{tz, week: {"0": [[540,
    1080]], ...}, holidays: [dates], workdays: [dates], workday_periods}`` (weekday 0 = Monday, minutes
    of the local day); null: Asia/Shanghai, Monday to Friday 09:00-18:00."""
    name = text(100, required=True)
    department_id = ident(load_default=None, allow_none=True)
    calendar = fields.Dict(load_default=None, allow_none=True)
    members = fields.List(fields.Nested(GroupMemberIn), load_default=list, validate=validate.Length(max=MAX_MEMBERS))

    @validates("members")
    def _members(self, value, **kwargs):
        seen = [m["user_id"] for m in value or ()]
        twice = sorted({u for u in seen if seen.count(u) > 1})
        if twice:
            raise ValidationError(f"An agent is listed once: {', '.join(twice)} more than once.")

    @validates("calendar")
    def _calendar(self, value, **kwargs):
        try:
            calendar_from(value)
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValidationError(f"Not a business calendar: {exc}") from None


SupportGroupUpdate = partial_of(SupportGroupCreate, "SupportGroupUpdate")


class GroupMemberOut(Schema):
    user_id = fields.String()
    role = fields.String()
    categories = fields.List(fields.String())
    products = fields.List(fields.String())
    capacity = fields.Integer()
    active = fields.Boolean()
    last_assigned_at = fields.DateTime(allow_none=True)


class SupportGroupOut(Schema):
    id = fields.String()
    name = fields.String()
    department_id = fields.String(allow_none=True)
    calendar = fields.Dict(allow_none=True)
    members = fields.List(fields.Nested(GroupMemberOut))
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


SupportGroupList = page_of(SupportGroupOut)


class SupportGroupListQuery(ListQuery):
    pass


def _minutes(**kwargs):
    return fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=366 * 24 * 60),
                          **kwargs)


class SlaPolicySet(InputSchema):
    """The policy of a priority (and optionally a customer level: it wins over the any-level one):
    business minutes for each clock (null: that clock does not run)."""
    name = text(100, required=True)
    priority = fields.String(required=True, validate=validate.OneOf(rules.PRIORITIES))
    customer_level = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=10))
    first_response_minutes = _minutes()
    resolution_minutes = _minutes()
    arrival_minutes = _minutes()
    warn_fraction = fields.Float(load_default=0.8, validate=validate.Range(min=0.05, max=1.0))


class SlaPolicyOut(Schema):
    id = fields.String(allow_none=True, metadata={"description": "null: a default (not stored)."})
    name = fields.String()
    priority = fields.String()
    customer_level = fields.String(allow_none=True)
    first_response_minutes = fields.Integer(allow_none=True)
    resolution_minutes = fields.Integer(allow_none=True)
    arrival_minutes = fields.Integer(allow_none=True)
    warn_fraction = fields.Float()


class SlaPolicyList(Schema):
    items = fields.List(fields.Nested(SlaPolicyOut), required=True)
    defaults = fields.List(fields.Nested(SlaPolicyOut), required=True, metadata={
        "description": "What a priority without a stored policy runs by."})


class SlaRunRequest(InputSchema):
    as_of = fields.AwareDateTime(load_default=None, allow_none=True, metadata={"description": "Default now."})
    dry_run = fields.Boolean(load_default=False)


class SlaRunResult(Schema):
    """What the SLA rule raised (or, ``dry_run``, would raise), as of ``as_of``."""
    as_of = fields.DateTime()
    dry_run = fields.Boolean()
    checked = fields.Integer(metadata={"description": "Tickets looked at (next_sla_check_at due)."})
    count = fields.Integer(metadata={"description": "Warnings and breaches raised."})
    flags = fields.List(fields.Dict(), metadata={"description": "The first 100: ticket_id, number, clock, kind."})
    events = fields.Dict(keys=fields.String(), values=fields.Integer())
