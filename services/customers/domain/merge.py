"""Merging a duplicate customer into the one that stays (no I/O): what the survivor takes from it.

The survivor keeps its own id, name, owner, pool and every field it has; from the duplicate it takes
the fields it has left empty (:func:`blanks_to_fill`; a field and its normalised key, or a position's
two coordinates, go together; a company takes no individual's gender or birthday), the tags it
lacks (:func:`union_tags`), the team members it lacks or a stronger access
(:func:`merged_membership`), the duplicate's owner as a ``read_write`` member (nobody loses a
customer they worked on), and the deal fields that say the most
(:func:`merged_deal`: a deal customer if either was, the earliest deal, the latest last deal).
Contacts, follow-ups, owner history and business entries all move (the use case); nothing of the
duplicate is dropped but the record itself.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable

from crm_kit.errors import ValidationFailed
from services.customers.domain.deal import DealState
from services.customers.domain.records import INDIVIDUAL_ONLY

# Fields taken from the duplicate where the survivor has none: each group goes together.
FILLABLE = (
    ("industry",), ("size",), ("level",), ("region",), ("address",), ("latitude", "longitude"),
    ("mobile", "mobile_key"), ("telephone", "telephone_key"), ("email",), ("website",), ("gender",),
    ("birthday",), ("source",), ("notes",), ("follow_stage",), ("source_campaign_id",),
)
ACCESS_RANK = {"read": 1, "read_write": 2}
OWNER_ACCESS = "read_write"       # the duplicate's owner's access to the survivor


def ensure_mergeable(survivor_id: str, duplicate_id: str) -> None:
    if survivor_id == duplicate_id:
        raise ValidationFailed.from_messages({"duplicate_id": ["A customer cannot be merged into itself."]})


def _blank(value) -> bool:
    return value is None or value == "" or value == []


def blanks_to_fill(survivor: dict, duplicate: dict, survivor_kind: str = "company") -> dict:
    """``{field: value}`` the survivor takes from the duplicate: each group of :data:`FILLABLE`
    blank in the survivor (its first field) and given in the duplicate -- but an individual's own
    fields (gender, birthday) only when the survivor is an individual too."""
    out = {}
    for group in FILLABLE:
        lead = group[0]
        if lead in INDIVIDUAL_ONLY and survivor_kind != "individual":
            continue
        if _blank(survivor.get(lead)) and not _blank(duplicate.get(lead)):
            out.update({name: duplicate.get(name) for name in group})
    return out


def union_tags(survivor: Iterable[str], duplicate: Iterable[str]) -> list[str]:
    """The survivor's tags, then the duplicate's it lacks (each once, in order)."""
    return list(dict.fromkeys([*survivor, *duplicate]))


def merged_membership(current: tuple[str, dt.datetime | None] | None,
                      incoming: tuple[str, dt.datetime | None]) -> tuple[str, dt.datetime | None] | None:
    """The survivor's membership for a user after the merge, as ``(access, expires_at)``, or None
    to leave what the survivor has. The stronger access wins; for the same access, the longer
    membership (``None``: for good)."""
    if current is None:
        return incoming
    (have, have_until), (get, get_until) = current, incoming
    if ACCESS_RANK[get] > ACCESS_RANK[have]:
        return incoming
    if ACCESS_RANK[get] == ACCESS_RANK[have] and have_until is not None and (
            get_until is None or get_until > have_until):
        return incoming
    return None


def merged_deal(survivor: DealState, duplicate: DealState) -> DealState:
    """A deal customer if either was; the earliest deal, the latest last deal. (The summary is
    recomputed from the business entries, which all move.)"""
    deal = "deal" if "deal" in (survivor.deal_status, duplicate.deal_status) else "prospect"
    return DealState(deal_status=deal, deal_at=_pick(min, survivor.deal_at, duplicate.deal_at),
                     last_deal_at=_pick(max, survivor.last_deal_at, duplicate.last_deal_at))


def merged_follow_up_times(survivor: tuple, duplicate: tuple) -> tuple:
    """``(last_followed_at, next_contact_at)``: the latest follow-up, the soonest next contact."""
    return (_pick(max, survivor[0], duplicate[0]), _pick(min, survivor[1], duplicate[1]))


def _pick(choose, a, b):
    present = [v for v in (a, b) if v is not None]
    return choose(present) if present else None
