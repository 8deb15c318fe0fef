"""Sales' tables (its own database), a module per subject; ``Base`` carries them all (and the kit's).

Every module of this package is imported here (a new subject's module is found by itself) and its
public names re-exported: ``from services.sales.models import Order``.

- ``products``: products, price lists and their prices;
- ``opportunities``: opportunities, their lines, team, stage history; pipelines and lost reasons;
- ``approvals``: approval flows, their steps, and the approval requests with every decision;
- ``quotes`` / ``orders``: quotes and orders with their lines; the numbering counters;
- ``contracts``: contracts; ``targets``: sales targets and the facts that make their attainment;
- ``opportunity_requests``: the requests recorded before the pipeline existed.
"""
import importlib as _importlib
import pkgutil as _pkgutil

from services.sales.models.base import Base

__all__ = ["Base"]
for _info in sorted(_pkgutil.iter_modules(__path__), key=lambda i: i.name):
    _module = _importlib.import_module(f"{__name__}.{_info.name}")
    # a module's __all__, else the tables (and other public classes) it defines itself
    _names = getattr(_module, "__all__", None) or [
        n for n, v in vars(_module).items()
        if not n.startswith("_") and isinstance(v, type) and v.__module__ == _module.__name__]
    for _name in _names:
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)
