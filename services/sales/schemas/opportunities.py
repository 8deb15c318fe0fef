"""Opportunities (商机): what creating, changing, moving and reopening them accepts, how they, their
stage history and the kanban are returned, and the list's filters."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from crm_kit.records.schemas import InputSchema, ListQuery, not_blank, page_of, partial_of
from services.sales.domain.opportunities import SCOPES, STATUSES

CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="An ISO 4217 code: three capital letters.")
MAX_AMOUNT = 10 ** 16 - 1
_money = dict(places=2, as_string=True, validate=validate.Range(min=0, max=MAX_AMOUNT))
_id = validate.Length(min=1, max=36)
_stage = validate.Length(min=1, max=50)


class OpportunityLineIn(InputSchema):
    """A product line: the unit price is the product's (or its price list's) on the day, never the
    client's; its total is ``quantity x unit_price x (1 - discount_percent/100)`` rounded half up to
    the cent (``domain.totals.line_total``)."""
    product_id = fields.String(required=True, validate=_id)
    quantity = fields.Decimal(required=True, places=3, as_string=True,
                              validate=validate.Range(min=0, min_inclusive=False, max=10 ** 9))
    discount_percent = fields.Decimal(places=2, as_string=True, validate=validate.Range(min=0, max=100))


class OpportunityCreate(InputSchema):
    """An opportunity, owned by the caller in their department. ``amount`` only without ``lines``
    (with lines it is their total). The pipeline: the one given, else its ``kind``'s, else the
    caller's department's, else the default; it starts in ``stage`` (an open one) or the first."""

    class Meta(InputSchema.Meta):
        server_owned = ("created_by", "probability", "closed_at", "lost_reason", "source_lead_id",
                        "stage_changed_at")

    customer_id = fields.String(required=True, validate=_id)
    contact_ids = fields.List(fields.String(validate=_id), validate=validate.Length(max=50))
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), not_blank])
    kind = fields.String(allow_none=True, validate=validate.Length(min=1, max=50))
    source = fields.String(allow_none=True, validate=validate.Length(max=20))
    budget = fields.Decimal(allow_none=True, **_money)
    amount = fields.Decimal(**_money)
    currency = fields.String(validate=CURRENCY, metadata={"description": "ISO 4217 (default CNY)"})
    price_list_id = fields.String(allow_none=True, validate=_id,
                                  metadata={"description": "the price list the lines are priced from"})
    lines = fields.List(fields.Nested(OpportunityLineIn), validate=validate.Length(max=200))
    expected_close_date = fields.Date(allow_none=True)
    decision_date = fields.Date(allow_none=True)
    description = fields.String(allow_none=True, validate=validate.Length(max=5000))
    pipeline_id = fields.String(validate=_id)
    stage = fields.String(validate=_stage)

    @validates_schema
    def _amount_or_lines(self, data, **kwargs):
        if data.get("lines") and "amount" in data:
            raise ValidationError({"amount": ["Computed from the lines: give lines or an amount, not both."]})


OpportunityUpdate = partial_of(
    OpportunityCreate, "OpportunityUpdate", exclude=("pipeline_id", "stage"),
    doc="Change an open opportunity (If-Match: version): only the fields given change; `lines` replaces "
        "them all (and the amount becomes their total; `lines: []` keeps the amount as it was unless one is "
        "given). The stage changes through `/stage`.")


class OpportunityStageMove(InputSchema):
    """Move an opportunity to another stage of its pipeline: between open stages (either way, any
    skipped) with a feedback ``note``; to ``won``, ``lost`` (with a ``lost_reason`` of the configured
    list) or ``invalid`` to close it."""
    stage = fields.String(required=True, validate=_stage)
    lost_reason = fields.String(allow_none=True, validate=validate.Length(min=1, max=200))
    note = fields.String(allow_none=True, validate=validate.Length(max=5000))


class OpportunityReopen(InputSchema):
    """Reopen a closed opportunity (its owner's manager, or an admin), with a note; it goes back to
    the stage it closed from, or ``stage``."""
    note = fields.String(required=True, validate=[validate.Length(min=1, max=5000), not_blank])
    stage = fields.String(allow_none=True, validate=_stage)


class OpportunityLineOut(Schema):
    product_id = fields.String()
    sku = fields.String()
    name = fields.String()
    unit = fields.String()
    quantity = fields.Decimal(as_string=True, places=3)
    unit_price = fields.Decimal(as_string=True, places=2)
    discount_percent = fields.Decimal(as_string=True, places=2)
    total = fields.Decimal(as_string=True, places=2)
    price_list_id = fields.String(allow_none=True)


class OpportunityOut(Schema):
    id = fields.String()
    customer_id = fields.String(allow_none=True)
    contact_ids = fields.List(fields.String())
    name = fields.String()
    kind = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    budget = fields.Decimal(as_string=True, places=2, allow_none=True)
    amount = fields.Decimal(as_string=True, places=2)
    currency = fields.String()
    price_list_id = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(OpportunityLineOut))
    expected_close_date = fields.Date(allow_none=True)
    decision_date = fields.Date(allow_none=True)
    description = fields.String(allow_none=True)
    pipeline_id = fields.String()
    stage = fields.String()
    probability = fields.Integer()
    status = fields.String(validate=validate.OneOf(STATUSES))
    stage_changed_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True, metadata={"description": "when it was won, lost or invalidated"})
    lost_reason = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    department_id = fields.String(allow_none=True)
    source_lead_id = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class OpportunityListItemOut(Schema):
    """An opportunity in a list (without its lines)."""
    id = fields.String()
    customer_id = fields.String(allow_none=True)
    name = fields.String()
    amount = fields.Decimal(as_string=True, places=2)
    currency = fields.String()
    expected_close_date = fields.Date(allow_none=True)
    pipeline_id = fields.String()
    stage = fields.String()
    probability = fields.Integer()
    status = fields.String()
    closed_at = fields.DateTime(allow_none=True)
    owner_id = fields.String(allow_none=True)
    department_id = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


OpportunityList = page_of(OpportunityListItemOut, "OpportunityList", doc="A page of opportunities, newest first.")


class OpportunityListQuery(ListQuery):
    """Filters of the opportunity list (combined with AND), newest first, keyset-paginated, inside
    the caller's data scope; ``scope`` a preset view."""

    class Meta:
        unknown = RAISE

    scope = fields.String(load_default="all", validate=validate.OneOf(SCOPES),
                          metadata={"description": "all (the data scope), mine, team (I am on its team), "
                                                   "subordinates (owned by others in my department subtree)"})
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    stage = fields.String(load_default=None, validate=_stage)
    pipeline_id = fields.String(load_default=None, validate=_id)
    customer_id = fields.String(load_default=None, validate=_id)
    owner_id = fields.String(load_default=None, validate=_id)
    expected_close_from = fields.Date(load_default=None, metadata={"description": "inclusive"})
    expected_close_to = fields.Date(load_default=None, metadata={"description": "inclusive"})


class OpportunityStageChangeOut(Schema):
    """One move of the stage history."""
    id = fields.String()
    action = fields.String(metadata={"description": "created, forward, backward, won, lost, invalid, reopen"})
    from_stage = fields.String(allow_none=True)
    to_stage = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    probability = fields.Integer()
    note = fields.String(allow_none=True)
    lost_reason = fields.String(allow_none=True)
    changed_by = fields.String(allow_none=True)
    changed_at = fields.DateTime()


OpportunityStageChangeList = page_of(OpportunityStageChangeOut, "OpportunityStageChangeList",
                                     doc="The stage history, oldest first.")


class KanbanAmountOut(Schema):
    currency = fields.String()
    count = fields.Integer()
    amount = fields.Decimal(as_string=True, places=2)


class KanbanColumnOut(Schema):
    stage = fields.String()
    name = fields.String()
    probability = fields.Integer()
    count = fields.Integer()
    amounts = fields.List(fields.Nested(KanbanAmountOut), metadata={"description": "per currency"})


class KanbanOut(Schema):
    """The open opportunities of a pipeline the caller may see, by stage: count and amount per
    currency (the cards: the list with ``stage=``)."""
    pipeline_id = fields.String()
    columns = fields.List(fields.Nested(KanbanColumnOut))


class KanbanQuery(Schema):
    class Meta:
        unknown = RAISE

    pipeline_id = fields.String(load_default=None, validate=_id,
                                metadata={"description": "default: the default pipeline"})


class CustomerOpportunitiesOut(Schema):
    """A customer's open opportunities the caller may see (the customer overview's part)."""
    items = fields.List(fields.Nested(OpportunityListItemOut))
    next_cursor = fields.String(allow_none=True)
