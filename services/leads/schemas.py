"""What the leads RPC API accepts and returns (marshmallow).

Inputs derive from ``InputSchema``: unknown fields are refused, and fields the
server owns (``id``, ``owner_id``, ``status``, ``version``, ``created_at``,
``updated_at``, ``department_id`` and each schema's ``Meta.server_owned``) are
refused with 422 "set by the server". ``LeadUpdate`` is partial: only the fields
given change.

The RPC API's schemas are collected from this module (``crm_kit.records.schemas.api_schemas``: each
under its name without a trailing ``Out``); a name starting with ``_`` is internal (nested in another,
or a base). Pages of a list are ``page_of(<Item>Out)``.
"""
from __future__ import annotations

import datetime as dt

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from crm_kit.records.jsonschema import documented
from crm_kit.records.phones import PHONE_PATTERN, phone_number  # noqa: F401  (PHONE_PATTERN: tests, docs)
from crm_kit.records.schemas import InputSchema, ListQuery, not_blank, page_of, partial_of
from services.leads.domain import (
    DEFAULT_DISTRIBUTION,
    DEFAULT_SOURCE,
    DISTRIBUTIONS,
    FOLLOW_UP_KINDS,
    SOURCES,
    STATUSES,
    pool_rule_errors,
)

EARLIEST_YEAR, LATEST_YEAR = 1900, 8999
YEAR_PATTERN = r"^(?:19[0-9]{2}|[2-8][0-9]{3})-"     # the year as written: 1900 to 8999


@documented({"pattern": YEAR_PATTERN, "description": f"Years {EARLIEST_YEAR} to {LATEST_YEAR}."})
def _plausible(value: dt.datetime | None) -> None:
    # Far-off years overflow date arithmetic and time zone conversion: refuse them as input.
    if value is not None and not (EARLIEST_YEAR <= value.year <= LATEST_YEAR):
        raise ValidationError(f"The year must be between {EARLIEST_YEAR} and {LATEST_YEAR}.")


def _when(**kwargs):
    """A time in ISO 8601; one without an offset is taken as UTC."""
    return fields.AwareDateTime(default_timezone=dt.timezone.utc, validate=_plausible, **kwargs)


class LeadCreate(InputSchema):
    """A new lead: the caller owns it (``pending``); with ``pool_id`` it is a pool lead, distributed
    by the pool's rules (default assignee, round robin, least loaded) or left ``unassigned``."""

    class Meta(InputSchema.Meta):
        server_owned = ("last_followed_at", "customer_id", "contact_id", "opportunity_id", "converted_at",
                        "phone_key", "created_by", "assigned_at", "first_response_at", "sla_due_at",
                        "sla_breached", "next_contact_at", "previous_owner_id", "return_reason")

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    company = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    phone = fields.String(load_default=None, allow_none=True, validate=[validate.Length(max=40), phone_number])
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    source = fields.String(load_default=DEFAULT_SOURCE, validate=validate.OneOf(SOURCES))
    campaign_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))
    region = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    industry = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    pool_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))


# pool_id changes only through the pool actions (assign, claim, return), never by an edit.
LeadUpdate = partial_of(LeadCreate, "LeadUpdate", exclude=("pool_id",),
                        doc="Edit a lead: only the fields given change; server-owned fields are refused.")


class _OpportunityRequest(InputSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    amount = fields.Decimal(required=True, places=2, as_string=True, validate=validate.Range(min=0))
    expected_close_date = fields.Date(load_default=None, allow_none=True)


class ConvertRequest(InputSchema):
    """Convert a lead; optionally ask sales for an opportunity."""

    opportunity = fields.Nested(_OpportunityRequest, load_default=None, allow_none=True)


class _LeadFilters(Schema):
    """The lead list's filters (all optional, combined with AND)."""

    class Meta:
        unknown = RAISE

    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    pool_id = fields.String(load_default=None, validate=validate.Length(max=36))
    owner_id = fields.String(load_default=None, validate=validate.Length(max=36))
    source = fields.String(load_default=None, validate=validate.OneOf(SOURCES))
    campaign_id = fields.String(load_default=None, validate=validate.Length(max=36))
    created_from = _when(load_default=None, metadata={"description": "created at or after"})
    created_to = _when(load_default=None, metadata={"description": "created before"})
    sla_breached = fields.Boolean(load_default=None, allow_none=True,
                                  metadata={"description": "past the pool's first-response target"})
    q = fields.String(load_default=None, validate=validate.Length(min=1, max=100),
                      metadata={"description": "text in name, company or phone"})


class LeadListQuery(ListQuery, _LeadFilters):
    """Filters of the lead list (all optional, combined with AND); newest first, keyset-paginated."""


class LeadExportQuery(_LeadFilters):
    """The lead list's filters. The export has every lead they match (newest first), streamed; ``limit``
    (optional) keeps only the first rows."""
    limit = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1),
                           metadata={"description": "at most this many rows (default: every matching lead)"})


