"""Identity's routes (owned by the gateway itself): sign-in, me, users, departments."""
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
    Route("POST", "/api/v1/auth/token", "gateway", "login", "Sign in: exchange a username and password for a "
          "bearer token", "identity", (body(),), public=True, limit_by="username", request="gateway.TokenRequest",
          response="gateway.Token"),
    Route("GET", "/api/v1/me", "gateway", "me", "The signed-in user, with the departments in their scope",
          "identity", response="gateway.Me"),
    *crud("identity", "/api/v1/users", "user_id", "gateway", "user", "users", "User"),
    *crud("identity", "/api/v1/departments", "department_id", "gateway", "department", "departments",
           "Department"),
)
