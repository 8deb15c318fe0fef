"""The leads service's routes."""
from __future__ import annotations

from dataclasses import replace  # noqa: F401

from gateway.routes.model import (  # noqa: F401
                                  Route,
                                  body,
                                  crud,
                                  csv,
                                  cursor,
                                  field,
                                  query,
                                  query_param,
                                  record_extras,
                                  user_lists,
                                  users,
                                  version,
)

ROUTES = (
    *crud("leads", "/api/v1/leads", "lead_id", "leads", "lead", "leads", "Lead", delete=True),
    Route("POST", "/api/v1/leads/<lead_id>/convert", "leads", "convert_lead",
          "Convert a lead into a customer, contact and optionally an opportunity", "leads", (body(),),
          request="leads.ConvertRequest", response="leads.Lead"),
    *record_extras("leads", "/api/v1/leads/<lead_id>", "lead"),
    Route("POST", "/api/v1/leads/<lead_id>/assign", "leads", "assign_lead",
          "Give a lead to a user (admin, the pool's admins, a manager)", "leads", (field("owner_id"),),
          users("owner_id", departments="owner_department_id"),
          request="leads.AssignRequest", response="leads.Lead"),
    Route("POST", "/api/v1/leads/<lead_id>/claim", "leads", "claim_lead",
          "Claim an unassigned lead of a pool you are a member of (within the pool's limits)", "leads",
          response="leads.Lead"),
    Route("POST", "/api/v1/leads/<lead_id>/return", "leads", "return_lead",
          "Give a lead back to its pool, with a reason", "leads", (field("reason"),),
          request="leads.ReturnRequest", response="leads.Lead"),
    Route("POST", "/api/v1/leads/<lead_id>/invalidate", "leads", "invalidate_lead",
          "Mark a lead invalid (could not be reached; a follow-up revives it)", "leads", response="leads.Lead"),
    Route("POST", "/api/v1/leads/<lead_id>/discard", "leads", "discard_lead",
          "Discard a lead as junk", "leads", response="leads.Lead"),
    Route("POST", "/api/v1/leads/<lead_id>/restore", "leads", "restore_lead",
          "Restore a discarded lead to its pool (admins only)", "leads", response="leads.Lead"),
    Route("GET", "/api/v1/leads/<lead_id>/follow-ups", "leads", "list_lead_follow_ups",
          "A lead's follow-up records (newest first)", "leads", (query(),), response="leads.FollowUpList",
          query_schema="leads.FollowUpListQuery"),
    Route("POST", "/api/v1/leads/<lead_id>/follow-ups", "leads", "add_lead_follow_up",
          "Record a follow-up (call, visit, ...) and the next contact time", "leads", (body(),), status=201,
          location="/api/v1/leads/{lead_id}/follow-ups/{id}", request="leads.FollowUpCreate",
          response="leads.FollowUp"),
    Route("GET", "/api/v1/leads/<lead_id>/follow-ups/<follow_up_id>", "leads", "get_lead_follow_up",
          "Read one follow-up record of a lead", "leads", response="leads.FollowUp"),
    *[replace(r, users=user_lists("admin_ids", "member_ids", departments="user_departments"))
      if r.method in ("POST", "PATCH") else r
      for r in crud("leads", "/api/v1/lead-pools", "pool_id", "leads", "lead_pool", "lead_pools", "LeadPool")],
    Route("POST", "/api/v1/leads/import", "leads", "import_leads",
          "Import leads from CSV (UTF-8, header row): a report per row (created, duplicate, invalid)", "leads",
          (csv(), query_param("pool_id", doc="Put the leads in this pool.")), response="leads.ImportReport"),
    Route("GET", "/api/v1/leads/export", "leads", "export_leads_page",
          "Export every lead you may see, with the list's filters, as CSV (streamed)", "leads", (query(), cursor()),
          query_schema="leads.LeadExportQuery", download="leads.csv", description=(
              "Every lead you may see that matches the filters (`limit`: only the first rows), newest first, "
              "one CSV file (UTF-8, header row; cells starting with `=`, `+`, `-` or `@` are prefixed with `'`). "
              "The body is streamed (chunked) while the gateway reads the leads page by page, in id order: no "
              "lead comes twice, every lead that matches throughout comes once, and leads created once the "
              "export has started are not in it. Errors found "
              "before the first byte (a bad filter, the leads service unreachable) are problem+json; a failure "
              "after that cuts the transfer short (the chunked body has no end), so treat an incomplete "
              "transfer as a failed export.")),
    Route("POST", "/api/v1/lead-pools/<pool_id>/recycle", "leads", "recycle_pool",
          "Run the pool's recycle rule now (optionally as of a given time)", "leads", (field("as_of"),),
          request="leads.RecycleRequest", response="leads.RecycleResult"),
)
