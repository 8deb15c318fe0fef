"""SLA clocks (issue 14; seed 000: a reply within 24 hours, a technician on site within 48 hours).

A **policy** gives, per priority (and optionally per customer level: the more specific one wins),
the business time allowed for the first response, the resolution and, for on-site service, the
arrival, and the fraction of it after which a near-breach warning is due (``warn_fraction``). Each
**clock** starts with the ticket, runs in the group's :class:`~services.support.domain.calendar.BusinessCalendar`,
is **paused** while the ticket waits on the customer (every pause moves its deadline by the business
time it lasted: a pause never shortens a deadline), and stops when it is met (the first public
reply, the resolution, the arrival).

:func:`clock_state` tells a clock's state at an instant: ``running``, ``warning`` (past the warning
point), ``breached`` (past its deadline, not met), ``paused`` (waiting on the customer), ``met``
(stopped in time) or ``missed`` (stopped late); with its deadline, the business time elapsed and
remaining. :func:`new_flags` says which warnings and breaches the timer is to raise now, once each.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Sequence

from services.support.domain.calendar import BusinessCalendar

CLOCKS = ("first_response", "resolution", "arrival")
RUNNING, WARNING, BREACHED, PAUSED, MET, MISSED = "running", "warning", "breached", "paused", "met", "missed"
WARN_FRACTION = 0.8
Pause = tuple[dt.datetime, "dt.datetime | None"]      # (from, until); until None: still paused


@dataclass(frozen=True)
class Policy:
    name: str
    priority: str
    customer_level: str | None = None          # None: any level
    first_response_minutes: int | None = None
    resolution_minutes: int | None = None
    arrival_minutes: int | None = None          # on-site service only
    warn_fraction: float = WARN_FRACTION

    def target(self, clock: str) -> dt.timedelta | None:
        minutes = getattr(self, f"{clock}_minutes")
        return dt.timedelta(minutes=minutes) if minutes is not None else None


def choose_policy(policies: Iterable[Policy], priority: str, customer_level: str | None) -> Policy | None:
    """The policy of the ticket's priority for its customer's level, else the one for any level."""
    matching = [p for p in policies if p.priority == priority and p.customer_level in (customer_level, None)]
    matching.sort(key=lambda p: (p.customer_level is None, p.name))
    return matching[0] if matching else None


def merged(pauses: Sequence[Pause]) -> list[Pause]:
    """Pauses in order, overlapping ones joined (an open one swallows what follows it)."""
    out: list[list] = []
    for start, end in sorted(pauses, key=lambda p: p[0]):
        if end is not None and end <= start:
            continue
        if out and (out[-1][1] is None or start <= out[-1][1]):
            if out[-1][1] is not None and (end is None or end > out[-1][1]):
                out[-1][1] = end
            continue
        out.append([start, end])
    return [(a, b) for a, b in out]


def deadline(calendar: BusinessCalendar, started: dt.datetime, amount: dt.timedelta,
             pauses: Sequence[Pause] = ()) -> dt.datetime | None:
    """The instant ``amount`` of business time has run from ``started``, not counting the pauses;
    None while a pause that is still open holds it before it got there."""
    at, left = started, amount
    for begin, end in merged(pauses):
        if end is not None and end <= at:
            continue
        begin = max(begin, at)
        before = calendar.between(at, begin)
        if before >= left:
            break
        left -= before
        if end is None:
            return None
        at = end
    return calendar.add(at, left)


def elapsed(calendar: BusinessCalendar, started: dt.datetime, until: dt.datetime,
            pauses: Sequence[Pause] = ()) -> dt.timedelta:
    """Business time from ``started`` to ``until``, the pauses left out."""
    total = calendar.between(started, until)
    for begin, end in merged(pauses):
        begin, end = max(begin, started), min(end or until, until)
        if end > begin:
            total -= calendar.between(begin, end)
    return total


@dataclass(frozen=True)
class ClockState:
    clock: str
    state: str
    target: dt.timedelta
    due_at: dt.datetime | None              # None while paused before reaching it
    warn_at: dt.datetime | None
    elapsed: dt.timedelta
    remaining: dt.timedelta                 # negative once breached (or missed)

    def as_dict(self) -> dict:
        return {"clock": self.clock, "state": self.state, "target_minutes": self.target // dt.timedelta(minutes=1),
                "due_at": _iso(self.due_at), "warn_at": _iso(self.warn_at),
                "elapsed_seconds": int(self.elapsed.total_seconds()),
                "remaining_seconds": int(self.remaining.total_seconds())}


def clock_state(calendar: BusinessCalendar, clock: str, started: dt.datetime, target: dt.timedelta,
                now: dt.datetime, pauses: Sequence[Pause] = (), stopped_at: dt.datetime | None = None,
                warn_fraction: float = WARN_FRACTION) -> ClockState:
    due = deadline(calendar, started, target, pauses)
    warn = deadline(calendar, started, target * warn_fraction, pauses)
    until = stopped_at or now
    spent = elapsed(calendar, started, until, pauses)
    if stopped_at is not None:
        state = MET if due is not None and stopped_at <= due or due is None and spent <= target else MISSED
    elif due is not None and now >= due:
        state = BREACHED
    elif any(b <= now and (e is None or now < e) for b, e in merged(pauses)):
        state = PAUSED
    elif warn is not None and now >= warn:
        state = WARNING
    else:
        state = RUNNING
    return ClockState(clock, state, target, due, warn, spent, target - spent)


def new_flags(states: Iterable[ClockState], flagged: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """``(clock, "warning" | "breached")`` the timer raises now: each once per clock (a clock found
    already breached raises its breach, not a late warning)."""
    out = []
    for s in states:
        if s.state == BREACHED and (s.clock, "breached") not in flagged:
            out.append((s.clock, "breached"))
        elif s.state == WARNING and (s.clock, "warning") not in flagged and (s.clock, "breached") not in flagged:
            out.append((s.clock, "warning"))
    return out


def next_check(states: Iterable[ClockState], flagged: set[tuple[str, str]]) -> dt.datetime | None:
    """When the timer has to look at the ticket again: the earliest warning or deadline still to
    come of a clock not stopped (None: nothing to watch, or every clock paused)."""
    moments = []
    for s in states:
        if s.state in (MET, MISSED) or (s.clock, "breached") in flagged:
            continue
        if s.warn_at is not None and (s.clock, "warning") not in flagged and s.state in (RUNNING, PAUSED):
            moments.append(s.warn_at)
        if s.due_at is not None:
            moments.append(s.due_at)
    return min(moments) if moments else None


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None

