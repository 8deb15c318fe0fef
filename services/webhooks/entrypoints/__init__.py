"""The webhooks service's entrypoints, a class per subject (thin adapters from RPC / events / jobs to
``application``): each module defines one ``<Subject>Entrypoints`` class, and ``classes()`` gathers
them (``WebhooksService`` derives from them all; a new subject's module is found by itself)."""
from __future__ import annotations

import importlib
import pkgutil


def classes() -> tuple[type, ...]:
    """Every module's ``*Entrypoints`` class, in module-name order."""
    out = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        out.extend(v for k, v in vars(module).items()
                   if k.endswith("Entrypoints") and isinstance(v, type) and v.__module__ == module.__name__)
    return tuple(out)
