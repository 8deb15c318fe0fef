"""The gateway's route table: HTTP path -> the service's RPC (or the gateway's identity use case).

One entry per route of ``shared/api.md``. A route says declaratively what its call gets, and the
dispatcher (``gateway.service``, through ``gateway.arguments``) does exactly that, for every route
alike: the call's **keyword** arguments are

- every path parameter, under its own name (``/api/v1/leads/<lead_id>`` -> ``lead_id=``);
- each of ``args``, an :class:`Arg` naming the keyword and where its value comes from (``SOURCES``):
  the JSON body as a dict (:func:`body`), fields of it spread one keyword each (:func:`field`: the
  route then takes no other field), the query string as a dict (:func:`query`) or one parameter of it
  (:func:`query_param`), the expected version (:func:`version`: ``If-Match``, or ``version`` taken
  out of the body), the text/csv body (:func:`csv`), a download's page cursor (:func:`cursor`);
- what ``users`` resolves: users are the gateway's, so body fields that name users are checked here
  before the call (:func:`users`: one id per field; :func:`user_lists`: a list per field), and their
  departments passed as the argument it names, when the service copies them onto its records.

``request``/``response`` name the marshmallow schemas that validate and describe them
(``<service>.<Name>``): the OpenAPI document is built from the same schemas (gateway's own, or
fetched from the owning service). ``tests/unit/test_gateway_routes.py`` checks every route's
arguments against the signature of the RPC method (or identity use case) it calls.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from werkzeug.routing import BaseConverter, Map, Rule

# Where an argument's value comes from.
SOURCES = {
    "path": "a path parameter (every one is passed, under its own name)",
    "body": "the JSON body (an object; {} when empty)",
    "field": "one field of the JSON body (absent: None); the route takes no field it does not spread",
    "query": "the query string, as a dict",
    "query_param": "one query parameter (absent: None)",
    "version": "the expected version: If-Match, else the body's version (taken out of it), else None",
    "csv": "the text/csv body, as a string",
    "cursor": "the page cursor of a download (None for the first page)",
    "department": "the department of the user named in the one field of `users`",
    "departments": "{user_id: department_id} of the users named in the fields of `users`",
}
JSON_SOURCES = ("body", "field")
_PATH_PARAM = re.compile(r"<(?:[^:>]+:)?([a-z_]+)>")


@dataclass(frozen=True)
class Arg:
    """One keyword argument of a route's call: ``name``, and where its value comes from."""
    name: str
    source: str
    key: str | None = None     # the body field / query parameter read (default: ``name``)
    doc: str | None = None     # of a query parameter: its description in the OpenAPI document

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"unknown argument source {self.source!r}; choose from {', '.join(SOURCES)}")

    @property
    def read(self) -> str:
        return self.key or self.name


def body(name: str = "data") -> Arg:
    return Arg(name, "body")


def field(name: str, key: str | None = None) -> Arg:
    return Arg(name, "field", key)


def query(name: str = "query") -> Arg:
    return Arg(name, "query")


def query_param(name: str, key: str | None = None, doc: str | None = None) -> Arg:
    return Arg(name, "query_param", key, doc)


def version(name: str = "expected_version") -> Arg:
    return Arg(name, "version")


def csv(name: str = "csv_text") -> Arg:
    return Arg(name, "csv")


def cursor(name: str = "cursor") -> Arg:
    return Arg(name, "cursor")


@dataclass(frozen=True)
class Users:
    """Body fields naming users, checked by the gateway before the call (it owns the users).

    ``lists=False``: each field holds one user id; anything but a known user's id (absent, not text,
    unknown) is 422 on the field. ``lists=True``: each field holds a list of ids; each text id must be
    a known user's (422 on its field); a field that is absent or not a list is the service's to refuse.
    ``departments``: pass the users' departments as this argument -- for one field of one id, that
    user's department; else ``{user_id: department_id}`` of every user named."""
    fields: tuple[str, ...]
    lists: bool = False
    departments: str | None = None

    def __post_init__(self):
        if self.departments and not self.lists and len(self.fields) != 1:
            raise ValueError("the department of one user needs exactly one field")

    @property
    def argument(self) -> Arg | None:
        if self.departments is None:
            return None
        return Arg(self.departments, "departments" if self.lists else "department")


