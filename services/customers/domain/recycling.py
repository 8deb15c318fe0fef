"""Recycling (自动回收): when a public pool takes a customer back from its owner, by which rule and
clock, and when the owner is warned.

**Which pool.** The pools whose ``recycle_enabled`` is set and whose ``recycle_department_ids``
hold the owner's department (an empty list: every department's) would take the customer; the one
with the highest ``priority`` (then the oldest, by id) takes it, and only *its* rules decide
(:func:`pool_taking`). The rule is the one for the customer's level, else the pool's rule for any
other level (``domain.pools.rule_for_level``); no rule: the customer stays.

**The clocks** of a rule (each in days, ``null``: not used), each counted from a time ``since``:

- ``no_follow_up``: no follow-up for N days, since the later of the last follow-up
  (``last_followed_at``) and the time the owner received the customer (``owner_since``);
- ``no_opportunity``: no new opportunity for M days, since the later of the last new opportunity
  (``last_opportunity_at``) and ``owner_since``;
- ``no_deal``: no deal for K days, since receipt (``owner_since``), or the customer's last deal
  (``deal_at`` / ``last_deal_at``) when later.

A clock is due at ``since + days``; the customer is due when one of them is due as of ``as_of``,
and the clock that came due first (ties: in the order above) is the one that fired. A customer
whose ``owner_since`` is unknown counts from its creation. So a customer just claimed or assigned
starts every clock afresh, however old its last follow-up; and, once recycled, it enters its pool
at that moment (``pool_since``), so the pool's protection period and its previous owner's reclaim
cooldown (``domain.claim_limits``) count from the recycle.

**Exemptions**, before any clock: a locked customer never recycles; ``exempt_deals`` spares deal
customers (成交客户), ``exempt_open_opportunities`` those with open opportunities. A customer in a
pool (no owner) is not recycled either.

**Warning.** With ``warning_days`` D, the owner is reminded from D days before the customer is due
(``warning_at``); an exempt customer gets no warning.

Nothing here reads the database or the clock: the application hands in the facts and ``as_of``.
:func:`thresholds` says what the candidate query may narrow on (every due customer is selected).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.customers.domain.pools import CLOCKS as RULE_CLOCKS
from services.customers.domain.pools import normalize_rule, rule_errors, rule_for_level, takes_department

NO_FOLLOW_UP, NO_OPPORTUNITY, NO_DEAL = "no_follow_up", "no_opportunity", "no_deal"
CLOCKS = (NO_FOLLOW_UP, NO_OPPORTUNITY, NO_DEAL)          # the event's names; the rule's keys end in _days
LOCKED, DEAL, OPEN_OPPORTUNITIES, NO_RULE, NOT_OWNED = (
    "locked", "deal", "open_opportunities", "no_rule", "not_owned")
DEAL_STATUS = "deal"
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class RecycleRule:
    """One rule of a pool, for one level (``None``: any other level)."""
    level: str | None
    no_follow_up_days: int | None = None
    no_opportunity_days: int | None = None
    no_deal_days: int | None = None
    exempt_deals: bool = True
    exempt_open_opportunities: bool = False
    warning_days: int | None = None

    @classmethod
    def of(cls, raw: dict) -> "RecycleRule":
        """A stored rule (``domain.pools`` shape), its defaults filled in; ``ValueError`` naming
        what is wrong when it breaks the rules a pool's rules must keep."""
        errors = rule_errors(raw) if isinstance(raw, dict) else {"_schema": ["Not an object."]}
        if errors:
            raise ValueError("; ".join(f"{k}: {' '.join(v)}" for k, v in sorted(errors.items())))
        return cls(**normalize_rule(raw))

    def days(self, clock: str) -> int | None:
        return getattr(self, f"{clock}_days")


@dataclass(frozen=True)
class PoolRecycling:
    """What recycling needs of a pool."""
    id: str
    priority: int = 0
    department_ids: tuple[str, ...] = ()
    rules: tuple[dict, ...] = ()
    enabled: bool = True

    @classmethod
    def of(cls, pool) -> "PoolRecycling":
        """From a ``CustomerPool`` (or anything with its attributes)."""
        return cls(pool.id, pool.priority or 0, tuple(pool.recycle_department_ids or ()),
                   tuple(pool.recycle_rules or ()), bool(pool.recycle_enabled))

    def rule_for(self, level: str | None) -> RecycleRule | None:
        raw = rule_for_level(list(self.rules), level)
        return RecycleRule.of(raw) if raw is not None else None

    def errors(self) -> list[str]:
        """What is wrong with the stored rules (the pool API refuses such rules; older data may not)."""
        out = []
        for index, raw in enumerate(self.rules):
            try:
                RecycleRule.of(raw)
            except ValueError as exc:
                out.append(f"rule #{index}: {exc}")
        return out


