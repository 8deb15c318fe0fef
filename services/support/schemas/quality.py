"""The quality report's query and answer (``domain/quality.py`` for the arithmetic)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_kit.records.schemas import InputSchema
from services.support.domain import quality
from services.support.schemas.common import ident, when


class QualityQuery(InputSchema):
    """Over the tickets opened in [``from``, ``to``) and the surveys answered in it (default: the 30
    days to now; at most 366 days), a row per agent or per group, within the caller's scope."""
    from_ = when(data_key="from", load_default=None, allow_none=True, metadata={
        "description": "The period's start (ISO 8601; default `to` less 30 days)."})
    to = when(load_default=None, allow_none=True, metadata={"description": "The period's end, excluded "
                                                                            "(default now)."})
    by = fields.String(load_default="agent", validate=validate.OneOf(quality.BY),
                       metadata={"description": "A row per agent (the ticket's assignee) or per group."})
    group_id = ident(load_default=None, allow_none=True)
    agent_id = ident(load_default=None, allow_none=True)


class QualityReport(Schema):
    """Each row: `opened`, `first_response` and `resolution` (`count`, `average_seconds`,
    `median_seconds`: business time in the ticket's calendar, pauses left out), `resolved`,
    `resolution_rate`, `reopened`, `reopen_rate`, `sla` (`decided`, `met`, `compliance`, per clock),
    `csat` (`count`, `average`, `satisfied_rate`: 4-5), `nps` (`count`, `promoters`, `passives`,
    `detractors`, `score`: % promoters less % detractors). Rates are fractions; null: nothing to divide."""
    from_ = fields.DateTime(data_key="from")
    to = fields.DateTime()
    as_of = fields.DateTime(metadata={"description": "The instant the figures stand at: the earlier of `to` "
                                                     "and now."})
    by = fields.String()
    items = fields.List(fields.Dict(), metadata={"description": "A row per agent (`agent_id`) or group "
                                                                "(`group_id`), with the figures."})
    total = fields.Dict(metadata={"description": "The figures of every row together."})
