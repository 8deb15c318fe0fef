"""A customer's follow-ups (跟进记录): what recording one accepts, and how they are returned."""
from __future__ import annotations

import datetime as dt

from marshmallow import Schema, ValidationError, fields, validate

from crm_kit.records.jsonschema import documented
from crm_kit.records.schemas import InputSchema, ListQuery, not_blank, page_of
from services.customers.domain.follow_ups import FOLLOW_UP_KINDS

EARLIEST_YEAR, LATEST_YEAR = 1900, 8999
YEAR_PATTERN = r"^(?:19[0-9]{2}|[2-8][0-9]{3})-"     # the year as written: 1900 to 8999


@documented({"pattern": YEAR_PATTERN, "description": f"Years {EARLIEST_YEAR} to {LATEST_YEAR}."})
def _plausible(value: dt.datetime | None) -> None:
    # Far-off years overflow date arithmetic and time zone conversion: refuse them as input.
    if value is not None and not (EARLIEST_YEAR <= value.year <= LATEST_YEAR):
        raise ValidationError(f"The year must be between {EARLIEST_YEAR} and {LATEST_YEAR}.")


def when(**kwargs):
    """A time in ISO 8601; one without an offset is taken as UTC."""
    return fields.AwareDateTime(default_timezone=dt.timezone.utc, validate=_plausible, **kwargs)


class FollowUpCreate(InputSchema):
    """A follow-up activity on a customer: what was done (``kind``, ``content``), optionally with one
    of the customer's contacts, how it went (``outcome``) and when to contact again
    (``next_contact_at``: the customer's next contact time, a reminder for its owner; null clears it)."""

    class Meta(InputSchema.Meta):
        server_owned = ("customer_id", "author_id")

    kind = fields.String(required=True, validate=validate.OneOf(FOLLOW_UP_KINDS))
    content = fields.String(required=True, validate=[validate.Length(min=1, max=5000), not_blank])
    contact_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=36),
                               metadata={"description": "one of the customer's contacts"})
    outcome = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    next_contact_at = when(load_default=None, allow_none=True)


class FollowUpOut(Schema):
    """A follow-up as every RPC returns it."""
    id = fields.String()
    customer_id = fields.String()
    contact_id = fields.String(allow_none=True)
    kind = fields.String()
    content = fields.String()
    outcome = fields.String(allow_none=True)
    next_contact_at = fields.DateTime(allow_none=True)
    author_id = fields.String(allow_none=True)
    created_at = fields.DateTime()


FollowUpList = page_of(FollowUpOut)


class FollowUpListQuery(ListQuery):
    """``limit`` and ``cursor`` of a customer's follow-ups (newest first)."""