def users(*fields: str, departments: str | None = None) -> Users:
    return Users(fields, False, departments)


def user_lists(*fields: str, departments: str | None = None) -> Users:
    return Users(fields, True, departments)


@dataclass(frozen=True)
class Route:
    method: str
    path: str                 # werkzeug syntax: /api/v1/leads/<lead_id>
    service: str              # "gateway" = handled here (identity), else the RPC target
    rpc: str
    summary: str
    tag: str
    args: tuple[Arg, ...] = ()  # the call's keyword arguments besides the path parameters
    users: Users | None = None  # body fields naming users: checked before the call
    status: int = 200
    location: str | None = None  # for 201: URL template; {name} from the path parameters, else the result
    public: bool = False      # no bearer token needed (sign-in): rate-limited per IP and per (limit_by, IP)
    limit_by: str | None = None  # of a public route: the body field its per-user rate limit counts by
    request: str | None = None
    response: str | None = None
    query_schema: str | None = None  # the schema of the query string (documents the filters)
    download: str | None = None  # the RPC answers pages {"csv", "next_cursor"} of this text/csv file, streamed
    description: str | None = None  # more than the summary, for the OpenAPI document

    def __post_init__(self):
        names = [a.name for a in self.arguments]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.method} {self.path}: an argument is given twice: {names}")
        if bool(self.download) != any(a.source == "cursor" for a in self.args):
            raise ValueError(f"{self.method} {self.path}: a download takes a cursor argument, nothing else does")

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(_PATH_PARAM.findall(self.path))

    @property
    def arguments(self) -> tuple[Arg, ...]:
        """Every keyword argument of the call: the path parameters, ``args``, the users' departments."""
        extra = (self.users.argument,) if self.users and self.users.argument else ()
        return (*(Arg(p, "path") for p in self.path_params), *self.args, *extra)

    def takes(self, *sources: str) -> bool:
        return any(a.source in sources for a in self.args)

    @property
    def json_body(self) -> bool:
        return self.takes(*JSON_SOURCES) or self.users is not None

    @property
    def spread_fields(self) -> tuple[str, ...]:
        """The body fields the call gets one by one (a route with any takes no others)."""
        return tuple(a.read for a in self.args if a.source == "field")

    @property
    def creates(self) -> bool:
        return self.status == 201

    @property
    def idempotent(self) -> bool:
        """A write that takes an ``Idempotency-Key`` (api.md: creates; here every write -- an action,
        an update, a delete -- so that a client told 503 can retry any of them safely)."""
        return self.method in ("POST", "PATCH", "DELETE") and not self.public and not self.download


def _crud(tag, base, param, service, singular, plural, schema, create=True, update=True, delete=False,
          list_schema=None, create_schema=None, update_schema=None, create_rpc=None):
    routes = [Route("GET", base, service, f"list_{plural}", f"List {plural.replace('_', ' ')}", tag, (query(),),
                    response=list_schema or f"{service}.{schema}List",
                    query_schema=f"{service}.{schema}ListQuery"),
              Route("GET", f"{base}/<{param}>", service, f"get_{singular}", f"Read a {singular.replace('_', ' ')}",
                    tag, response=f"{service}.{schema}")]
    if create:
        routes.append(Route("POST", base, service, create_rpc or f"create_{singular}",
                            f"Create a {singular.replace('_', ' ')}", tag, (body(),), status=201,
                            location=f"{base}/{{id}}", request=create_schema or f"{service}.{schema}Create",
                            response=f"{service}.{schema}"))
    if update:
        routes.append(Route("PATCH", f"{base}/<{param}>", service, f"update_{singular}",
                            f"Update a {singular.replace('_', ' ')} (If-Match: version)", tag,
                            (body(), version()), request=update_schema or f"{service}.{schema}Update",
                            response=f"{service}.{schema}"))
    if delete:
        routes.append(Route("DELETE", f"{base}/<{param}>", service, f"delete_{singular}",
                            f"Delete a {singular.replace('_', ' ')} (If-Match: version)", tag, (version(),),
                            status=204))
    return routes


