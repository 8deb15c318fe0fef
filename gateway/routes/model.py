"""The route model: what a route of the gateway says (``Route``), where its call's arguments come
from (``Arg`` and the helpers ``body``, ``field``, ``query``, ...), which users it checks (``users``,
``user_lists``), and the shapes every resource repeats (``crud``, ``record_extras``). See
``gateway.routes`` for how the dispatcher uses them."""
from __future__ import annotations

import re
from dataclasses import dataclass

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
    "link": "a customer's signed link: the X-Portal-Link header (a ``link`` route's; absent: 401 missing)",
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


def link(name: str = "token") -> Arg:
    return Arg(name, "link")


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
    # A customer's route (the portal): no bearer token and no user; the call gets the signed link the
    # customer holds (``link()``: the X-Portal-Link header), which the owning service checks (forged 401,
    # wrong purpose 403, expired or used 410). Rate-limited per IP and per link (RATE_LIMIT_PORTAL_*).
    link: bool = False
    request: str | None = None
    response: str | None = None
    query_schema: str | None = None  # the schema of the query string (documents the filters)
    download: str | None = None  # the RPC answers pages {"csv", "next_cursor"} of this text/csv file, streamed
    description: str | None = None  # more than the summary, for the OpenAPI document
    media_type: str | None = None  # the call answers this body as text (e.g. text/calendar), not JSON

    def __post_init__(self):
        names = [a.name for a in self.arguments]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.method} {self.path}: an argument is given twice: {names}")
        if self.link != any(a.source == "link" for a in self.args) or self.link and (self.public or self.users):
            raise ValueError(f"{self.method} {self.path}: a link route (and only one) takes the link argument; "
                             "it is neither a sign-in nor names users")
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
        return self.method in ("POST", "PATCH", "DELETE") and not self.public and not self.link and not self.download


def crud(tag, base, param, service, singular, plural, schema, create=True, update=True, delete=False,
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


def record_extras(service, base, singular):
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


