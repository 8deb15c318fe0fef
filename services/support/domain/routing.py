"""Who gets a ticket (issue 14; seed 001: 按技能和工作负荷分配): the least-loaded agent of the
ticket's group who has the skill, round-robin among equals, unless someone is chosen by hand.

An agent's skills are categories (fault, complaint, ...) and products; an empty set means every one.
An agent qualifies when active, under their capacity (open tickets), skilled in the ticket's
category and, if the ticket names a product, in that product. Among those, the fewest open tickets
wins; among equals, the one whose last assignment is the oldest (never assigned: first), then the
smallest id. :func:`choose` answers the agent and the inputs it decided on (for the audit and the
``ticket_assigned`` event), or None and why nobody (the ticket waits in the group's queue, ``new``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

NEVER = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Agent:
    user_id: str
    open_tickets: int = 0
    capacity: int = 20
    categories: frozenset[str] = field(default_factory=frozenset)   # empty: every category
    products: frozenset[str] = field(default_factory=frozenset)     # empty: every product
    active: bool = True
    last_assigned_at: dt.datetime | None = None

    def skilled(self, category: str | None, product_id: str | None) -> bool:
        return ((not self.categories or category in self.categories)
                and (product_id is None or not self.products or product_id in self.products))


@dataclass(frozen=True)
class Choice:
    user_id: str | None
    rule: str                      # least_loaded | nobody_skilled | all_at_capacity | no_agents
    inputs: dict

    def as_dict(self) -> dict:
        return {"user_id": self.user_id, "rule": self.rule, "inputs": self.inputs}


def choose(agents: list[Agent], category: str | None, product_id: str | None = None) -> Choice:
    inputs = {"category": category, "product_id": product_id}
    active = [a for a in agents if a.active]
    if not active:
        return Choice(None, "no_agents", inputs)
    skilled = [a for a in active if a.skilled(category, product_id)]
    if not skilled:
        return Choice(None, "nobody_skilled", inputs)
    free = [a for a in skilled if a.open_tickets < a.capacity]
    if not free:
        return Choice(None, "all_at_capacity", dict(inputs, skilled=sorted(a.user_id for a in skilled)))
    best = min(free, key=lambda a: (a.open_tickets, a.last_assigned_at or NEVER, a.user_id))
    return Choice(best.user_id, "least_loaded", dict(
        inputs, open_tickets=best.open_tickets, capacity=best.capacity,
        candidates={a.user_id: a.open_tickets for a in sorted(free, key=lambda a: a.user_id)}))
