"""nameko dependency providers every service declares (see ``CrmService``)."""
from __future__ import annotations

from functools import partial

from eventlet.queue import LightQueue
from nameko.extensions import DependencyProvider
from sqlalchemy.orm import sessionmaker

from crm_kit.amqp import ConfirmingPublisher
from crm_kit.context import Principal, principal_var, request_id_var
from crm_kit.db import make_engine
from crm_kit.outbox import OutboxRelay
from crm_kit.uow import UnitOfWork


class RequestContext(DependencyProvider):
    """Puts the caller's request id and principal into context variables for the
    worker (logging and the outbox read them), and gives the service
    ``self.principal``."""

    def worker_setup(self, worker_ctx):
        request_id_var.set(worker_ctx.data.get("request_id"))
        principal_var.set(Principal.from_dict(worker_ctx.data.get("principal")))

    def get_dependency(self, worker_ctx):
        return Principal.from_dict(worker_ctx.data.get("principal"))


class Database(DependencyProvider):
    """One :class:`UnitOfWork` per worker on the service's own database, and the
    outbox relay that publishes what those units of work commit."""

    def __init__(self, base):
        self.base = base

    def setup(self):
        settings = self.container.config["CRM_SETTINGS"]
        self.settings = settings
        self.engine = make_engine(settings.database_url, pool_size=settings.max_workers + 2)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        self.relay = OutboxRelay(self.container.service_name, self.session_factory, self.base.metadata,
                                 ConfirmingPublisher(settings.amqp_uri), settings.outbox_sweep_min_age)
        self._queue = LightQueue()
        self._running = False

    def start(self):
        self._running = True
        self._gt = self.container.spawn_managed_thread(self._relay_loop, identifier="outbox-relay")

    def stop(self):
        self._running = False
        self._queue.put(None)
        try:
            self._gt.wait()
        except Exception:  # pragma: no cover
            pass
        self.relay.publisher.close()
        self.engine.dispose()

    def kill(self):
        self._running = False
        self.engine.dispose()

    def _relay_loop(self):
        self.relay.run(self._queue, self.settings.outbox_sweep_interval, lambda: self._running)

    def get_dependency(self, worker_ctx):
        inbox_key = None
        handler = getattr(worker_ctx.entrypoint, "inbox_handler_name", None)
        if handler is not None:
            inbox_key = (handler, worker_ctx.data["event_id"])
        return UnitOfWork(self.session_factory, self.container.service_name, self.base.metadata,
                          on_commit=partial(self.relay.hand_over, queue=self._queue), inbox_key=inbox_key)
