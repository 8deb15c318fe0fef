"""Dunning (催收): which reminder a due has earned on a given day.

A policy is a list of levels, each an offset in days from the due date: negative before it
(a friendly reminder), positive after it (notices of growing firmness). The default ladder is
``before_due`` -3, ``first_notice`` +1, ``second_notice`` +7, ``final_notice`` +30; the service reads
its own from ``BILLING_DUNNING_LEVELS`` (``parse_levels``). On a day ``as_of`` a due
has reached every level whose offset is at most ``as_of - due_date``. What is sent is the
**highest level reached and not yet sent**, once: a run that catches up after a pause (the timer
stopped for a week) sends the level the due is at now, not every level it passed on the way,
and never one below a level already sent. A due that is paid (nothing outstanding), void or
written off earns nothing.

Every decision names its rule and inputs (``Reminder.inputs``) so the audit and the event say
which level fired, from which due date, on which day, after which levels sent; the same function
serves ``dry_run`` (what would be sent on ``as_of``) and the run itself.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from crm_kit.errors import ValidationFailed

MAX_OFFSET_DAYS = 366


@dataclass(frozen=True)
class Level:
    name: str
    offset_days: int          # < 0 before the due date, 0 on it, > 0 after it


@dataclass(frozen=True)
class Policy:
    levels: tuple[Level, ...]

    @classmethod
    def of(cls, levels: Iterable[dict | Level]) -> "Policy":
        """A policy from ``[{"name", "offset_days"}, ...]``, checked: at least one level, names
        and offsets unique, offsets within a year either side; kept in offset order."""
        parsed = [lv if isinstance(lv, Level) else Level(str(lv.get("name") or "").strip(), lv.get("offset_days"))
                  for lv in levels]
        errors: dict[str, list[str]] = {}
        if not parsed:
            errors["levels"] = ["A dunning policy needs at least one level."]
        for i, lv in enumerate(parsed):
            if not lv.name:
                errors[f"levels.{i}.name"] = ["Missing data for required field."]
            if not isinstance(lv.offset_days, int) or isinstance(lv.offset_days, bool) \
                    or abs(lv.offset_days) > MAX_OFFSET_DAYS:
                errors[f"levels.{i}.offset_days"] = [f"Must be a whole number of days within ±{MAX_OFFSET_DAYS}."]
        names = [lv.name for lv in parsed]
        offsets = [lv.offset_days for lv in parsed]
        if len(set(names)) != len(names):
            errors["levels"] = ["Level names must be unique."]
        if len(set(offsets)) != len(offsets):
            errors["levels"] = ["Two levels cannot have the same offset."]
        if errors:
            raise ValidationFailed.from_messages(errors, detail="The dunning policy is invalid.")
        return cls(tuple(sorted(parsed, key=lambda lv: lv.offset_days)))

    def names(self) -> list[str]:
        return [lv.name for lv in self.levels]


def parse_levels(text: str) -> Policy:
    """A policy from its configuration text, ``name:offset_days`` pairs separated by commas
    (``BILLING_DUNNING_LEVELS``, e.g. ``before_due:-3,first_notice:1,second_notice:7,final_notice:30``);
    checked as ``Policy.of``."""
    levels = []
    for i, item in enumerate(part.strip() for part in (text or "").split(",") if part.strip()):
        name, sep, offset = item.rpartition(":")
        try:
            days = int(offset.strip()) if sep else None
        except ValueError:
            days = None
        if days is None:
            raise ValidationFailed.from_messages(
                {f"levels.{i}": [f"{item!r} is not name:offset_days."]}, detail="The dunning policy is invalid.")
        levels.append({"name": name.strip(), "offset_days": days})
    return Policy.of(levels)


def describe(policy: Policy) -> str:
    """The configuration text of ``policy`` (``parse_levels``' inverse)."""
    return ",".join(f"{lv.name}:{lv.offset_days}" for lv in policy.levels)


DEFAULT_POLICY = Policy.of([
    {"name": "before_due", "offset_days": -3},
    {"name": "first_notice", "offset_days": 1},
    {"name": "second_notice", "offset_days": 7},
    {"name": "final_notice", "offset_days": 30},
])


@dataclass(frozen=True)
class Reminder:
    level: Level
    inputs: dict


def reminder_due(policy: Policy, due_date: dt.date, outstanding: Decimal, sent: Sequence[str],
                 as_of: dt.date, settled: bool = False) -> Reminder | None:
    """The level to send for one due on ``as_of``, or None (see the module's rule)."""
    if settled or Decimal(outstanding) <= 0:
        return None
    days = (as_of - due_date).days
    reached = [lv for lv in policy.levels if lv.offset_days <= days]
    if not reached:
        return None
    top = reached[-1]
    order = policy.names()
    highest_sent = max((order.index(name) for name in sent if name in order), default=-1)
    if top.name in sent or order.index(top.name) <= highest_sent:
        return None
    return Reminder(top, {"rule": f"dunning.{top.name}", "offset_days": top.offset_days,
                          "due_date": due_date.isoformat(), "as_of": as_of.isoformat(),
                          "days_from_due": days, "outstanding": str(outstanding),
                          "already_sent": list(sent)})
