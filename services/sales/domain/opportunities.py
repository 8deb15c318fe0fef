"""Opportunities (商机): moving through a pipeline's stages, closing, reopening; the list views (pure).

Moves (``plan_move``: from the opportunity's status and stage to the stage asked for):

| from | to | allowed | needs |
|---|---|---|---|
| open | a later open stage (skipping any) | yes | a feedback ``note`` |
| open | an earlier open stage | yes | a feedback ``note`` |
| open | the stage it is in | no (409) | |
| open | ``won`` | yes: status won, ``closed_at`` now, 100% | |
| open | ``lost`` | yes: status lost, ``closed_at`` now, 0% | a ``lost_reason`` of the configured list |
| open | ``invalid`` | yes: status invalid, ``closed_at`` now, 0% | |
| won, lost, invalid | any | no (409): reopen it first | |
| any | a stage not in its pipeline | no (422 on ``stage``) | |

Every move is kept in the stage history (who, when, from, to, note). ``closed_at`` is when it
closed, never the ``expected_close_date`` the owner forecast.

Reopening (``check_reopen``): only a closed one (409 otherwise), only by an admin or a manager of
its owner (``OrgChart.is_manager_of``: the owner's department or one above it; 403 otherwise),
always with a ``note``; it goes back to the open stage it closed from (or the one asked for).

The list views (``view_of``), as customers' (预设场景): ``all`` (the data scope), ``mine`` (owned by
the caller), ``team`` (the caller is on its team), ``subordinates`` (owned by someone else in the
caller's department subtree; a member has none).
"""
from __future__ import annotations

from dataclasses import dataclass

from crm_kit.errors import Forbidden, InvalidState, ValidationFailed
from services.sales.domain.pipelines import Stage

STATUSES = ("open", "won", "lost", "invalid")
CLOSED = ("won", "lost", "invalid")


@dataclass(frozen=True)
class Move:
    """What a move does: ``kind`` (forward, backward, won, lost, invalid, reopen), the stage and
    status it leads to, the probability it takes, whether it closes it."""
    kind: str
    to: Stage
    closes: bool


def _note_missing(note: str | None) -> bool:
    return note is None or not note.strip()


def plan_move(stages: dict[str, Stage], status: str, stage: str, to_stage: str, *, note: str | None = None,
              lost_reason: str | None = None, lost_reasons=()) -> Move:
    """The move from ``stage`` (in ``status``) to ``to_stage`` under the module's table, or the error
    it is refused with."""
    target = stages.get(to_stage)
    if target is None:
        raise ValidationFailed.from_messages({"stage": [f"Not a stage of this pipeline: {', '.join(stages)}."]})
    if status != "open":
        raise InvalidState.for_action("opportunity", f"move to {to_stage}", status)
    if to_stage == stage:
        raise InvalidState(f"The opportunity is already in stage '{stage}'.",
                           {"action": f"move to {to_stage}", "current_state": stage})
    if lost_reason is not None and target.status != "lost":
        raise ValidationFailed.from_messages({"lost_reason": ["Only a move to 'lost' takes a reason."]})
    if target.status == "open":
        if _note_missing(note):
            raise ValidationFailed.from_messages(
                {"note": ["A move between open stages needs a feedback note."]})
        current = stages.get(stage)
        backward = current is not None and target.position < current.position
        return Move("backward" if backward else "forward", target, False)
    if target.status == "lost":
        if lost_reason is None or not lost_reason.strip():
            raise ValidationFailed.from_messages({"lost_reason": ["A lost opportunity needs a reason."]})
        if lost_reason not in lost_reasons:
            raise ValidationFailed.from_messages(
                {"lost_reason": [f"Must be one of the configured reasons: {', '.join(lost_reasons)}."]})
    return Move(target.status, target, True)


def check_reopen(status: str, *, is_admin: bool, is_owners_manager: bool, note: str | None) -> None:
    """A reopen allowed (see the module), or the error it is refused with."""
    if status not in CLOSED:
        raise InvalidState.for_action("opportunity", "reopen", status)
    if not (is_admin or is_owners_manager):
        raise Forbidden("Only a manager of the opportunity's owner, or an admin, may reopen it.",
                        {"action": "reopen"})
    if _note_missing(note):
        raise ValidationFailed.from_messages({"note": ["A reopen needs a note."]})


def reopen_stage(stages: dict[str, Stage], closed_from: str | None, asked: str | None) -> Stage:
    """The open stage a reopened opportunity goes to: the one asked for, else the one it closed from
    (when its pipeline still has it), else the first."""
    if asked is not None:
        target = stages.get(asked)
        if target is None or target.status != "open":
            raise ValidationFailed.from_messages({"stage": ["Must be an open stage of this pipeline."]})
        return target
    target = stages.get(closed_from) if closed_from else None
    if target is not None and target.status == "open":
        return target
    return next(s for s in stages.values() if s.status == "open")


def ensure_open(status: str, action: str) -> None:
    if status != "open":
        raise InvalidState.for_action("opportunity", action, status)


# -- the list views ----------------------------------------------------------------------------------
SCOPES = ("all", "mine", "team", "subordinates")


@dataclass(frozen=True)
class View:
    """What a view matches (all None: the data scope as it is); ``nothing``: no record."""
    owner_id: str | None = None
    team_member: str | None = None
    department_ids: tuple[str, ...] | None = None
    exclude_owner: str | None = None
    nothing: bool = False


def view_of(scope: str | None, user_id: str, role: str, scope_department_ids) -> View:
    scope = scope or "all"
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    if scope == "mine":
        return View(owner_id=user_id)
    if scope == "team":
        return View(team_member=user_id)
    if scope == "subordinates":
        departments = tuple(scope_department_ids or ())
        if role not in ("manager", "admin") or not departments:
            return View(nothing=True)
        return View(department_ids=departments, exclude_owner=user_id)
    return View()
