"""The support service's routes, a module per subject (as ``services/support/application``): ``ROUTES``
gathers every module's (a new subject's module is found by itself)."""
from __future__ import annotations

import importlib
import pkgutil


def _routes() -> tuple:
    out = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        out.extend(importlib.import_module(f"{__name__}.{info.name}").ROUTES)
    return tuple(out)


ROUTES = _routes()
