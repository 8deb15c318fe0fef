"""Deal status (成交客户) and the money summary, from what other contexts tell (no I/O).

Sales and billing own opportunities, orders, contracts and payments; customers only hears of them
through their events, each becoming a :class:`Fact` about one of them (``kind`` and its id, the
status that context gave it, its amount, when it said so). A customer keeps one entry per
opportunity / order / contract / payment (``customer_business``): a fact replaces the entry only
when it is newer (:func:`supersedes`), so a redelivered or late event never undoes a newer one; an
entry also keeps when its record was first heard of (``opened_at``: the earliest time any fact
about it gave), whichever fact came first (:func:`next_entry`).

The summary is recomputed from the entries (:func:`summarize`): the opportunity total (open and won
opportunities; lost and invalid ones do not count), the order total (approved orders), the paid
total (confirmed payments; a reversed one no longer counts), the outstanding amount (orders minus
paid) and the number of open opportunities (the recycle rules' exemption).

Deal status (seed 004: "客户下商机赢单 或 新建销售订单并已被确认 或 新建了合同都会成为成交客户"): a fact that
is one of the configured triggers (``customer_settings.deal_triggers``: ``opportunity_won``,
``order_approved``, ``contract_signed``) makes a prospect a deal customer (:func:`advance`). Every
fact counts for it, even one older than the entry it concerns (the order was approved, even if its
cancellation arrived first), so the outcome does not depend on the order in which events arrive:
``deal_at`` is the earliest trigger heard of, ``last_deal_at`` the latest, and a deal customer stays
one (a cancelled order does not undo the deal; a later change of the triggers is not retroactive).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Iterable

ZERO = Decimal("0.00")
FACT_KINDS = ("opportunity", "order", "contract", "payment")

# The statuses each kind may be told in (sales' opportunity stages as they are; domain.md).
OPEN_STAGES = ("open", "qualification", "needs_analysis", "proposal", "negotiation")
STATUSES = {
    "opportunity": OPEN_STAGES + ("won", "lost", "invalid"),
    "order": ("draft", "pending_approval", "approved", "rejected", "cancelled"),
    "contract": ("draft", "signed", "ended", "terminated", "cancelled"),
    "payment": ("pending_review", "confirmed", "rejected", "reversed"),
}
# Entries whose amount counts in each total.
COUNTED = {
    "opportunity_total": ("opportunity", OPEN_STAGES + ("won",)),
    "order_total": ("order", ("approved",)),
    "paid_total": ("payment", ("confirmed",)),
}
# trigger -> the (kind, status) that fires it
TRIGGERS = {
    "opportunity_won": ("opportunity", "won"),
    "order_approved": ("order", "approved"),
    "contract_signed": ("contract", "signed"),
}
DEFAULT_TRIGGERS = tuple(TRIGGERS)


@dataclass(frozen=True)
class Fact:
    """What another context said about one of its records of a customer."""
    kind: str                       # FACT_KINDS
    ref_id: str                     # the opportunity's, order's, contract's or payment's id
    customer_id: str
    status: str                     # STATUSES[kind]
    amount: Decimal
    occurred_at: dt.datetime        # when that context said it (the event's occurred_at)
    opened_at: dt.datetime | None = None   # the record's creation time, when the event carries it


@dataclass(frozen=True)
class Entry:
    """The latest that customers knows of one record (a ``customer_business`` row)."""
    kind: str
    ref_id: str
    status: str
    amount: Decimal
    occurred_at: dt.datetime                 # of the fact that said status and amount
    opened_at: dt.datetime | None = None     # the earliest time a fact about it gave


@dataclass(frozen=True)
class Summary:
    opportunity_total: Decimal = ZERO
    order_total: Decimal = ZERO
    paid_total: Decimal = ZERO
    open_opportunities: int = 0
    last_opportunity_at: dt.datetime | None = None

    @property
    def outstanding(self) -> Decimal:
        return self.order_total - self.paid_total


@dataclass(frozen=True)
class DealState:
    """A customer's deal fields (``customers`` columns)."""
    deal_status: str = "prospect"          # prospect | deal
    deal_at: dt.datetime | None = None
    last_deal_at: dt.datetime | None = None


def supersedes(current: Entry | None, fact: Fact) -> bool:
    """Whether ``fact`` replaces the entry: there is none yet, or it is strictly newer. A fact as old
    as the entry (a redelivery, or two events of one instant) changes nothing."""
    return current is None or fact.occurred_at > current.occurred_at


def next_entry(current: Entry | None, fact: Fact) -> Entry | None:
    """The entry after ``fact`` (None: it changes nothing): status and amount from the newer of the
    two, ``opened_at`` the earlier."""
    heard = Entry(fact.kind, fact.ref_id, fact.status, fact.amount, fact.occurred_at,
                  fact.opened_at or fact.occurred_at)
    if current is None:
        return heard
    opened = _earliest(current.opened_at, heard.opened_at)
    if supersedes(current, fact):
        return replace(heard, opened_at=opened)
    return replace(current, opened_at=opened) if opened != current.opened_at else None


def summarize(entries: Iterable[Entry]) -> Summary:
    totals = dict.fromkeys(COUNTED, ZERO)
    open_count, last_opened = 0, None
    for entry in entries:
        for total, (kind, statuses) in COUNTED.items():
            if entry.kind == kind and entry.status in statuses:
                totals[total] += entry.amount
        if entry.kind == "opportunity":
            open_count += entry.status in OPEN_STAGES
            last_opened = _latest(last_opened, entry.opened_at)
    return Summary(open_opportunities=open_count, last_opportunity_at=last_opened, **totals)


def trigger_of(fact: Fact, triggers: Iterable[str]) -> str | None:
    """The configured trigger ``fact`` fires (None: it fires none)."""
    for name in triggers:
        if TRIGGERS.get(name) == (fact.kind, fact.status):
            return name
    return None


def advance(state: DealState, fact: Fact, triggers: Iterable[str]) -> tuple[DealState, str | None]:
    """The deal fields after ``fact`` (whether or not it replaced its entry), and the trigger that
    made the customer a deal customer now (None: it did not become one now)."""
    trigger = trigger_of(fact, triggers)
    if trigger is None:
        return state, None
    new = replace(state, last_deal_at=_latest(state.last_deal_at, fact.occurred_at),
                  deal_at=_earliest(state.deal_at, fact.occurred_at))
    if state.deal_status == "deal":
        return new, None
    return replace(new, deal_status="deal"), trigger


def _latest(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _earliest(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return b if a is None else a if b is None else min(a, b)
