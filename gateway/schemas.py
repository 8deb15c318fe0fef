"""The schemas the route table names ``gateway.<Name>`` (the OpenAPI document reads them here).

The gateway's only routes of its own are identity's: their schemas are ``gateway.identity.schemas``.
Services own theirs (``services/<name>/schemas.py``).
"""
from __future__ import annotations

from gateway.identity.schemas import (  # noqa: F401
    Department,
    DepartmentCreate,
    DepartmentList,
    DepartmentListQuery,
    DepartmentUpdate,
    Me,
    Token,
    TokenRequest,
    User,
    UserCreate,
    UserList,
    UserListQuery,
    UserUpdate,
)
