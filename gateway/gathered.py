"""Every route the gateway answers by gathering several services' answers for one page (their route
names service ``gateway``, as identity's do): ``GATHERED[name](gateway, principal, **arguments)``,
``gateway`` the worker's service instance (its RPC proxies by service name; ``fanout``: parallel
calls within a deadline, ``gateway.fanout``). A module per page: the reminders
(``gateway.reminders``), the customer's overview (``gateway.overview``), long work as jobs
(``gateway.jobs``: started on the owning service, read, listed and cancelled by job id).
``tests/unit/test_gateway_routes.py`` checks their routes' arguments against these signatures."""
from __future__ import annotations

from gateway import jobs, overview, reminders

GATHERED = {
    **reminders.GATHERED,
    **jobs.GATHERED,
    "customer_overview": overview.customer_overview,
}
