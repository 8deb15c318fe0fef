"""What the contract scenarios share: the catalogue, service databases as their units of work see
them, acting as someone, delivering an event as a service's entrypoint does, and the scenario
shapes (``Producing``, ``Consuming``). Scenarios live in ``tests/contract/scenarios/``, a module per
producer or subject, each with ``PRODUCERS`` (a list) and ``CONSUMERS`` (a dict)."""
from __future__ import annotations

import datetime as dt
import importlib
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from crm_kit.context import Principal, principal_var, request_id_var
from crm_kit.ops import catalogue as cat
from crm_kit.ops.topology import event_handlers, service_class
from crm_kit.records.db import make_engine
from crm_kit.runtime.uow import UnitOfWork

CATALOGUE = cat.build()
ADMIN = Principal(user_id="u1", role="admin")

FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _rfc3339_date_time(value) -> bool:
    # jsonschema only checks date-time with an optional extra installed; RFC 3339 needs the offset.
    return not isinstance(value, str) or dt.datetime.fromisoformat(value).tzinfo is not None


def validator(schema: dict) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=FORMATS)


def assert_valid(schema: dict, instance: dict) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
              for e in validator(schema).iter_errors(instance)]
    assert not errors, f"{instance.get('producer')}.{instance.get('event_type')} breaks its contract:\n" + \
        "\n".join(errors)


def entry_id(entry: dict) -> str:
    return f"{entry['producer']}.{entry['name']}"


# -- a service's database, as its unit of work sees it ------------------------
class ServiceDb:
    def __init__(self, service: str, directory):
        self.service = service
        self.metadata = importlib.import_module(f"services.{service}.models").Base.metadata
        self.engine = make_engine(f"sqlite:///{directory / (service + '.db')}")
        self.metadata.create_all(self.engine)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)

    def uow(self, inbox_key: tuple[str, str] | None = None) -> UnitOfWork:
        return UnitOfWork(self.session_factory, self.service, self.metadata, inbox_key=inbox_key)

    def outbox(self) -> list[dict]:
        table = self.metadata.tables["outbox"]
        with self.engine.connect() as conn:
            return [row.body for row in conn.execute(select(table).order_by(table.c.id))]

    def processed(self, handler: str, event_id: str) -> bool:
        table = self.metadata.tables["processed_events"]
        with self.engine.connect() as conn:
            return conn.execute(select(table).where(
                table.c.handler == handler, table.c.event_id == event_id)).first() is not None

    def get(self, model, key):
        with self.session_factory() as session:
            return session.get(model, key)


def open_dbs(tmp_path):
    """``dbs("leads")``: that service's database (one fresh SQLite file per test)."""
    opened: dict[str, ServiceDb] = {}

    def get(service: str) -> ServiceDb:
        if service not in opened:
            opened[service] = ServiceDb(service, tmp_path)
        return opened[service]

    yield get
    for db in opened.values():
        db.engine.dispose()


@contextmanager
def acting_as(principal: Principal, request_id: str | None):
    tokens = principal_var.set(principal), request_id_var.set(request_id)
    try:
        yield
    finally:
        principal_var.reset(tokens[0])
        request_id_var.reset(tokens[1])


def deliver(dbs, handler: str, use_case, envelope: dict) -> None:
    """``envelope`` to a handler's use case as its service does: what the entrypoint makes of it (the
    payload, loaded with the schema it declares), the envelope's actor the audit's, as the platform."""
    consumer, method = handler.split(".")
    entrypoint = next(ep for queue, ep in event_handlers(service_class(consumer)) if queue.method == method)
    uow = dbs(consumer).uow(inbox_key=(handler, envelope["event_id"]))
    uow.default_actor = envelope.get("actor")
    with acting_as(Principal.system(consumer), envelope["correlation_id"]):
        use_case(uow, entrypoint.argument(envelope))


@dataclass(frozen=True)
class Producing:
    producer: str
    run: Callable          # (dbs) -> None, acting as ADMIN
    emits: frozenset       # event names the run writes to the producer's outbox


@dataclass(frozen=True)
class Consuming:
    handle: Callable                        # the application function: (uow, loaded payload) -> None
    check: Callable                         # (dbs, payload) -> None: the handler's effect
    prepare: Callable = lambda dbs, envelope: envelope   # state the event refers to