@dataclass(frozen=True)
class CustomerFacts:
    """What the rules are judged on (``of(customer)``: from a ``Customer``)."""
    owner_id: str | None
    department_id: str | None
    level: str | None
    owner_since: dt.datetime | None
    last_followed_at: dt.datetime | None = None
    last_opportunity_at: dt.datetime | None = None
    deal_at: dt.datetime | None = None
    last_deal_at: dt.datetime | None = None
    deal_status: str = "prospect"
    open_opportunities: int = 0
    locked: bool = False
    created_at: dt.datetime | None = None

    @classmethod
    def of(cls, customer) -> "CustomerFacts":
        return cls(customer.owner_id, customer.department_id, customer.level, customer.owner_since,
                   customer.last_followed_at, customer.last_opportunity_at, customer.deal_at,
                   customer.last_deal_at, customer.deal_status, customer.open_opportunities or 0,
                   bool(customer.locked), customer.created_at)

    @property
    def received_at(self) -> dt.datetime | None:
        return self.owner_since or self.created_at


@dataclass(frozen=True)
class Clock:
    """One clock of a rule for one customer: counted ``since`` (the latest of its ``inputs``, the
    customer's times it counts from), ``days`` long, due at ``due_at``."""
    name: str
    days: int
    since: dt.datetime
    due_at: dt.datetime
    inputs: tuple[tuple[str, dt.datetime | None], ...] = ()


@dataclass(frozen=True)
class Decision:
    """What the rules say of one customer as of ``as_of``: ``due`` (recycle it now), the ``rule``
    and the ``clock`` that fired (or, not due, the one that will fire first), when the owner is
    warned (``warning_at``), or why it is ``exempt`` (``locked``, ``deal``, ``open_opportunities``,
    ``no_rule``, ``not_owned``)."""
    due: bool
    rule: RecycleRule | None = None
    clock: Clock | None = None
    warning_at: dt.datetime | None = None
    exempt: str | None = None

    @property
    def due_at(self) -> dt.datetime | None:
        return self.clock.due_at if self.clock else None

    def applied(self) -> dict:
        """The rule and its inputs, as the audit entry and ``customer_recycled`` record them."""
        clock = self.clock
        return {"level": self.rule.level, "clock": clock.name, "days": clock.days, "since": clock.since,
                "due_at": clock.due_at, "inputs": dict(clock.inputs)}

    def reason(self) -> str:
        """The owner history's reason for a recycle (``customer_ownership.end_reason``)."""
        clock, level = self.clock, self.rule.level or "any"
        return (f"recycle rule (level {level}): {clock.name.replace('_', ' ')} for {clock.days} days "
                f"since {clock.since.isoformat()}")


def _latest(*times: dt.datetime | None) -> dt.datetime | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None


def clock_since(facts: CustomerFacts, clock: str) -> dt.datetime | None:
    """The time ``clock`` counts from for this customer."""
    received = facts.received_at
    if clock == NO_FOLLOW_UP:
        return _latest(facts.last_followed_at, received)
    if clock == NO_OPPORTUNITY:
        return _latest(facts.last_opportunity_at, received)
    if clock == NO_DEAL:
        return _latest(received, facts.deal_at, facts.last_deal_at)
    raise ValueError(f"unknown clock {clock!r}")


def clock_facts(facts: CustomerFacts, clock: str) -> tuple[tuple[str, dt.datetime | None], ...]:
    """The customer's times ``clock`` counts from, by name (what the audit and the event record)."""
    names = ("owner_since", "created_at") if facts.owner_since is None else ("owner_since",)
    return tuple((name, getattr(facts, name)) for name in names + clock_inputs(clock))


def clocks(facts: CustomerFacts, rule: RecycleRule) -> list[Clock]:
    """The rule's clocks for this customer, the first due first (ties: in ``CLOCKS`` order)."""
    out = []
    for name in CLOCKS:
        days, since = rule.days(name), clock_since(facts, name)
        if days is not None and since is not None:
            out.append(Clock(name, days, since, since + days * DAY, clock_facts(facts, name)))
    return sorted(out, key=lambda c: (c.due_at, CLOCKS.index(c.name)))


