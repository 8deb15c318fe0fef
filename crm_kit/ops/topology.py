"""What a service consumes, read off its class (so migrate, the DLQ tooling and
the docs never keep a second list)."""
from __future__ import annotations

import importlib
import inspect

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from crm_kit.config import ALL_PROCESSES
from crm_kit.runtime.amqp import HandlerQueue


def service_class(name: str):
    """The nameko service class of ``name`` (``services.<name>.service`` or ``gateway.service``)."""
    if name not in ALL_PROCESSES:
        raise SystemExit(f"unknown service {name!r}; choose from {', '.join(ALL_PROCESSES)}")
    module = importlib.import_module("gateway.service" if name == "gateway" else f"services.{name}.service")
    for _, obj in inspect.getmembers(module, inspect.isclass):
        if getattr(obj, "name", None) == name and obj.__module__ == module.__name__:
            return obj
    raise SystemExit(f"no nameko service named {name!r} in {module.__name__}")


def event_handlers(cls) -> list[tuple[HandlerQueue, object]]:
    """Each event handler of a service class: its queue, and its entrypoint (whose ``argument``
    makes what the method is called with, as the running service does)."""
    from crm_kit.runtime.entrypoints import CrmEventHandler
    out = []
    for method_name, method in inspect.getmembers(cls, inspect.isfunction):
        for ep in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(ep, CrmEventHandler):
                out.append((HandlerQueue(ep.source_service, ep.event_type, cls.name, method_name), ep))
    return out


def handler_queues(cls) -> list[HandlerQueue]:
    return [queue for queue, _ in event_handlers(cls)]
