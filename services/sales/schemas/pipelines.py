"""Pipelines (销售流程) and the opportunity settings (lost reasons): what creating and changing them
accepts and how they are returned. Everyone reads; admins write."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from crm_kit.records.schemas import InputSchema, ListQuery, not_blank, page_of, partial_of

STAGE_KEY = validate.Regexp(r"^[a-z][a-z0-9_]{0,49}$",
                            error="Lower-case letters, digits and _, starting with a letter (at most 50).")


class PipelineStageIn(InputSchema):
    """An open stage: its key (what opportunities record), name and probability (percent)."""
    key = fields.String(required=True, validate=STAGE_KEY)
    name = fields.String(validate=[validate.Length(min=1, max=100), not_blank])
    probability = fields.Integer(required=True, validate=validate.Range(min=0, max=100))


class PipelineCreate(InputSchema):
    """A pipeline (admins): its open stages in order (``won`` 100%, ``lost`` 0% and ``invalid`` 0%
    close every pipeline and are not listed); for one department, or one kind of opportunity, or
    neither. At most one pipeline per department and one per kind."""

    class Meta(InputSchema.Meta):
        server_owned = ("created_by", "is_default")

    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), not_blank])
    department_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=36))
    kind = fields.String(allow_none=True, validate=[validate.Length(min=1, max=50), not_blank],
                         metadata={"description": "the kind of opportunity it is for (new business, renewal...)"})
    active = fields.Boolean(metadata={"description": "an inactive pipeline takes no new opportunities"})
    stages = fields.List(fields.Nested(PipelineStageIn), required=True, validate=validate.Length(min=1, max=20),
                         metadata={"description": "the open stages in order; probabilities never go down"})


PipelineUpdate = partial_of(PipelineCreate, "PipelineUpdate",
                            doc="Change a pipeline (admins): only the fields given change; `stages` replaces "
                                "them all (a stage open opportunities are in cannot be taken away: 409).")


class PipelineStageOut(Schema):
    key = fields.String()
    name = fields.String()
    probability = fields.Integer()
    status = fields.String(metadata={"description": "open, or the status a closing stage gives: won, lost, invalid"})
    position = fields.Integer(metadata={"description": "the open stages' order (1..); 0 for closing stages"})


class PipelineOut(Schema):
    id = fields.String()
    name = fields.String()
    department_id = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    is_default = fields.Boolean()
    active = fields.Boolean()
    stages = fields.List(fields.Nested(PipelineStageOut), metadata={"description": "open stages, then closing ones"})
    created_by = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


PipelineList = page_of(PipelineOut, doc="A page of pipelines, the default first, then by name.")


class PipelineListQuery(ListQuery):
    """Filters of the pipeline list."""

    class Meta:
        unknown = RAISE

    active = fields.Boolean(load_default=None, allow_none=True)


class OpportunitySettingsSet(InputSchema):
    """The opportunity settings (admins; If-Match: their version): the lost reasons, replaced."""
    lost_reasons = fields.List(fields.String(validate=[validate.Length(min=1, max=200), not_blank]),
                               required=True, validate=validate.Length(min=1, max=100),
                               metadata={"description": "what a lost opportunity's reason must be one of"})


class OpportunitySettingsOut(Schema):
    lost_reasons = fields.List(fields.String())
    updated_by = fields.String(allow_none=True)
    version = fields.Integer()
    updated_at = fields.DateTime(allow_none=True)