def _record_extras(service, base, singular):
    """History and team members of a record (domain.md: audit, team access)."""
    return [
        Route("GET", f"{base}/history", service, f"{singular}_history",
              f"Who changed this {singular}, when, and what (newest first)", service, (query(),),
              response=f"{service}.AuditList", query_schema=f"{service}.HistoryQuery"),
        Route("GET", f"{base}/team", service, f"list_{singular}_team", f"The {singular}'s team members", service,
              response=f"{service}.TeamList"),
        Route("POST", f"{base}/team", service, f"set_{singular}_team_member",
              f"Add a team member to the {singular}, or change their access", service,
              (field("user_id"), field("access")), users("user_id"), request=f"{service}.TeamMemberSet",
              response=f"{service}.TeamMember"),
        Route("DELETE", f"{base}/team/<user_id>", service, f"remove_{singular}_team_member",
              f"Remove a team member from the {singular}", service, status=204),
    ]


ROUTES = (
    # identity (owned by the gateway)
    Route("POST", "/api/v1/auth/token", "gateway", "login", "Sign in: exchange a username and password for a "
          "bearer token", "identity", (body(),), public=True, limit_by="username", request="gateway.TokenRequest",
          response="gateway.Token"),
    Route("GET", "/api/v1/me", "gateway", "me", "The signed-in user, with the departments in their scope",
          "identity", response="gateway.Me"),
    *_crud("identity", "/api/v1/users", "user_id", "gateway", "user", "users", "User"),
    *_crud("identity", "/api/v1/departments", "department_id", "gateway", "department", "departments",
           "Department"),
    # leads
    *_crud("leads", "/api/v1/leads", "lead_id", "leads", "lead", "leads", "Lead", delete=True),
    Route("POST", "/api/v1/leads/<lead_id>/convert", "leads", "convert_lead",
          "Convert a lead into a customer, contact and optionally an opportunity", "leads", (body(),),
          request="leads.ConvertRequest", response="leads.Lead"),
    *_record_extras("leads", "/api/v1/leads/<lead_id>", "lead"),
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
    Route("GET", "/api/v1/me/reminders", "leads", "lead_reminders",
          "The caller's due reminders: next contact times and recycle warnings of their leads", "leads",
          (query(),), response="leads.ReminderList", query_schema="leads.ReminderQuery"),
    *[replace(r, users=user_lists("admin_ids", "member_ids", departments="user_departments"))
      if r.method in ("POST", "PATCH") else r
      for r in _crud("leads", "/api/v1/lead-pools", "pool_id", "leads", "lead_pool", "lead_pools", "LeadPool")],
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
    # customers and contacts
    *_crud("customers", "/api/v1/customers", "customer_id", "customers", "customer", "customers", "Customer",
           delete=True),
    Route("GET", "/api/v1/customers/<customer_id>/contacts", "customers", "list_customer_contacts",
          "List a customer's contacts", "customers", response="customers.ContactList"),
    *_record_extras("customers", "/api/v1/customers/<customer_id>", "customer"),
    *_crud("customers", "/api/v1/contacts", "contact_id", "customers", "contact", "contacts", "Contact",
           delete=True),
    Route("GET", "/api/v1/contacts/<contact_id>/history", "customers", "contact_history",
          "Who changed this contact, when, and what", "customers", (query(),), response="customers.AuditList",
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

