"""Deal status and the summary (``services.customers.domain.deal``), table-driven: which fact
replaces an entry, what each total counts, which trigger makes a deal customer, and that the
outcome does not depend on the order facts arrive in."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from services.customers.domain import deal
from services.customers.domain.deal import DealState, Entry, Fact

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 12, 1, 9, 0, tzinfo=UTC)
H = dt.timedelta(hours=1)
D = Decimal


def fact(kind="order", status="approved", amount="100.00", at=T0, ref="r1", opened_at=None):
    return Fact(kind, ref, "c1", status, D(amount), at, opened_at)


def entry(kind="order", status="approved", amount="100.00", at=T0, ref="r1", opened_at=None):
    return Entry(kind, ref, status, D(amount), at, opened_at or at)


# (current entry, fact, supersedes?)
SUPERSEDES = {
    "nothing yet": (None, fact(), True),
    "newer": (entry(at=T0), fact(at=T0 + H), True),
    "older": (entry(at=T0 + H), fact(at=T0), False),
    "same instant (a redelivery)": (entry(at=T0), fact(at=T0), False),
    "same instant, other status": (entry(status="approved", at=T0), fact(status="cancelled", at=T0), False),
}


@pytest.mark.parametrize("name", SUPERSEDES)
def test_a_fact_replaces_an_entry_only_when_newer(name):
    current, new, expected = SUPERSEDES[name]
    assert deal.supersedes(current, new) is expected


# (current entry, fact) -> the entry after (None: unchanged)
NEXT = {
    "first heard": (None, fact(at=T0), entry(at=T0)),
    "first heard, with its creation time": (None, fact(at=T0, opened_at=T0 - H), entry(at=T0, opened_at=T0 - H)),
    "newer status": (entry(at=T0), fact(status="cancelled", at=T0 + H),
                     entry(status="cancelled", at=T0 + H, opened_at=T0)),
    "older status, heard of earlier": (entry(status="cancelled", at=T0 + H), fact(at=T0),
                                       entry(status="cancelled", at=T0 + H, opened_at=T0)),
    "older, nothing new": (entry(at=T0 + H, opened_at=T0), fact(at=T0 + H / 2), None),
    "a redelivery": (entry(at=T0), fact(at=T0), None),
    "newer amount": (entry(amount="100.00", at=T0), fact(amount="120.00", at=T0 + H),
                     entry(amount="120.00", at=T0 + H, opened_at=T0)),
}


@pytest.mark.parametrize("name", NEXT)
def test_the_entry_keeps_the_newest_status_and_the_earliest_opening(name):
    current, new, expected = NEXT[name]
    assert deal.next_entry(current, new) == expected


# entries -> (opportunity_total, order_total, paid_total, outstanding, open_opportunities)
SUMMARIES = {
    "nothing": ([], ("0.00", "0.00", "0.00", "0.00", 0)),
    "open opportunity (a stage)": ([entry("opportunity", "proposal", "500.00")], ("500.00", "0.00", "0.00", "0.00", 1)),
    "open opportunity (open)": ([entry("opportunity", "open", "500.00")], ("500.00", "0.00", "0.00", "0.00", 1)),
    "won opportunity counts, not open": ([entry("opportunity", "won", "500.00")],
                                         ("500.00", "0.00", "0.00", "0.00", 0)),
    "lost and invalid do not count": ([entry("opportunity", "lost", "500.00", ref="o1"),
                                       entry("opportunity", "invalid", "70.00", ref="o2")],
                                      ("0.00", "0.00", "0.00", "0.00", 0)),
    "approved order": ([entry("order", "approved", "1200.50")], ("0.00", "1200.50", "0.00", "1200.50", 0)),
    "draft, pending, rejected, cancelled orders do not count": (
        [entry("order", s, "10.00", ref=s) for s in ("draft", "pending_approval", "rejected", "cancelled")],
        ("0.00", "0.00", "0.00", "0.00", 0)),
    "confirmed payment": ([entry("order", "approved", "1000.00", ref="o"),
                           entry("payment", "confirmed", "400.00", ref="p")],
                          ("0.00", "1000.00", "400.00", "600.00", 0)),
    "reversed payment no longer counts": ([entry("order", "approved", "1000.00", ref="o"),
                                           entry("payment", "reversed", "400.00", ref="p")],
                                          ("0.00", "1000.00", "0.00", "1000.00", 0)),
    "pending and rejected payments do not count": ([entry("payment", "pending_review", "5.00", ref="p1"),
                                                    entry("payment", "rejected", "6.00", ref="p2")],
                                                   ("0.00", "0.00", "0.00", "0.00", 0)),
    "contracts are not in the totals": ([entry("contract", "signed", "9999.00")], ("0.00", "0.00", "0.00", "0.00", 0)),
    "overpaid: outstanding below zero": ([entry("order", "approved", "100.00", ref="o"),
                                          entry("payment", "confirmed", "150.00", ref="p")],
                                         ("0.00", "100.00", "150.00", "-50.00", 0)),
    "several of each": ([entry("opportunity", "negotiation", "100.00", ref="a"),
                         entry("opportunity", "qualification", "0.10", ref="b"),
                         entry("order", "approved", "0.20", ref="c"), entry("order", "approved", "0.10", ref="d"),
                         entry("payment", "confirmed", "0.30", ref="e")],
                        ("100.10", "0.30", "0.30", "0.00", 2)),
}


@pytest.mark.parametrize("name", SUMMARIES)
def test_the_summary_counts_what_it_says(name):
    entries, (opportunities, orders, paid, outstanding, open_count) = SUMMARIES[name]
    summary = deal.summarize(entries)
    assert (summary.opportunity_total, summary.order_total, summary.paid_total, summary.outstanding,
            summary.open_opportunities) == (D(opportunities), D(orders), D(paid), D(outstanding), open_count)


@pytest.mark.parametrize("entries, expected", [
    ([], None),
    ([entry("order", opened_at=T0 + H)], None),                                     # orders are not opportunities
    ([entry("opportunity", "won", at=T0 + 2 * H, opened_at=T0)], T0),
    ([entry("opportunity", "lost", ref="a", opened_at=T0), entry("opportunity", ref="b", opened_at=T0 + H)], T0 + H),
])
def test_the_newest_opportunity_is_the_latest_opened(entries, expected):
    assert deal.summarize(entries).last_opportunity_at == expected


ALL = ("opportunity_won", "order_approved", "contract_signed")
# (fact, triggers configured, the trigger it fires)
TRIGGERS = {
    "won opportunity": (fact("opportunity", "won"), ALL, "opportunity_won"),
    "approved order": (fact("order", "approved"), ALL, "order_approved"),
    "signed contract": (fact("contract", "signed"), ALL, "contract_signed"),
    "open opportunity fires none": (fact("opportunity", "proposal"), ALL, None),
    "pending order fires none": (fact("order", "pending_approval"), ALL, None),
    "confirmed payment fires none": (fact("payment", "confirmed"), ALL, None),
    "won opportunity, not configured": (fact("opportunity", "won"), ("order_approved",), None),
    "approved order, only it configured": (fact("order", "approved"), ("order_approved",), "order_approved"),
    "signed contract, nothing configured": (fact("contract", "signed"), (), None),
}


@pytest.mark.parametrize("name", TRIGGERS)
def test_which_fact_fires_which_trigger(name):
    new, triggers, expected = TRIGGERS[name]
    assert deal.trigger_of(new, triggers) == expected


PROSPECT = DealState()
DEAL = DealState("deal", T0, T0)
# (state, fact, triggers) -> (state after, became deal by)
ADVANCE = {
    "prospect + approved order": ((PROSPECT, fact(at=T0), ALL), (DealState("deal", T0, T0), "order_approved")),
    "prospect + trigger not configured": ((PROSPECT, fact(at=T0), ("contract_signed",)), (PROSPECT, None)),
    "prospect + payment": ((PROSPECT, fact("payment", "confirmed"), ALL), (PROSPECT, None)),
    "prospect + open opportunity": ((PROSPECT, fact("opportunity", "proposal"), ALL), (PROSPECT, None)),
    "prospect + won opportunity": ((PROSPECT, fact("opportunity", "won", at=T0), ALL),
                                   (DealState("deal", T0, T0), "opportunity_won")),
    "deal + another trigger: no second became_deal": (
        (DEAL, fact("contract", "signed", at=T0 + H), ALL), (DealState("deal", T0, T0 + H), None)),
    "deal + an older trigger: deal_at moves back": ((DEAL, fact(at=T0 - H), ALL),
                                                    (DealState("deal", T0 - H, T0), None)),
    "deal + a cancelled order: still a deal": ((DEAL, fact(status="cancelled", at=T0 + H), ALL), (DEAL, None)),
}


@pytest.mark.parametrize("name", ADVANCE)
def test_a_fact_advances_the_deal_fields(name):
    (state, new, triggers), expected = ADVANCE[name]
    assert deal.advance(state, new, triggers) == expected


def _replay(facts):
    """The use case's steps over ``facts`` in this order: entries kept, deal fields advanced."""
    entries, state, became = {}, PROSPECT, []
    for f in facts:
        key = (f.kind, f.ref_id)
        state, trigger = deal.advance(state, f, ALL)
        if trigger:
            became.append(trigger)
        after = deal.next_entry(entries.get(key), f)
        if after is not None:
            entries[key] = after
    return deal.summarize(entries.values()), state, became


STORY = [fact("opportunity", "proposal", "800.00", T0, "opp"), fact("order", "approved", "800.00", T0 + H, "ord"),
         fact("payment", "confirmed", "300.00", T0 + 2 * H, "pay"),
         fact("order", "cancelled", "800.00", T0 + 3 * H, "ord"),
         fact("payment", "reversed", "300.00", T0 + 4 * H, "pay"),
         fact("opportunity", "won", "800.00", T0 + 5 * H, "opp")]


def test_the_outcome_does_not_depend_on_the_order_of_arrival():
    outcomes = {_replay(order)[:2] for order in itertools.permutations(STORY)}
    assert len(outcomes) == 1
    ((summary, state),) = outcomes
    assert (summary.opportunity_total, summary.order_total, summary.paid_total) == (D("800.00"), D(0), D(0))
    assert (summary.open_opportunities, summary.last_opportunity_at) == (0, T0)
    assert state == DealState("deal", T0 + H, T0 + 5 * H)


@pytest.mark.parametrize("order", [STORY, list(reversed(STORY))], ids=["in order", "reversed"])
def test_a_customer_becomes_a_deal_customer_once(order):
    assert len(_replay(order + order)[2]) == 1      # every fact twice: still one became_deal
