"""The opportunity rules as tables (``domain.opportunities``, no database): moves between stages,
closing, reopening, the list views."""
from __future__ import annotations

import pytest

from crm_kit.errors import Forbidden, InvalidState, ValidationFailed
from services.sales.domain import opportunities as rules
from services.sales.domain.pipelines import DEFAULT_STAGES, stages_of

STAGES = stages_of(DEFAULT_STAGES)
REASONS = ("Price", "No budget")
NOTE = "Called the buyer"


@pytest.mark.parametrize("status, stage, to, note, reason, expected", [
    # open -> open, either way, any skipped: with a note
    ("open", "qualification", "needs_analysis", NOTE, None, ("forward", "open", 30, False)),
    ("open", "qualification", "negotiation", NOTE, None, ("forward", "open", 70, False)),
    ("open", "negotiation", "qualification", NOTE, None, ("backward", "open", 10, False)),
    ("open", "qualification", "needs_analysis", None, None, ("422", "note")),
    ("open", "qualification", "needs_analysis", "  ", None, ("422", "note")),
    ("open", "proposal", "needs_analysis", None, None, ("422", "note")),
    ("open", "proposal", "proposal", NOTE, None, ("409", None)),
    # closing
    ("open", "qualification", "won", None, None, ("won", "won", 100, True)),
    ("open", "negotiation", "lost", None, "Price", ("lost", "lost", 0, True)),
    ("open", "negotiation", "lost", None, None, ("422", "lost_reason")),
    ("open", "negotiation", "lost", None, "Weather", ("422", "lost_reason")),
    ("open", "negotiation", "won", None, "Price", ("422", "lost_reason")),
    ("open", "proposal", "invalid", None, None, ("invalid", "invalid", 0, True)),
    # closed: reopen first
    ("won", "won", "proposal", NOTE, None, ("409", None)),
    ("lost", "lost", "won", None, None, ("409", None)),
    ("invalid", "invalid", "lost", None, "Price", ("409", None)),
    # not a stage of the pipeline
    ("open", "proposal", "closing", NOTE, None, ("422", "stage")),
])
def test_moves(status, stage, to, note, reason, expected):
    try:
        move = rules.plan_move(STAGES, status, stage, to, note=note, lost_reason=reason, lost_reasons=REASONS)
    except ValidationFailed as exc:
        assert expected[0] == "422" and expected[1] in exc.errors, exc.errors
        return
    except InvalidState:
        assert expected[0] == "409"
        return
    assert (move.kind, move.to.status, move.to.probability, move.closes) == expected


@pytest.mark.parametrize("status, admin, manager, note, expected", [
    ("won", True, False, "Customer came back", None),
    ("lost", False, True, "Budget found", None),
    ("invalid", False, True, "It was real", None),
    ("lost", False, False, "I want it back", "403"),
    ("lost", False, True, None, "422"),
    ("lost", True, False, " ", "422"),
    ("open", True, False, "Nothing to reopen", "409"),
])
def test_reopen(status, admin, manager, note, expected):
    try:
        rules.check_reopen(status, is_admin=admin, is_owners_manager=manager, note=note)
        got = None
    except Forbidden:
        got = "403"
    except ValidationFailed:
        got = "422"
    except InvalidState:
        got = "409"
    assert got == expected


@pytest.mark.parametrize("closed_from, asked, expected", [
    ("negotiation", None, "negotiation"),
    ("gone_stage", None, "qualification"),
    (None, None, "qualification"),
    ("negotiation", "proposal", "proposal"),
])
def test_reopen_stage(closed_from, asked, expected):
    assert rules.reopen_stage(STAGES, closed_from, asked).key == expected


def test_reopen_to_a_closing_stage_is_refused():
    with pytest.raises(ValidationFailed):
        rules.reopen_stage(STAGES, "proposal", "won")


@pytest.mark.parametrize("scope, role, departments, expected", [
    ("all", "member", ("d1",), rules.View()),
    ("mine", "member", ("d1",), rules.View(owner_id="u")),
    ("team", "manager", ("d1",), rules.View(team_member="u")),
    ("subordinates", "manager", ("d1", "d1a"), rules.View(department_ids=("d1", "d1a"), exclude_owner="u")),
    ("subordinates", "member", ("d1",), rules.View(nothing=True)),
])
def test_views(scope, role, departments, expected):
    assert rules.view_of(scope, "u", role, departments) == expected
