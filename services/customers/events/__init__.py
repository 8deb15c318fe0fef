"""The customers service's events: those it publishes (``published``) and its view of those it
consumes (``consumed``). Consumed: ``leads.lead_converted`` (create or link the customer and its
primary contact)."""
from services.customers.events.consumed import *  # noqa: F401,F403
from services.customers.events.published import *  # noqa: F401,F403
