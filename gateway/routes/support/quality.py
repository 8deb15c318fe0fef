"""The support service's quality report per agent and group (issue 14, item 6)."""
from __future__ import annotations

from gateway.routes.model import Route, query

ROUTES = (
    Route("GET", "/api/v1/support/quality", "support", "quality_report",
          "Quality per agent or group over a period: response and resolution times (business hours), "
          "resolution, reopen and SLA compliance rates, CSAT and NPS", "support", (query(),),
          response="support.QualityReport", query_schema="support.QualityQuery", description=(
              "Over the tickets opened in [`from`, `to`) (default the 30 days to now, at most 366) and the "
              "surveys answered in it; `by=agent` (default) or `group`; `group_id`, `agent_id` narrow it. "
              "Admins see every figure, managers their departments', support leads their groups', everyone "
              "else their own (another `agent_id` is 403).")),
)
