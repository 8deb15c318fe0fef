"""The sales service's own nameko dependencies.

``OrgDirectory``: the organisation as the approval engine (and "reopened by the owner's manager")
sees it. Identity is the gateway's: the worker's ``self.org`` is a zero-argument callable returning
an ``OrgChart`` (``services.sales.domain.org``) fetched over RPC from ``gateway.org_chart`` -- with
the kit's deadline (``crm_kit.runtime.rpc_client.ServiceRpc``: a gateway that does not answer is a
503, ``ServiceUnavailable``) -- and kept for ``SALES_ORG_CHART_TTL_SECONDS`` (default 5) per
process, so a burst of submissions asks once and a user moved or disabled counts within seconds.
It is called only by the use cases that need it (``self.org()``; ``self.org(knowing=[ids])`` when the
request names users or departments the chart must know), never on every request.
"""
from __future__ import annotations

import time

from eventlet.semaphore import Semaphore

from crm_kit.config import env_float
from crm_kit.context import PRINCIPAL_KEY
from crm_kit.runtime.rpc_client import ServiceRpc
from services.sales.domain.org import OrgChart

DEFAULT_TTL = 5.0      # seconds an org chart is reused


class OrgDirectory(ServiceRpc):
    """``org = OrgDirectory()`` on the service: ``self.org()`` is the current ``OrgChart``."""

    def __init__(self, ttl: float | None = None, **options):
        super().__init__("gateway", **options)
        self.ttl = ttl if ttl is not None else env_float("SALES_ORG_CHART_TTL_SECONDS", DEFAULT_TTL)
        self._chart: OrgChart | None = None
        self._fetched_at = 0.0
        self._lock = Semaphore()

    def get_dependency(self, worker_ctx):
        proxy = super().get_dependency(worker_ctx)
        principal = (getattr(worker_ctx, "context_data", None) or {}).get(PRINCIPAL_KEY) or {}
        caller = principal.get("user_id") if principal.get("role") != "system" else None
        return lambda knowing=(): self.chart(lambda: proxy.org_chart(), caller, knowing)

    def chart(self, fetch, caller: str | None = None, knowing=()) -> OrgChart:
        """The cached chart while it is fresh, else ``fetch()`` (one fetch at a time per process; a
        failed fetch raises, the stale chart is not served past its time). A chart that does not know
        the caller, or one of the users or departments the request names (``self.org(knowing=[...])``),
        is not fresh: a user or department created a moment ago counts at once, not after the TTL (an id
        the fresh chart does not know either is the use case's to refuse)."""
        wanted = {caller, *knowing} - {None, ""}

        def fresh():
            return (self._chart is not None and time.monotonic() - self._fetched_at < self.ttl
                    and all(i in self._chart.users or i in self._chart.departments for i in wanted))
        if fresh():
            return self._chart
        with self._lock:
            if fresh():
                return self._chart
            chart = OrgChart.of(fetch())
            self._chart, self._fetched_at = chart, time.monotonic()
            return chart
