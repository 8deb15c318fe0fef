"""A handler per event of the catalogue (``events/subscribed.json``): each stores the event and a
delivery per matching subscription (``application/intake.py``). The methods are made here, one per
``(producer, event)``: ``on_<producer>_<event>``, consuming the envelope whole (no payload schema: it
is forwarded as it came, after the kit checked the envelope)."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import event_handler
from services.webhooks.application import intake
from services.webhooks.events.subscribed import subscribed


def handler_name(producer: str, event: str) -> str:
    return f"on_{producer}_{event}"


def _handler(producer: str, event: str):
    def handle(self, envelope):
        return intake.record_event(self.db, envelope)

    handle.__name__ = handle.__qualname__ = handler_name(producer, event)
    handle.__doc__ = f"{producer}.{event}: stored, a delivery per matching active subscription."
    return event_handler(producer, event)(handle)


IntakeEntrypoints = type("IntakeEntrypoints", (), {
    "__doc__": "(``WebhooksService`` derives from it: a handler per event of the catalogue.)",
    "__module__": __name__,
    **{handler_name(p, e): _handler(p, e) for p, e in subscribed()},
})
