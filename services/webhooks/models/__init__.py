"""Webhooks's tables (its own database), a module per subject; ``Base`` carries them all (and the kit's).

Every module of this package is imported here (a new subject's module is found by itself) and its
public names re-exported: ``from services.webhooks.models import WebhookSubscription``.

- ``subscriptions``: the subscriptions (URL, secret, event types, ordered, active, the run of failures);
- ``deliveries``: the events received (kept for replays), one delivery per event and subscription,
  and each delivery's attempts (the delivery log).
"""
import importlib as _importlib
import pkgutil as _pkgutil

from services.webhooks.models.base import Base

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