class LeadOut(Schema):
    """A lead as every RPC returns it."""
    id = fields.String()
    name = fields.String()
    company = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    source = fields.String()
    campaign_id = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    status = fields.String()
    pool_id = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    department_id = fields.String(allow_none=True)
    last_followed_at = fields.DateTime(allow_none=True)
    customer_id = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    opportunity_id = fields.String(allow_none=True)
    converted_at = fields.DateTime(allow_none=True)
    assigned_at = fields.DateTime(allow_none=True, metadata={"description": "when the current owner got it"})
    first_response_at = fields.DateTime(allow_none=True,
                                        metadata={"description": "first follow-up since the assignment"})
    sla_due_at = fields.DateTime(allow_none=True, metadata={"description": "first-response target (pool)"})
    sla_breached = fields.Boolean(metadata={"description": "past the first-response target"})
    next_contact_at = fields.DateTime(allow_none=True, metadata={"description": "from the latest follow-up"})
    previous_owner_id = fields.String(allow_none=True)
    return_reason = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


LeadList = page_of(LeadOut)


class HistoryQuery(ListQuery):
    """``limit`` and ``cursor`` of a record's audit history."""


# -- actions ---------------------------------------------------------------------
class AssignRequest(Schema):
    """Give the lead to a user (pool admin, manager or admin)."""

    class Meta:
        unknown = "raise"   # not an InputSchema: owner_id is what this request writes
    owner_id = fields.String(required=True, validate=validate.Length(min=1, max=36))


class ReturnRequest(InputSchema):
    """Give the lead back to its pool, saying why."""
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=500), not_blank])


# -- follow-ups ------------------------------------------------------------------
class FollowUpCreate(InputSchema):
    """A follow-up record: what was done, how it went, when to contact again."""

    class Meta(InputSchema.Meta):
        server_owned = ("lead_id", "author_id")

    kind = fields.String(required=True, validate=validate.OneOf(FOLLOW_UP_KINDS))
    content = fields.String(required=True, validate=[validate.Length(min=1, max=5000), not_blank])
    outcome = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    next_contact_at = _when(load_default=None, allow_none=True)


class FollowUpOut(Schema):
    id = fields.String()
    lead_id = fields.String()
    kind = fields.String()
    content = fields.String()
    outcome = fields.String(allow_none=True)
    next_contact_at = fields.DateTime(allow_none=True)
    author_id = fields.String(allow_none=True)
    created_at = fields.DateTime()


FollowUpList = page_of(FollowUpOut)


class FollowUpListQuery(ListQuery):
    """``limit`` and ``cursor`` of a lead's follow-ups (newest first)."""


# -- reminders -------------------------------------------------------------------
class ReminderQuery(Schema):
    """``due_before`` (default now): reminders due up to then."""

    class Meta:
        unknown = "raise"

    due_before = _when(load_default=None, allow_none=True)
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=200))


class _Reminder(Schema):
    kind = fields.String(metadata={"description": "next_contact | recycle_warning"})
    lead_id = fields.String()
    lead_name = fields.String()
    company = fields.String(allow_none=True)
    pool_id = fields.String(allow_none=True)
    due_at = fields.DateTime(metadata={"description": "next contact time, or when the lead will be recycled"})


ReminderList = page_of(_Reminder, "ReminderList", doc="The caller's reminders, by due_at (next_cursor: null).")


# -- pools -----------------------------------------------------------------------
_days = dict(validate=validate.Range(min=1, max=3650))


