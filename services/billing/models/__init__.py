"""Billing's tables (its own database), a module per subject; ``Base`` carries them all (and the kit's).

Every module of this package is imported here (a new subject's module is found by itself) and its
public names re-exported: ``from services.billing.models import Receivable``.

- ``receivables``: receivables (one per approved order) and their plans' instalments;
- ``payments``: payments under review, refunds (credit entries), the numbering counters;
- ``invoices``: invoices requested, reviewed, issued, voided;
- ``dunning``: the dunning levels sent, per due;
- ``customers``: which customer id a merged one became, and who owns each customer now.
"""
import importlib as _importlib
import pkgutil as _pkgutil

from services.billing.models.base import Base

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
