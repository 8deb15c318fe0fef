"""The customer settings of the platform (holding caps, deal triggers, return reasons): what changing
them accepts and how they are returned."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from crm_kit.context import ROLES
from crm_kit.records.schemas import InputSchema, not_blank
from services.customers.domain.holding_caps import cap_errors

DEAL_TRIGGERS = ("opportunity_won", "order_approved", "contract_signed")
_count = dict(load_default=None, allow_none=True, validate=validate.Range(min=0, max=1_000_000))


class HoldingCap(Schema):
    """A holding cap for the users of a department, of a role, or (neither) everyone; the most
    specific applies (department, then role, then the default)."""

    class Meta:
        unknown = RAISE

    department_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=36))
    role = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(ROLES))
    max_held = fields.Integer(**_count, metadata={"description": "customers a user may own at once (null: no cap)"})
    max_locked = fields.Integer(**_count, metadata={"description": "locked customers a user may have (null: no cap)"})
    count_deals = fields.Boolean(load_default=True, metadata={"description": "deal customers count toward max_held"})


class CustomerSettingsUpdate(InputSchema):
    """Change the customer settings (admins; If-Match: version): the fields given replace theirs."""

    class Meta(InputSchema.Meta):
        server_owned = ("updated_by",)

    holding_caps = fields.List(fields.Nested(HoldingCap), validate=validate.Length(max=500))
    deal_triggers = fields.List(fields.String(validate=validate.OneOf(DEAL_TRIGGERS)),
                                validate=validate.Length(max=len(DEAL_TRIGGERS)), metadata={
        "description": "what makes a customer a deal customer (成交客户)"})
    return_reasons = fields.List(fields.String(validate=[validate.Length(min=1, max=200), not_blank]),
                                 validate=validate.Length(max=50), metadata={
        "description": "the reasons a return must give where the pool has no return_reasons of its own "
                       "(empty: any reason)"})

    @validates_schema
    def _caps(self, data, **kwargs):
        errors = cap_errors(data.get("holding_caps") or [])
        if errors:
            raise ValidationError({"holding_caps": errors})


class CustomerSettingsOut(Schema):
    holding_caps = fields.List(fields.Nested(HoldingCap))
    deal_triggers = fields.List(fields.String())
    return_reasons = fields.List(fields.String())
    updated_by = fields.String(allow_none=True)
    version = fields.Integer()
    updated_at = fields.DateTime(allow_none=True)
