"""The lists of customers and contacts: their queries (preset views, filters, the sort) and pages."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from crm_kit.records.schemas import ListQuery, page_of
from services.customers.domain import DEAL_STATUSES, KINDS, LEVELS, SOURCES
from services.customers.domain.geo import MAX_RADIUS_KM
from services.customers.domain.views import DEFAULT_SCOPE, SCOPES
from services.customers.schemas.follow_ups import when
from services.customers.schemas.records import ContactOut, CustomerOut

# sort key -> the indexed column it orders by (``application.queries``); without one, newest first. Every
# sort offered here has its (column, id) index (``models.records``); a filter needs none of its own.
CUSTOMER_SORTS = ("created_at", "updated_at", "name", "last_followed_at", "level")
CONTACT_SORTS = ("created_at", "updated_at", "name")
DIRECTIONS = ("desc", "asc")
MAX_TAGS = 20


class CommaList(fields.List):
    """A list given in a query string: ``a,b,c`` (or a JSON list over RPC)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return super()._deserialize(value, attr, data, **kwargs)


def _text(max_len: int, **kwargs):
    return fields.String(load_default=None, validate=validate.Length(min=1, max=max_len), **kwargs)


class _ViewQuery(ListQuery):
    scope = fields.String(load_default=DEFAULT_SCOPE, validate=validate.OneOf(SCOPES), metadata={
        "description": "Preset view inside the data scope: all, mine (I own), team (I am on its team), "
                       "subordinates (owned by others in my department subtree)."})
    direction = fields.String(load_default="desc", validate=validate.OneOf(DIRECTIONS))
    owner_id = _text(36)
    created_from = when(load_default=None, metadata={"description": "created at or after"})
    created_to = when(load_default=None, metadata={"description": "created before"})
    name = _text(200, metadata={"description": "the name starts with this (case- and space-insensitive for "
                                               "customers)"})
    phone = fields.String(load_default=None, validate=validate.Length(min=3, max=40), metadata={
        "description": "this phone (normalised: +86, spaces and dashes do not matter)"})


class CustomerListQuery(_ViewQuery):
    """A customer list: a preset view, filters (all must match), and a sort among indexed columns
    (ties broken by id; a cursor holds the last row's sort value and id)."""
    sort = fields.String(load_default=None, validate=validate.OneOf(CUSTOMER_SORTS), metadata={
        "description": "Sort column (default: newest first). name sorts by the normalised name, in byte (code "
                       "point) order; rows without a value (level, last_followed_at) come last in ascending "
                       "order, first in descending."})
    deal_status = fields.String(load_default=None, validate=validate.OneOf(DEAL_STATUSES))
    level = fields.String(load_default=None, validate=validate.OneOf(LEVELS))
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))
    source = fields.String(load_default=None, validate=validate.OneOf(SOURCES))
    industry = _text(100)
    region = _text(100)
    pool_id = _text(36)
    tags = CommaList(fields.String(validate=validate.Length(min=1, max=50)), load_default=None,
                     validate=validate.Length(min=1, max=MAX_TAGS),
                     metadata={"description": "any of these tags (comma separated)"})
    followed_before = when(load_default=None, metadata={"description": "last follow-up before (never followed: "
                                                                       "not matched)"})
    followed_after = when(load_default=None, metadata={"description": "last follow-up at or after"})
    lat = fields.Float(load_default=None, allow_nan=False, validate=validate.Range(min=-90, max=90),
                       metadata={"description": "near this point (with lng and radius_km)"})
    lng = fields.Float(load_default=None, allow_nan=False, validate=validate.Range(min=-180, max=180))
    radius_km = fields.Float(load_default=None, allow_nan=False,
                             validate=validate.Range(min=0, max=MAX_RADIUS_KM, min_inclusive=False))

    @validates_schema
    def _near(self, data, **kwargs):
        given = [name for name in ("lat", "lng", "radius_km") if data.get(name) is not None]
        if given and len(given) < 3:
            raise ValidationError({name: ["lat, lng and radius_km go together."]
                                   for name in ("lat", "lng", "radius_km") if name not in given})


class ContactListQuery(_ViewQuery):
    """A contact list: the same preset views (a contact goes with its customer: its owner, team and
    department), filters, and a sort among indexed columns."""
    sort = fields.String(load_default=None, validate=validate.OneOf(CONTACT_SORTS),
                         metadata={"description": "Sort column (default: newest first)."})
    customer_id = _text(36)


class CustomerListItemOut(CustomerOut):
    """A customer as a list shows it: without its contacts (``GET /customers/{id}`` and
    ``/customers/{id}/contacts`` have them)."""

    class Meta:
        exclude = ("contacts",)


CustomerList = page_of(CustomerListItemOut, name="CustomerList",
                       doc="A page of customers (without their contacts), in the order asked for.")


ContactList = page_of(ContactOut, doc="A page of contacts, in the order asked for.")
