"""A route's call, read off the request exactly as the route declares it (``gateway.routes``).

:func:`keywords` answers the keyword arguments of the call, for every route alike; nothing here
knows a field, a method or a service by name. In order, so that the first error a request has is
the one it gets:

1. the JSON body (when an argument or ``users`` reads it), or the text/csv body;
2. a route spreading body fields takes no others (422 "Unknown field.");
3. the expected version (``If-Match``, else the body's ``version``, which is the gateway's: taken out
   of the body before the service sees it);
4. ``users``: the user ids named in the body are checked (users are the gateway's own), and their
   departments resolved when the route passes them;
5. each argument's value, by its source.

A download's ``cursor`` argument is None here (the first page); the dispatcher sets it for the next.
"""
from __future__ import annotations

from crm_kit.errors import ValidationFailed
from crm_kit.runtime.uow import UnitOfWork
from gateway import inputs
from gateway.identity import users as identity_users
from gateway.routes import Route, Users


def keywords(route: Route, request, params: dict, uow: UnitOfWork) -> dict:
    """``{keyword: value}`` of ``route``'s call for ``request`` (``params``: its path parameters)."""
    body = inputs.json_body(request) if route.json_body else None
    text = inputs.csv_body(request) if route.takes("csv") else None
    if route.spread_fields:
        unknown = set(body) - set(route.spread_fields)
        if unknown:
            raise ValidationFailed.from_messages({k: ["Unknown field."] for k in sorted(unknown)})
    expected = inputs.expected_version(request, body) if route.takes("version") else None
    resolved = resolve_users(route.users, body, uow) if route.users else None
    values = {
        "path": lambda arg: params[arg.read],
        "body": lambda arg: body,
        "field": lambda arg: body.get(arg.read),
        "query": lambda arg: inputs.query(request),
        "query_param": lambda arg: request.args.get(arg.read),
        "version": lambda arg: expected,
        "csv": lambda arg: text,
        "cursor": lambda arg: None,
        "link": lambda arg: inputs.portal_link(request),
        "department": lambda arg: resolved,
        "departments": lambda arg: resolved,
    }
    return {arg.name: values[arg.source](arg) for arg in route.arguments}


def resolve_users(declared: Users, body: dict, uow: UnitOfWork):
    """Check the user ids ``declared`` names in ``body`` (422 on the field of an unknown one); answer
    what its ``departments`` argument gets: ``{user_id: department_id}`` of them (``lists``), or the
    department of the one user named (one field of one id)."""
    if declared.lists:
        named = {f: body[f] for f in declared.fields if isinstance(body.get(f), list)}
        named = {f: [u for u in ids if isinstance(u, str)] for f, ids in named.items()}
    else:
        missing = [f for f in declared.fields if not isinstance(body.get(f), str)]
        if missing:
            raise ValidationFailed.from_messages({f: ["Unknown user."] for f in missing})
        named = {f: [body[f]] for f in declared.fields}
    departments = identity_users.departments_of(uow, named)
    if declared.lists:
        return departments
    return departments[body[declared.fields[0]]]
