"""What the webhooks RPC API accepts and returns, a module per subject (``subscriptions``: the
subscriptions and the secret shown once; ``deliveries``: the delivery log and replays).

Inputs derive from ``InputSchema`` (unknown and server-owned fields refused); outputs are
``<Thing>Out``, pages ``page_of(<Thing>Out)``. ``service.py`` collects every module's schemas for
the API (``modules()``): a new subject's module is found by itself. A name starting with ``_`` is
internal.
"""
import importlib
import pkgutil


def modules() -> list:
    """Every module of this package, in name order."""
    return [importlib.import_module(f"{__name__}.{info.name}")
            for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name)]
