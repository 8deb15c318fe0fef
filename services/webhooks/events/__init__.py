"""The webhooks service's events, a module per subject: the ``EventType`` it publishes
(``subscriptions``: a subscription disabled by its failures) and, in ``subscribed``, the list of every
event it consumes (each consumed as its envelope: it forwards them whole, so it has no view of their
payloads). Every module's public
names are gathered here (the event catalogue reads this package: ``crm_kit.ops.catalogue``), so a
new subject's module is found by itself."""
import importlib as _importlib
import pkgutil as _pkgutil

from crm_kit.runtime.events import EventType as _EventType

__all__ = []
for _info in sorted(_pkgutil.iter_modules(__path__), key=lambda i: i.name):
    _module = _importlib.import_module(f"{__name__}.{_info.name}")
    # a module's __all__, else its events and the (payload) schemas it defines itself
    _names = getattr(_module, "__all__", None) or [
        n for n, v in vars(_module).items() if not n.startswith("_") and (
            isinstance(v, _EventType) or isinstance(v, type) and v.__module__ == _module.__name__)]
    for _name in _names:
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)
