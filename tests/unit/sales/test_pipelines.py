"""Pipelines: the stage rules as tables (``domain.pipelines``), and the use cases on SQLite
(``application.pipelines``): the default seeded, admins write, one per department and kind, a stage in
use cannot be taken away; the lost reasons."""
from __future__ import annotations

import pytest

from crm_kit.errors import Conflict, Duplicate, Forbidden, StaleVersion, ValidationFailed
from services.sales.application import opportunities, pipelines
from services.sales.domain import pipelines as rules
from services.sales.models import Base
from services.sales.models.opportunities import DEFAULT_LOST_REASONS
from tests.unit.conftest import ADMIN, MANAGER_D1, MEMBER_1

TWO = [{"key": "talk", "probability": 20}, {"key": "deal", "name": "Deal", "probability": 80}]


@pytest.fixture
def db(make_db):
    return make_db(Base, "sales")


@pytest.mark.parametrize("stages, ok", [
    (TWO, True),
    ([], False),
    ([{"key": "a", "probability": 10}, {"key": "a", "probability": 20}], False),
    ([{"key": "won", "probability": 10}], False),
    ([{"key": "a", "probability": 50}, {"key": "b", "probability": 40}], False),
    ([{"key": "a", "probability": 101}], False),
    ([{"key": "a", "probability": 0}, {"key": "b", "probability": 0}], True),
])
def test_stage_rules(stages, ok):
    if ok:
        assert [s["key"] for s in rules.validate_stages(stages)] == [s["key"] for s in stages]
    else:
        with pytest.raises(ValidationFailed) as exc:
            rules.validate_stages(stages)
        assert "stages" in exc.value.errors


def test_every_pipeline_closes_the_same_way():
    stages = rules.stages_of(TWO)
    assert [(s.key, s.status, s.probability, s.position) for s in stages.values()] == [
        ("talk", "open", 20, 1), ("deal", "open", 80, 2), ("won", "won", 100, 0), ("lost", "lost", 0, 0),
        ("invalid", "invalid", 0, 0)]


@pytest.mark.parametrize("kind, department, expected", [
    ("renewal", "d1", "kind"), (None, "d1", "dept"), ("other", "d9", "default"), (None, None, "default"),
])
def test_choose_pipeline(kind, department, expected):
    refs = [rules.PipelineRef("default", None, None, True), rules.PipelineRef("dept", "d1", None, False),
            rules.PipelineRef("kind", None, "renewal", False), rules.PipelineRef("off", "d9", None, False, False)]
    assert rules.choose_pipeline(refs, kind=kind, department_id=department) == expected


def test_the_default_pipeline_is_there_for_everyone(db):
    page = pipelines.pipelines_page(db.uow(), MEMBER_1, {})
    [default] = page["items"]
    assert default["id"] == rules.DEFAULT_PIPELINE_ID and default["is_default"] is True
    assert [(s["key"], s["probability"]) for s in default["stages"]] == [
        ("qualification", 10), ("needs_analysis", 30), ("proposal", 50), ("negotiation", 70), ("won", 100),
        ("lost", 0), ("invalid", 0)]
    assert pipelines.get_pipeline(db.uow(), MEMBER_1, rules.DEFAULT_PIPELINE_ID)["name"] == "Default"


def test_admins_create_one_per_department_and_kind(db):
    for principal in (MANAGER_D1, MEMBER_1):
        with pytest.raises(Forbidden):
            pipelines.create_pipeline(db.uow(), principal, {"name": "P", "stages": TWO})
    made = pipelines.create_pipeline(db.uow(), ADMIN, {"name": "Projects", "department_id": "d1", "stages": TWO})
    assert made["is_default"] is False and made["stages"][0]["name"] == "talk"
    with pytest.raises(Duplicate) as exc:
        pipelines.create_pipeline(db.uow(), ADMIN, {"name": "Other", "department_id": "d1", "stages": TWO})
    assert exc.value.extra["field"] == "department_id"
    with pytest.raises(Duplicate):
        pipelines.create_pipeline(db.uow(), ADMIN, {"name": "Projects", "stages": TWO})
    with pytest.raises(ValidationFailed):
        pipelines.create_pipeline(db.uow(), ADMIN, {"name": "Bad", "stages": TWO, "is_default": True})
    # a member of d1 creating an opportunity gets the department's pipeline
    opp = opportunities.create_opportunity(db.uow(), MEMBER_1, {"customer_id": "c1", "name": "Deal"})
    assert opp["pipeline_id"] == made["id"] and opp["stage"] == "talk" and opp["probability"] == 20
    assert [p["id"] for p in pipelines.pipelines_page(db.uow(), MEMBER_1, {})["items"]] == [
        rules.DEFAULT_PIPELINE_ID, made["id"]]


def test_a_stage_in_use_cannot_be_taken_away(db):
    made = pipelines.create_pipeline(db.uow(), ADMIN, {"name": "Projects", "stages": TWO})
    opportunities.create_opportunity(db.uow(), MEMBER_1, {"customer_id": "c1", "name": "D", "pipeline_id": made["id"]})
    with pytest.raises(Conflict):
        pipelines.update_pipeline(db.uow(), ADMIN, made["id"], {"stages": TWO[1:]}, 1)
    with pytest.raises(StaleVersion):
        pipelines.update_pipeline(db.uow(), ADMIN, made["id"], {"name": "X"}, 7)
    got = pipelines.update_pipeline(db.uow(), ADMIN, made["id"],
                                    {"stages": [*TWO, {"key": "signing", "probability": 90}]}, 1)
    assert got["version"] == 2 and [s["key"] for s in got["stages"]][:3] == ["talk", "deal", "signing"]
    with pytest.raises(ValidationFailed):
        pipelines.update_pipeline(db.uow(), ADMIN, rules.DEFAULT_PIPELINE_ID, {"active": False})


def test_lost_reasons(db):
    got = pipelines.get_opportunity_settings(db.uow(), MEMBER_1)
    assert got["lost_reasons"] == DEFAULT_LOST_REASONS and got["version"] == 1
    with pytest.raises(Forbidden):
        pipelines.set_opportunity_settings(db.uow(), MANAGER_D1, {"lost_reasons": ["x"]}, 1)
    with pytest.raises(ValidationFailed):
        pipelines.set_opportunity_settings(db.uow(), ADMIN, {"lost_reasons": []}, 1)
    got = pipelines.set_opportunity_settings(db.uow(), ADMIN, {"lost_reasons": ["Price", "Timing", "Price"]}, 1)
    assert got["lost_reasons"] == ["Price", "Timing"] and got["version"] == 2
    with pytest.raises(StaleVersion):
        pipelines.set_opportunity_settings(db.uow(), ADMIN, {"lost_reasons": ["x"]}, 1)
