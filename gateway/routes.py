"""The gateway's route table: HTTP path -> the service (or gateway) use case.

One entry per route of ``shared/api.md``. The dispatcher builds the call's
arguments from the path parameters (in order), then the JSON body or the
query string, then the expected version (``If-Match``) as the route says.
``request``/``response`` name the marshmallow schemas that validate and
describe them (``<service>.<Name>``): the OpenAPI document is built from the
same schemas (gateway's own, or fetched from the owning service).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from werkzeug.routing import BaseConverter, Map, Rule


@dataclass(frozen=True)
class Route:
    method: str
    path: str                 # werkzeug syntax: /api/v1/leads/<lead_id>
    service: str              # "gateway" = handled here (identity), else the RPC target
    rpc: str
    summary: str
    tag: str
    body: bool = False        # pass the JSON body
    query: bool = False       # pass the query string as a dict
    status: int = 200
    location: str | None = None  # for 201: URL template; {name} from the path parameters, else the result
    public: bool = False      # no bearer token needed
    version: bool = False     # pass the expected version (If-Match or body "version")
    request: str | None = None
    response: str | None = None
    body_args: tuple[str, ...] = ()  # spread these body fields as arguments (no other fields allowed)
    query_schema: str | None = None  # the schema of the query string (documents the filters)
    csv_body: bool = False    # the body is text/csv, passed as a string (then the query string's pool_id)
    download: str | None = None  # the RPC answers pages {"csv", "next_cursor"} of this text/csv file, streamed
    description: str | None = None  # more than the summary, for the OpenAPI document
    user_departments: bool = False  # pass {user_id: department_id} of the body's admin_ids/member_ids

    @property
    def creates(self) -> bool:
        return self.status == 201


def _crud(tag, base, param, service, singular, plural, schema, create=True, update=True, delete=False,
          list_schema=None, create_schema=None, update_schema=None, create_rpc=None):
    routes = [Route("GET", base, service, f"list_{plural}", f"List {plural.replace('_', ' ')}", tag, query=True,
                    response=list_schema or f"{service}.{schema}List",
                    query_schema=f"{service}.{schema}ListQuery"),
              Route("GET", f"{base}/<{param}>", service, f"get_{singular}", f"Read a {singular.replace('_', ' ')}",
                    tag, response=f"{service}.{schema}")]
    if create:
        routes.append(Route("POST", base, service, create_rpc or f"create_{singular}",
                            f"Create a {singular.replace('_', ' ')}", tag, body=True, status=201,
                            location=f"{base}/{{id}}", request=create_schema or f"{service}.{schema}Create",
                            response=f"{service}.{schema}"))
    if update:
        routes.append(Route("PATCH", f"{base}/<{param}>", service, f"update_{singular}",
                            f"Update a {singular.replace('_', ' ')} (If-Match: version)", tag, body=True,
                            version=True, request=update_schema or f"{service}.{schema}Update",
                            response=f"{service}.{schema}"))
    if delete:
        routes.append(Route("DELETE", f"{base}/<{param}>", service, f"delete_{singular}",
                            f"Delete a {singular.replace('_', ' ')} (If-Match: version)", tag, status=204,
                            version=True))
    return routes


def _record_extras(service, base, singular):
    """History and team members of a record (domain.md: audit, team access)."""
    return [
        Route("GET", f"{base}/history", service, f"{singular}_history",
              f"Who changed this {singular}, when, and what (newest first)", service, query=True,
              response=f"{service}.AuditList", query_schema=f"{service}.HistoryQuery"),
        Route("GET", f"{base}/team", service, f"list_{singular}_team", f"The {singular}'s team members", service,
              response=f"{service}.TeamList"),
        Route("POST", f"{base}/team", service, f"set_{singular}_team_member",
              f"Add a team member to the {singular}, or change their access", service, body=True,
              body_args=("user_id", "access"), request=f"{service}.TeamMemberSet",
              response=f"{service}.TeamMember"),
        Route("DELETE", f"{base}/team/<user_id>", service, f"remove_{singular}_team_member",
              f"Remove a team member from the {singular}", service, status=204),
    ]


ROUTES = (
    # identity (owned by the gateway)
    Route("POST", "/api/v1/auth/token", "gateway", "login", "Sign in: exchange a username and password for a "
          "bearer token", "identity", body=True, public=True, request="gateway.TokenRequest",
          response="gateway.Token"),
    Route("GET", "/api/v1/me", "gateway", "me", "The signed-in user, with the departments in their scope",
          "identity", response="gateway.Me"),
    *_crud("identity", "/api/v1/users", "user_id", "gateway", "user", "users", "User"),
    *_crud("identity", "/api/v1/departments", "department_id", "gateway", "department", "departments",
           "Department"),
    # leads
    *_crud("leads", "/api/v1/leads", "lead_id", "leads", "lead", "leads", "Lead", delete=True),
    Route("POST", "/api/v1/leads/<lead_id>/convert", "leads", "convert_lead",
          "Convert a lead into a customer, contact and optionally an opportunity", "leads", body=True,
          request="leads.ConvertRequest", response="leads.Lead"),
    *_record_extras("leads", "/api/v1/leads/<lead_id>", "lead"),
    Route("POST", "/api/v1/leads/<lead_id>/assign", "leads", "assign_lead",
          "Give a lead to a user (admin, the pool's admins, a manager)", "leads", body=True, body_args=("owner_id",),
          request="leads.AssignRequest", response="leads.Lead"),
    Route("POST", "/api/v1/leads/<lead_id>/claim", "leads", "claim_lead",
          "Claim an unassigned lead of a pool you are a member of (within the pool's limits)", "leads",
          response="leads.Lead"),
    Route("POST", "/api/v1/leads/<lead_id>/return", "leads", "return_lead",
          "Give a lead back to its pool, with a reason", "leads", body=True, body_args=("reason",),
          request="leads.ReturnRequest", response="leads.Lead"),
    Route("POST", "/api/v1/leads/<lead_id>/invalidate", "leads", "invalidate_lead",
          "Mark a lead invalid (could not be reached; a follow-up revives it)", "leads", response="leads.Lead"),
    Route("POST", "/api/v1/leads/<lead_id>/discard", "leads", "discard_lead",
          "Discard a lead as junk", "leads", response="leads.Lead"),
    Route("POST", "/api/v1/leads/<lead_id>/restore", "leads", "restore_lead",
          "Restore a discarded lead to its pool (admins only)", "leads", response="leads.Lead"),
    Route("GET", "/api/v1/leads/<lead_id>/follow-ups", "leads", "list_lead_follow_ups",
          "A lead's follow-up records (newest first)", "leads", query=True, response="leads.FollowUpList",
          query_schema="leads.FollowUpListQuery"),
    Route("POST", "/api/v1/leads/<lead_id>/follow-ups", "leads", "add_lead_follow_up",
          "Record a follow-up (call, visit, ...) and the next contact time", "leads", body=True, status=201,
          location="/api/v1/leads/{lead_id}/follow-ups/{id}", request="leads.FollowUpCreate",
          response="leads.FollowUp"),
    Route("GET", "/api/v1/leads/<lead_id>/follow-ups/<follow_up_id>", "leads", "get_lead_follow_up",
          "Read one follow-up record of a lead", "leads", response="leads.FollowUp"),
    Route("GET", "/api/v1/me/reminders", "leads", "lead_reminders",
          "The caller's due reminders: next contact times and recycle warnings of their leads", "leads",
          query=True, response="leads.ReminderList", query_schema="leads.ReminderQuery"),
    *[replace(r, user_departments=r.method in ("POST", "PATCH"))
      for r in _crud("leads", "/api/v1/lead-pools", "pool_id", "leads", "lead_pool", "lead_pools", "LeadPool")],
    Route("POST", "/api/v1/leads/import", "leads", "import_leads",
          "Import leads from CSV (UTF-8, header row): a report per row (created, duplicate, invalid)", "leads",
          csv_body=True, response="leads.ImportReport"),
    Route("GET", "/api/v1/leads/export", "leads", "export_leads_page",
          "Export every lead you may see, with the list's filters, as CSV (streamed)", "leads", query=True,
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
          "Run the pool's recycle rule now (optionally as of a given time)", "leads", body=True, body_args=("as_of",),
          request="leads.RecycleRequest", response="leads.RecycleResult"),
    # customers and contacts
    *_crud("customers", "/api/v1/customers", "customer_id", "customers", "customer", "customers", "Customer",
           delete=True),
    Route("GET", "/api/v1/customers/<customer_id>/contacts", "customers", "list_customer_contacts",
          "List a customer's contacts", "customers", response="customers.ContactList"),
    *_record_extras("customers", "/api/v1/customers/<customer_id>", "customer"),
    *_crud("customers", "/api/v1/contacts", "contact_id", "customers", "contact", "contacts", "Contact",
           delete=True),
    Route("GET", "/api/v1/contacts/<contact_id>/history", "customers", "contact_history",
          "Who changed this contact, when, and what", "customers", query=True, response="customers.AuditList",
          query_schema="customers.HistoryQuery"),
)


class IdConverter(BaseConverter):
    """A path parameter that is not one of the fixed words beside it: ``/api/v1/leads/import`` is the
    import route and nothing else, so a method it does not take answers 405 with the import route's
    ``Allow``, not 404 for a lead called "import"."""

    def __init__(self, url_map, *fixed: str):
        super().__init__(url_map)
        self.regex = f"(?!(?:{'|'.join(map(re.escape, fixed))})$)[^/]+" if fixed else "[^/]+"


def _with_fixed_siblings(paths) -> dict[str, str]:
    """``{path: werkzeug path}``: each ``<param>`` segment as ``<id(fixed, ...):param>`` where other
    routes have a fixed segment in the same place (same prefix)."""
    split = {path: path.strip("/").split("/") for path in paths}
    out = {}
    for path, segments in split.items():
        rewritten = []
        for i, segment in enumerate(segments):
            if segment.startswith("<"):
                fixed = sorted({other[i] for other in split.values() if len(other) > i
                                and other[:i] == segments[:i] and not other[i].startswith("<")})
                if fixed:
                    segment = f"<id({', '.join(repr(f) for f in fixed)}):{segment[1:-1]}>"
            rewritten.append(segment)
        out[path] = "/" + "/".join(rewritten)
    return out


def build_map(routes=ROUTES) -> Map:
    paths = _with_fixed_siblings({r.path for r in routes})
    return Map([Rule(paths[r.path], methods=[r.method], endpoint=r) for r in routes], strict_slashes=False,
               converters={"id": IdConverter})

