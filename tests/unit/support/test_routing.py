"""Routing by skill and load: the least-loaded skilled agent under capacity, round-robin among equals."""
from __future__ import annotations

import datetime as dt

import pytest

from services.support.domain.routing import Agent, choose

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 12, 1, 9, tzinfo=UTC)


def agent(uid, open_=0, cap=5, cats=(), prods=(), active=True, last=None):
    return Agent(uid, open_, cap, frozenset(cats), frozenset(prods), active, last)


@pytest.mark.parametrize("agents, category, product, chosen, rule", [
    ([agent("a", 3), agent("b", 1), agent("c", 2)], "fault", None, "b", "least_loaded"),
    ([agent("a", 1, cats={"complaint"}), agent("b", 4, cats={"fault"})], "fault", None, "b", "least_loaded"),
    ([agent("a", 0, prods={"p2"}), agent("b", 2)], "fault", "p1", "b", "least_loaded"),   # a lacks the product
    ([agent("a", 0, prods={"p1"}), agent("b", 2)], "fault", "p1", "a", "least_loaded"),
    ([agent("a", 5, cap=5), agent("b", 7, cap=9)], "fault", None, "b", "least_loaded"),   # a is full
    ([agent("a", 0, active=False), agent("b", 3)], "fault", None, "b", "least_loaded"),
    ([agent("a", 1, cats={"complaint"})], "fault", None, None, "nobody_skilled"),
    ([agent("a", 5, cap=5)], "fault", None, None, "all_at_capacity"),
    ([agent("a", active=False)], "fault", None, None, "no_agents"),
    ([], "fault", None, None, "no_agents"),
])
def test_who_gets_the_ticket(agents, category, product, chosen, rule):
    got = choose(agents, category, product)
    assert (got.user_id, got.rule) == (chosen, rule)
    assert got.inputs["category"] == category and got.as_dict()["rule"] == rule


def test_round_robin_among_equals():
    a, b, c = agent("a", 1, last=T0 + dt.timedelta(minutes=5)), agent("b", 1, last=T0), agent("c", 1)
    assert choose([a, b, c], "fault").user_id == "c"               # never assigned: first
    assert choose([a, b], "fault").user_id == "b"                  # the oldest last assignment
    assert choose([agent("y", 1), agent("x", 1)], "fault").user_id == "x"   # then the id
    got = choose([a, b], "fault")
    assert got.inputs["candidates"] == {"a": 1, "b": 1} and got.inputs["open_tickets"] == 1
