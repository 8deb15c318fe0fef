"""The gateway's route table: HTTP path -> the service's RPC (or the gateway's identity use case).

One entry per route of ``shared/api.md``, a module per context (``identity``, ``leads``, and
``customers/``, ``sales/``, ``billing/``, ``support/`` by subject, ``webhooks``); the route model is
``gateway.routes.model``. A route says declaratively what its call gets, and the dispatcher
(``gateway.service``, through ``gateway.arguments``) does exactly that, for every route alike: the
call's **keyword** arguments are

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

from werkzeug.routing import BaseConverter, Map, Rule

from gateway.routes import billing, customers, identity, jobs, leads, me, sales, support, webhooks
from gateway.routes.model import *  # noqa: F401,F403  (the route model, for the dispatcher and the tests)
from gateway.routes.model import Route  # noqa: F401

ROUTES = (identity.ROUTES + me.ROUTES + leads.ROUTES + customers.ROUTES + sales.ROUTES + billing.ROUTES
          + support.ROUTES + webhooks.ROUTES + jobs.ROUTES)


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

