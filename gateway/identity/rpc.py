"""The identity use cases the route table names ``gateway.<rpc>``.

Called like the services' RPCs -- keyword arguments, as the route declares them
(``gateway.routes``) -- with the gateway's unit of work and the caller's principal first:
``RPCS[name](uow, principal, **arguments)``. ``tests/unit/test_gateway_routes.py`` checks every
route's arguments against these signatures, as it does the services' RPC methods.
"""
from __future__ import annotations

from gateway.identity import auth, departments, users

RPCS = {
    "login": auth.login,
    "me": users.me,
    "list_users": users.list_users,
    "get_user": users.get_user,
    "create_user": users.create_user,
    "update_user": users.update_user,
    "list_departments": departments.list_departments,
    "get_department": departments.get_department,
    "create_department": departments.create_department,
    "update_department": departments.update_department,
}
