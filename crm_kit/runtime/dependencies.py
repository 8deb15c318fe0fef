"""nameko dependency providers every service declares (see ``CrmService``)."""
from __future__ import annotations

import datetime as dt
import logging
from functools import partial

import eventlet
from eventlet.queue import LightQueue
from nameko.extensions import DependencyProvider
from sqlalchemy.orm import sessionmaker

from crm_kit.context import DEADLINE, MAYBE_HANDLED, REQUEST_KEY, Principal, principal_var, request_id_var
from crm_kit.records.db import make_engine, utcnow
from crm_kit.runtime.amqp import ConfirmingPublisher
from crm_kit.runtime.outbox import OutboxRelay
from crm_kit.runtime.uow import RpcRequest, UnitOfWork, purge_handled_requests

log = logging.getLogger(__name__)

KEEP_REPLIES = dt.timedelta(days=2)     # longer than any retry: the gateway keeps an Idempotency-Key 24 h
HOUSEKEEPING_INTERVAL = 600.0           # seconds between purges of old replies


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
    outbox relay that publishes what those units of work commit.

    An RPC worker's unit of work knows its request (key, deadline, maybe handled before: see
    ``crm_kit.runtime.entrypoints``), so that it records the reply with the effect; a writing RPC that
    committed without recording its reply (``uow.commit(reply)``) is logged as an error, since a
    redelivery of it would be applied twice (the integration tests fail on that line)."""

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
        self._housekeeper = self.container.spawn_managed_thread(self._housekeeping, identifier="housekeeping")

    def stop(self):
        self._running = False
        self._housekeeper.kill()
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

    def _housekeeping(self):
        while self._running:
            try:
                purge_handled_requests(self.session_factory, self.base.metadata, utcnow() - KEEP_REPLIES)
            except Exception as exc:  # the database is away: next time
                log.warning("could not purge old request replies: %r", exc)
            eventlet.sleep(HOUSEKEEPING_INTERVAL)

    def get_dependency(self, worker_ctx):
        inbox_key = request = None
        handler = getattr(worker_ctx.entrypoint, "inbox_handler_name", None)
        if handler is not None:
            inbox_key = (handler, worker_ctx.data["event_id"])
        elif worker_ctx.data.get(REQUEST_KEY):
            request = RpcRequest(worker_ctx.data[REQUEST_KEY], worker_ctx.entrypoint.method_name,
                                 worker_ctx.data.get(DEADLINE), bool(worker_ctx.data.get(MAYBE_HANDLED)))
        uow = UnitOfWork(self.session_factory, self.container.service_name, self.base.metadata,
                         on_commit=partial(self.relay.hand_over, queue=self._queue), inbox_key=inbox_key,
                         request=request)
        uow.default_actor = worker_ctx.data.get("crm_event_actor")    # an event: done for whoever caused it
        worker_ctx.crm_uow = uow
        return uow

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        uow = getattr(worker_ctx, "crm_uow", None)
        if uow is not None and uow.request is not None and uow.committed and not uow.reply_recorded:
            log.error("rpc %s committed without recording its reply (end the use case with "
                      "`return uow.commit(reply)`): a redelivery of it would be applied twice",
                      uow.request.method, extra={"rpc": uow.request.method})
