"""Every event of the catalogue, which the webhooks service consumes (one handler each): the
``(producer, event)`` pairs in ``subscribed.json`` beside this module, written by
``python -m crm_kit.ops.catalogue --write`` from the same discovery as the catalogue (this service
never imports another's code; ``tests/contract`` fails when the list is stale).

``ALL`` (``"*"``) in a subscription's event types takes every event."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

PATH = Path(__file__).with_name("subscribed.json")
ALL = "*"


@lru_cache(maxsize=1)
def subscribed() -> tuple[tuple[str, str], ...]:
    if not PATH.exists():
        return ()
    return tuple((item["producer"], item["event"]) for item in json.loads(PATH.read_text()))


def event_names() -> frozenset[str]:
    return frozenset(name for _, name in subscribed())


def render(pairs) -> str:
    return json.dumps([{"producer": p, "event": e} for p, e in sorted(pairs)], indent=1) + "\n"
