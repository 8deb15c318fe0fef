"""The sales service's routes for opportunities (商机) and pipelines (销售流程): CRUD, the stage moves
and reopen, the stage history, the kanban, team and history; pipelines and the opportunity settings
(lost reasons: admins write, everyone reads)."""
from __future__ import annotations

from gateway.routes.model import Route, body, crud, query, record_extras, version

OPP = "/api/v1/opportunities/<opportunity_id>"

ROUTES = (
    # the kanban before /opportunities/<opportunity_id>: its path is literal
    Route("GET", "/api/v1/opportunities/kanban", "sales", "opportunity_kanban",
          "Open opportunities of a pipeline by stage: count and amount per currency (in the data scope)", "sales",
          (query(),), response="sales.Kanban", query_schema="sales.KanbanQuery"),
    *crud("sales", "/api/v1/opportunities", "opportunity_id", "sales", "opportunity", "opportunities",
          "Opportunity"),
    Route("POST", f"{OPP}/stage", "sales", "change_opportunity_stage",
          "Move an opportunity to another stage (between open stages with a note; won, lost with a reason, "
          "invalid close it)", "sales", (body(), version()), request="sales.OpportunityStageMove",
          response="sales.Opportunity",
          description="Stages may be skipped forward; a move between open stages either way needs `note` "
                      "(422 otherwise); `lost` needs a `lost_reason` of `/opportunity-settings`; a closed "
                      "opportunity answers 409 (reopen it first). Every move is kept in `/stages`."),
    Route("POST", f"{OPP}/reopen", "sales", "reopen_opportunity",
          "Reopen a closed opportunity (its owner's manager, or an admin) with a note", "sales",
          (body(), version()), request="sales.OpportunityReopen", response="sales.Opportunity"),
    Route("GET", f"{OPP}/stages", "sales", "list_opportunity_stages",
          "The stage history of an opportunity (who, when, from, to, note), oldest first", "sales",
          response="sales.OpportunityStageChangeList"),
    *record_extras("sales", OPP, "opportunity"),
    *crud("sales", "/api/v1/pipelines", "pipeline_id", "sales", "pipeline", "pipelines", "Pipeline"),
    Route("GET", "/api/v1/opportunity-settings", "sales", "get_opportunity_settings",
          "The opportunity settings: the lost reasons", "sales", response="sales.OpportunitySettings"),
    Route("PUT", "/api/v1/opportunity-settings", "sales", "set_opportunity_settings",
          "Replace the opportunity settings (admins; If-Match: their version)", "sales", (body(), version()),
          request="sales.OpportunitySettingsSet", response="sales.OpportunitySettings"),
)
