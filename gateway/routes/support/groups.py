"""The support service's routes for its configuration: support groups (agents with their skills and
capacity, the business calendar) and SLA policies (admins change them, everyone reads them)."""
from __future__ import annotations

from gateway.routes.model import Route, body, query, version

GROUP = "/api/v1/support/groups/<group_id>"

ROUTES = (
    Route("GET", "/api/v1/support/groups", "support", "list_support_groups", "List support groups", "support",
          (query(),), response="support.SupportGroupList", query_schema="support.SupportGroupListQuery"),
    Route("POST", "/api/v1/support/groups", "support", "create_support_group",
          "Create a support group with its agents and calendar (admins)", "support", (body(),), status=201,
          location="/api/v1/support/groups/{id}", request="support.SupportGroupCreate",
          response="support.SupportGroup"),
    Route("GET", GROUP, "support", "get_support_group", "Read a support group", "support",
          response="support.SupportGroup"),
    Route("PATCH", GROUP, "support", "update_support_group",
          "Update a support group (its members replaced whole; admins; If-Match: version)", "support",
          (body(), version()), request="support.SupportGroupUpdate", response="support.SupportGroup"),
    Route("GET", "/api/v1/support/sla-policies", "support", "list_sla_policies",
          "The SLA policies (and the defaults of priorities without one)", "support",
          response="support.SlaPolicyList"),
    Route("POST", "/api/v1/support/sla-policies", "support", "set_sla_policy",
          "Create or replace the SLA policy of a priority (and customer level; admins)", "support", (body(),),
          request="support.SlaPolicySet", response="support.SlaPolicy"),
)
