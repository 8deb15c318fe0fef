"""Quality per agent and per group over a period (issue 14, item 6): plain arithmetic over what the
application hands in -- the tickets opened in the period (a cohort) and the surveys answered in it.

Per ticket (:class:`TicketFacts`, everything as of the report's instant ``as_of``):

- **first response time**: business time from opening to the first public reply by an agent, in
  the ticket's calendar (its group's, snapshotted), the pauses left out -- what the SLA's
  first-response clock measures; tickets without a response yet are not counted;
- **resolution time**: business time from opening to the (latest) resolution, the pauses left out
  (waiting on the customer, and a resolved spell before a reopen) -- the resolution clock's measure;
- **resolution rate**: resolved (or closed) tickets / tickets opened;
- **reopen rate**: tickets reopened at least once / tickets ever resolved (resolved now, or reopened);
- **SLA compliance**: clocks met / clocks decided (``met``; ``missed`` or ``breached``); a clock
  still running, warning or paused is not decided yet; also per clock.

Per survey (:class:`SurveyFacts`, counted for the group and agent the ticket had when answered):

- **CSAT**: the average of 1-5 and the share satisfied (4 or 5);
- **NPS**: % promoters (9-10) - % detractors (0-6), of the answers with an NPS (7-8 are passives),
  from -100 to 100.

Rates are fractions (0.6667), rounded to 4 places; NPS to 2; times in whole seconds; ``None``
where there is nothing to divide by. :func:`report` groups by ``"agent"`` or ``"group"`` (or
nothing: one row) and gives the total of all rows.
"""
from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from services.support.domain import sla
from services.support.domain.calendar import BusinessCalendar
from services.support.domain.tickets import CLOSED, RESOLVED

BY = ("agent", "group")
SATISFIED = (4, 5)
PROMOTERS, DETRACTORS = range(9, 11), range(0, 7)
DECIDED = {sla.MET: True, sla.MISSED: False, sla.BREACHED: False}


@dataclass(frozen=True)
class TicketFacts:
    group_id: str | None
    assignee_id: str | None
    opened_at: dt.datetime
    calendar: BusinessCalendar
    status: str
    first_response_at: dt.datetime | None = None     # None: no public reply by an agent by as_of
    resolved_at: dt.datetime | None = None           # None: not resolved (now) by as_of
    reopen_count: int = 0
    pauses: Sequence[sla.Pause] = ()
    clocks: dict[str, str] = field(default_factory=dict)   # clock -> its state as of as_of


@dataclass(frozen=True)
class SurveyFacts:
    group_id: str | None
    assignee_id: str | None
    csat: int
    nps: int | None = None


def _rate(part: int, whole: int, places: int = 4) -> float | None:
    return round(part / whole, places) if whole else None


def _times(values: list[int]) -> dict:
    return {"count": len(values), "average_seconds": round(statistics.fmean(values)) if values else None,
            "median_seconds": round(statistics.median(values)) if values else None}


class Figures:
    """The running figures of one row (an agent, a group, the total)."""

    def __init__(self):
        self.opened = self.resolved = self.ever_resolved = self.reopened = 0
        self.first_response: list[int] = []
        self.resolution: list[int] = []
        self.clocks: dict[str, list[int]] = {}        # clock -> [decided, met]
        self.csat: list[int] = []
        self.nps: list[int] = []

    def add_ticket(self, t: TicketFacts) -> None:
        self.opened += 1
        pauses = list(t.pauses)
        if t.first_response_at is not None:
            self.first_response.append(_seconds(t.calendar, t.opened_at, t.first_response_at, pauses))
        done = t.status in (RESOLVED, CLOSED) and t.resolved_at is not None
        if done:
            self.resolved += 1
            self.resolution.append(_seconds(t.calendar, t.opened_at, t.resolved_at, pauses))
        if done or t.reopen_count > 0:
            self.ever_resolved += 1
        if t.reopen_count > 0:
            self.reopened += 1
        for clock, state in t.clocks.items():
            if state in DECIDED:
                counts = self.clocks.setdefault(clock, [0, 0])
                counts[0] += 1
                counts[1] += DECIDED[state]

    def add_survey(self, s: SurveyFacts) -> None:
        self.csat.append(s.csat)
        if s.nps is not None:
            self.nps.append(s.nps)

    def as_dict(self) -> dict:
        decided = sum(c[0] for c in self.clocks.values())
        met = sum(c[1] for c in self.clocks.values())
        promoters = sum(1 for n in self.nps if n in PROMOTERS)
        detractors = sum(1 for n in self.nps if n in DETRACTORS)
        return {
            "opened": self.opened,
            "first_response": _times(self.first_response),
            "resolution": _times(self.resolution),
            "resolved": self.resolved, "resolution_rate": _rate(self.resolved, self.opened),
            "reopened": self.reopened, "reopen_rate": _rate(self.reopened, self.ever_resolved),
            "sla": {"decided": decided, "met": met, "compliance": _rate(met, decided),
                    "clocks": {clock: {"decided": d, "met": m, "compliance": _rate(m, d)}
                               for clock, (d, m) in sorted(self.clocks.items())}},
            "csat": {"count": len(self.csat),
                     "average": round(statistics.fmean(self.csat), 2) if self.csat else None,
                     "satisfied_rate": _rate(sum(1 for c in self.csat if c in SATISFIED), len(self.csat))},
            "nps": {"count": len(self.nps), "promoters": promoters, "detractors": detractors,
                    "passives": len(self.nps) - promoters - detractors,
                    "score": round(100 * (promoters - detractors) / len(self.nps), 2) if self.nps else None},
        }


def _seconds(calendar: BusinessCalendar, start: dt.datetime, end: dt.datetime, pauses) -> int:
    if end <= start:
        return 0
    return int(sla.elapsed(calendar, start, end, pauses).total_seconds())


def _key(by: str | None, group_id: str | None, assignee_id: str | None):
    return {"agent": assignee_id, "group": group_id}.get(by) if by else None


def report(tickets: Iterable[TicketFacts], surveys: Iterable[SurveyFacts], by: str | None = None) -> dict:
    """``{"items": [{<by>_id, **figures}], "total": figures}``: a row per agent (``by="agent"``: the
    ticket's assignee; null: unassigned) or group, in id order (null last)."""
    if by is not None and by not in BY:
        raise ValueError(f"by is one of {BY}")
    rows: dict = {}
    total = Figures()
    for t in tickets:
        rows.setdefault(_key(by, t.group_id, t.assignee_id), Figures()).add_ticket(t)
        total.add_ticket(t)
    for s in surveys:
        rows.setdefault(_key(by, s.group_id, s.assignee_id), Figures()).add_survey(s)
        total.add_survey(s)
    if by is None:
        return {"items": [], "total": total.as_dict()}
    keys = sorted(rows, key=lambda k: (k is None, k or ""))
    return {"items": [{f"{by}_id": k, **rows[k].as_dict()} for k in keys], "total": total.as_dict()}