def exemption(facts: CustomerFacts, rule: RecycleRule | None) -> str | None:
    if facts.owner_id is None:
        return NOT_OWNED
    if facts.locked:
        return LOCKED
    if rule is None:
        return NO_RULE
    if rule.exempt_deals and facts.deal_status == DEAL_STATUS:
        return DEAL
    if rule.exempt_open_opportunities and facts.open_opportunities > 0:
        return OPEN_OPPORTUNITIES
    return None


def decide(facts: CustomerFacts, rule: RecycleRule | None, as_of: dt.datetime) -> Decision:
    """Whether ``rule`` recycles the customer as of ``as_of``, by which clock, and its warning date."""
    exempt = exemption(facts, rule)
    if exempt is not None:
        return Decision(False, rule, exempt=exempt)
    ordered = clocks(facts, rule)
    if not ordered:
        return Decision(False, rule, exempt=NO_RULE)
    first = ordered[0]
    warning_at = first.due_at - rule.warning_days * DAY if rule.warning_days else None
    return Decision(first.due_at <= as_of, rule, first, warning_at)


def pool_taking(pools, department_id: str | None) -> PoolRecycling | None:
    """The pool that takes a customer of an owner in ``department_id``: among the pools that recycle
    and take that department, the highest ``priority``, then the oldest (smallest id)."""
    willing = [p for p in pools if p.enabled and p.rules and takes_department(list(p.department_ids),
                                                                               department_id)]
    return min(willing, key=lambda p: (-p.priority, p.id), default=None)


def decide_for(facts: CustomerFacts, pools, as_of: dt.datetime) -> tuple[PoolRecycling | None, Decision]:
    """The pool that would take the customer and what its rule says as of ``as_of``."""
    pool = pool_taking(pools, facts.department_id)
    if pool is None:
        return None, Decision(False, exempt=NOT_OWNED if facts.owner_id is None else NO_RULE)
    return pool, decide(facts, pool.rule_for(facts.level), as_of)


def recycle_warning(decision: Decision, due_before: dt.datetime) -> dt.datetime | None:
    """The time the customer will be recycled, if its owner is warned by ``due_before``; else None."""
    if decision.exempt or decision.warning_at is None or decision.warning_at > due_before:
        return None
    return decision.due_at


@dataclass(frozen=True)
class Thresholds:
    """What the candidate query may narrow on, for every rule of ``pools`` as of ``as_of``: a
    customer can be due only if, for some clock, every time that clock counts from is at or before
    ``stale_before[clock]``; ``skip_deals`` / ``skip_open_opportunities``: every rule exempts them."""
    stale_before: dict
    skip_deals: bool
    skip_open_opportunities: bool


def thresholds(pools, as_of: dt.datetime, ahead: dt.timedelta = dt.timedelta(0)) -> Thresholds | None:
    """None when no pool has a usable rule (nothing can be due). ``ahead``: look that much further
    (the recycle warnings: the longest ``warning_days``)."""
    rules = []
    for pool in pools:
        if pool.enabled:
            for raw in pool.rules:
                try:
                    rules.append(RecycleRule.of(raw))
                except ValueError:
                    continue
    if not rules:
        return None
    stale = {}
    for name in CLOCKS:
        days = [r.days(name) for r in rules if r.days(name) is not None]
        if days:
            stale[name] = as_of + ahead - min(days) * DAY
    return Thresholds(stale, all(r.exempt_deals for r in rules), all(r.exempt_open_opportunities for r in rules))


def longest_warning(pools) -> dt.timedelta:
    days = [raw.get("warning_days") or 0 for pool in pools if pool.enabled for raw in pool.rules
            if isinstance(raw, dict)]
    return max(days, default=0) * DAY


def clock_inputs(clock: str) -> tuple[str, ...]:
    """The customer's columns a clock counts from (besides ``owner_since``, else ``created_at``)."""
    return {NO_FOLLOW_UP: ("last_followed_at",), NO_OPPORTUNITY: ("last_opportunity_at",),
            NO_DEAL: ("deal_at", "last_deal_at")}[clock]


assert tuple(f"{c}_days" for c in CLOCKS) == RULE_CLOCKS
