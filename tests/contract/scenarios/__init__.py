"""The contract scenarios, a module per producer or subject: each defines ``PRODUCERS`` (a list of
``Producing``: a real code path and the events it writes to its outbox) and ``CONSUMERS``
(``{(source, event_type, handler): Consuming}``). ``all_producers()`` / ``all_consumers()`` gather them
(a new module is found by itself)."""
from __future__ import annotations

import importlib
import pkgutil


def _modules():
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        yield importlib.import_module(f"{__name__}.{info.name}")


def all_producers() -> list:
    return [scenario for module in _modules() for scenario in getattr(module, "PRODUCERS", [])]


def all_consumers() -> dict:
    found: dict = {}
    for module in _modules():
        for key, scenario in getattr(module, "CONSUMERS", {}).items():
            assert key not in found, f"two scenarios for {key}"
            found[key] = scenario
    return found
