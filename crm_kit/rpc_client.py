"""Calling another service over RPC with a deadline.

``ServiceRpc("leads", timeout=...)`` is nameko's ``RpcProxy`` with two
guarantees the caller (the gateway) needs: every call gives up after the
deadline, and an unreachable or silent service raises
:class:`~crm_kit.errors.ServiceUnavailable` (503) instead of hanging.
Typed errors from the callee arrive as themselves (``crm_kit.errors``).
"""
from __future__ import annotations

import eventlet
from nameko.exceptions import UnknownService
from nameko.rpc import RpcProxy

from crm_kit import metrics
from crm_kit.errors import CrmError, ServiceUnavailable


class _Method:
    def __init__(self, proxy, target: str, name: str, timeout: float):
        self.proxy, self.target, self.name, self.timeout = proxy, target, name, timeout

    def __call__(self, *args, **kwargs):
        method = getattr(self.proxy, self.name)
        outcome = "success"
        try:
            with eventlet.Timeout(self.timeout, ServiceUnavailable(
                    f"The {self.target} service did not answer in time.", {"service": self.target})):
                try:
                    reply = method.call_async(*args, **kwargs)
                except UnknownService:
                    raise ServiceUnavailable(f"The {self.target} service is not running.",
                                             {"service": self.target}) from None
                return reply.result()
        except CrmError as exc:
            outcome = "unavailable" if isinstance(exc, ServiceUnavailable) else f"error_{exc.status}"
            raise
        except Exception:
            outcome = "error_500"
            raise
        finally:
            metrics.RPC_CLIENT_CALLS.labels(self.target, self.name, outcome).inc()


class _Proxy:
    def __init__(self, proxy, target, timeout):
        self._proxy, self._target, self._timeout = proxy, target, timeout

    def __getattr__(self, name):
        return _Method(self._proxy, self._target, name, self._timeout)


class ServiceRpc(RpcProxy):
    def __init__(self, target_service: str, timeout: float | None = None, **options):
        super().__init__(target_service, **options)
        self.timeout = timeout

    def get_dependency(self, worker_ctx):
        timeout = self.timeout or self.container.config["CRM_SETTINGS"].rpc_timeout
        return _Proxy(super().get_dependency(worker_ctx), self.target_service, timeout)