class LeadPoolCreate(InputSchema):
    """A lead pool (线索池) and its rules; ``null`` limits mean no limit. Rules between fields:
    ``default_assignee_id`` only in a ``manual`` pool, and one of its ``member_ids``;
    ``recycle_warning_days`` needs ``recycle_after_days`` and must be fewer days; every id in
    ``admin_ids`` / ``member_ids`` is a user's."""

    class Meta(InputSchema.Meta):
        server_owned = ("rr_cursor", "created_by")

    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), not_blank])
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    admin_ids = fields.List(fields.String(validate=validate.Length(min=1, max=36)), load_default=list,
                            validate=validate.Length(max=200))
    member_ids = fields.List(fields.String(validate=validate.Length(min=1, max=36)), load_default=list,
                             validate=validate.Length(max=1000))
    distribution = fields.String(load_default=DEFAULT_DISTRIBUTION, validate=validate.OneOf(DISTRIBUTIONS))
    default_assignee_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=36))
    claiming_enabled = fields.Boolean(load_default=True)
    max_held = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100000))
    max_claims_per_day = fields.Integer(load_default=None, allow_none=True,
                                        validate=validate.Range(min=0, max=100000))
    reclaim_cooldown_days = fields.Integer(load_default=0, validate=validate.Range(min=0, max=3650))
    recycle_after_days = fields.Integer(load_default=None, allow_none=True, **_days)
    recycle_warning_days = fields.Integer(load_default=None, allow_none=True, **_days)
    first_response_hours = fields.Integer(load_default=None, allow_none=True,
                                          validate=validate.Range(min=1, max=87600))

    @validates_schema
    def _rules(self, data, partial=None, **kwargs):
        """The configuration rule (``services.leads.domain.pools``) within the request; an update is
        checked on the pool as it leaves it (``domain.pool_update``)."""
        if partial:
            return
        errors = pool_rule_errors(data)
        if errors:
            raise ValidationError(errors)


LeadPoolUpdate = partial_of(LeadPoolCreate, "LeadPoolUpdate",
                            doc="Change a pool: only the fields given change (admin_ids / member_ids replace "
                                "the whole list). The rules between fields hold for the pool as changed: "
                                "default_assignee_id only in a manual pool and one of its members; "
                                "recycle_warning_days fewer than recycle_after_days.")


class LeadPoolOut(Schema):
    id = fields.String()
    name = fields.String()
    description = fields.String(allow_none=True)
    admin_ids = fields.List(fields.String())
    member_ids = fields.List(fields.String())
    distribution = fields.String()
    default_assignee_id = fields.String(allow_none=True)
    claiming_enabled = fields.Boolean()
    max_held = fields.Integer(allow_none=True)
    max_claims_per_day = fields.Integer(allow_none=True)
    reclaim_cooldown_days = fields.Integer()
    recycle_after_days = fields.Integer(allow_none=True)
    recycle_warning_days = fields.Integer(allow_none=True)
    first_response_hours = fields.Integer(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


LeadPoolList = page_of(LeadPoolOut)


class LeadPoolListQuery(ListQuery):
    """Pools the caller administers or works in (admins: every pool)."""


class RecycleRequest(InputSchema):
    """Run the pool's recycle rule now, as of ``as_of`` (default now)."""
    as_of = _when(load_default=None, allow_none=True)


class RecycleResult(Schema):
    pool_id = fields.String()
    as_of = fields.DateTime()
    recycled = fields.List(fields.String(), metadata={"description": "ids of the leads sent back"})


# -- import / export ---------------------------------------------------------------
class _ImportRow(Schema):
    row = fields.Integer(metadata={"description": "line number in the file (header = 1)"})
    outcome = fields.String(metadata={"description": "created | duplicate | invalid"})
    id = fields.String(allow_none=True, metadata={"description": "the lead created"})
    existing_id = fields.String(allow_none=True, metadata={"description": "the live lead with this phone"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "field -> reasons (invalid rows)"})


class ImportReport(Schema):
    created = fields.Integer()
    duplicates = fields.Integer()
    invalid = fields.Integer()
    rows = fields.List(fields.Nested(_ImportRow))
