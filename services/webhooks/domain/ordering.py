"""Which due deliveries go now.

A subscription with ``ordered: true`` gets the deliveries of one **ordering key** one after the
other: the next waits until the one before it succeeded or gave up (a receiver that asks for order
gets it even while it fails: the first keeps being retried with its backoff, the others wait). The
key is the record the event is about: ``<producer>:<id>`` where the id is the payload's ``id``, else
its ``<subject>_id`` named by the event (``lead_created`` -> ``lead_id``, ``follow_up_recorded`` ->
``follow_up_id``: the longest leading words of the event name that name a field), else the producer
alone. The order is the events' ids (UUIDv7: the order the producer raised them). Deliveries of
other keys, and of unordered subscriptions, go in parallel.
"""
from __future__ import annotations

from dataclasses import dataclass


def order_key(envelope: dict) -> str:
    payload = envelope.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    producer = envelope.get("producer", "")
    words = str(envelope.get("event_type", "")).split("_")
    for name in ["id", *(f"{'_'.join(words[:n])}_id" for n in range(len(words) - 1, 0, -1))]:
        record = payload.get(name)
        if isinstance(record, str) and record:
            return f"{producer}:{record}"
    return producer


@dataclass(frozen=True)
class Candidate:
    delivery_id: str
    subscription_id: str
    order_key: str
    event_id: str
    ordered: bool


def sendable(candidates: list[Candidate], heads: dict[tuple[str, str], str]) -> list[Candidate]:
    """The candidates (due, in event order) that may go now: an unordered one always; an ordered one
    only when it is the head of its key (``heads``: ``(subscription_id, order_key)`` -> the event id
    of the earliest unfinished delivery of that key), and one per key per round."""
    out, taken = [], set()
    for c in candidates:
        if not c.ordered:
            out.append(c)
            continue
        key = (c.subscription_id, c.order_key)
        if key in taken or heads.get(key, c.event_id) != c.event_id:
            continue
        taken.add(key)
        out.append(c)
    return out
