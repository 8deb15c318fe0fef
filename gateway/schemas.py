"""The schemas the route table names ``gateway.<Name>`` (the OpenAPI document reads them here).

The gateway's routes of its own are identity's (their schemas are ``gateway.identity.schemas``) and
the gathered ones (``gateway.reminders``). Services own theirs (``services/<name>/schemas/``).
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
from gateway.jobs import Job, JobList, JobListQuery  # noqa: F401,E402  (long work as jobs)
from gateway.overview import CustomerOverview  # noqa: F401,E402  (the customer's overview)
from gateway.reminders import ReminderList, ReminderQuery  # noqa: F401,E402  (the gathered reminders)
