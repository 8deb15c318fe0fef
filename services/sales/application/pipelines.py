"""Pipelines (销售流程) and the opportunity settings (lost reasons): everyone reads, admins write.

The default pipeline (``domain.pipelines.DEFAULT_STAGES``, a fixed id) is seeded by revision
``sales0005``; where it is missing (a database built from the models) the first use creates it
(``default_pipeline``). The settings are the model's defaults (``DEFAULT_LOST_REASONS``) at version 1
until an admin first changes them (``PUT`` with ``If-Match: 1`` writes the row).
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm_kit.context import Principal
from crm_kit.errors import Conflict, Duplicate, NotFound, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import cursor_state, encode_cursor
from crm_kit.records.schemas import load
from crm_kit.records.scopes import require_admin
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork, stale_version
from services.sales.domain import pipelines as rules
from services.sales.models import Opportunity, OpportunitySettings, Pipeline
from services.sales.models.opportunities import DEFAULT_LOST_REASONS, SETTINGS_ID
from services.sales.schemas.pipelines import (
    OpportunitySettingsOut,
    OpportunitySettingsSet,
    PipelineCreate,
    PipelineListQuery,
    PipelineOut,
    PipelineUpdate,
)

_out = PipelineOut()
_create = PipelineCreate()
_update = PipelineUpdate()
_list_query = PipelineListQuery()
_settings_out = OpportunitySettingsOut()
_settings_set = OpportunitySettingsSet()


def ensure_admin(principal: Principal, action: str) -> None:
    require_admin(principal, action, "Only an admin may change pipelines and opportunity settings.")


def dump(pipeline: Pipeline) -> dict:
    out = _out.dump(pipeline)
    out["stages"] = [{"key": s.key, "name": s.name, "probability": s.probability, "status": s.status,
                      "position": s.position} for s in rules.stages_of(pipeline.stages).values()]
    return out


def stages(pipeline: Pipeline) -> dict:
    return rules.stages_of(pipeline.stages)


def default_pipeline(session) -> Pipeline:
    """The default pipeline, created with the default stages if it is not there."""
    pipeline = session.scalars(select(Pipeline).where(Pipeline.is_default.is_(True))).first()
    if pipeline is None:
        now = utcnow()
        pipeline = Pipeline(id=rules.DEFAULT_PIPELINE_ID, name=rules.DEFAULT_PIPELINE_NAME, is_default=True,
                            active=True, stages=[dict(s) for s in rules.DEFAULT_STAGES], created_at=now,
                            updated_at=now)
        session.add(pipeline)
        session.flush()
        session.info["seeded_default"] = True
    return pipeline


def finish(uow: UnitOfWork, out: dict) -> dict:
    """A read's answer; committed (with the reply) when the read seeded the default pipeline."""
    if uow.session.info.pop("seeded_default", False):
        return uow.commit(lambda: out)
    return out


def pipeline_for_new(session, *, pipeline_id: str | None, kind: str | None, department_id: str | None) -> Pipeline:
    """The pipeline a new opportunity takes (``domain.pipelines.choose_pipeline``); 422 on
    ``pipeline_id`` for an unknown or inactive one."""
    if pipeline_id is not None:
        pipeline = session.get(Pipeline, pipeline_id)
        if pipeline is None or not pipeline.active:
            raise ValidationFailed.from_messages({"pipeline_id": ["Unknown or inactive pipeline."]})
        return pipeline
    if kind or department_id:
        refs = [rules.PipelineRef(p.id, p.department_id, p.kind, p.is_default, p.active)
                for p in session.scalars(select(Pipeline).where(
                    (Pipeline.kind == kind) | (Pipeline.department_id == department_id)))]
        chosen = rules.choose_pipeline(refs, kind=kind, department_id=department_id)
        if chosen:
            return session.get(Pipeline, chosen)
    return default_pipeline(session)


def _pipeline(session, pipeline_id: str) -> Pipeline:
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise NotFound.of("pipeline", pipeline_id)
    return pipeline


def _raise_if_taken(session, fields: dict, except_id: str | None = None) -> None:
    for name in ("name", "department_id", "kind"):
        if fields.get(name) is None:
            continue
        stmt = select(Pipeline.id).where(getattr(Pipeline, name) == fields[name])
        if except_id:
            stmt = stmt.where(Pipeline.id != except_id)
        existing = session.scalars(stmt.limit(1)).first()
        if existing:
            raise Duplicate(f"A pipeline with this {name} already exists: {existing}.",
                            {"existing_id": existing, "field": name})


# -- the use cases -----------------------------------------------------------------------------------
def pipelines_page(uow: UnitOfWork, principal: Principal, query: dict | None) -> dict:
    """Every pipeline (everyone reads them: no data scope), the default first, then by id."""
    params = load(_list_query, query or {})
    with uow:
        default_pipeline(uow.session)
        stmt = select(Pipeline)
        if params["active"] is not None:
            stmt = stmt.where(Pipeline.active.is_(params["active"]))
        if params["cursor"]:
            state = cursor_state(params["cursor"])
            stmt = stmt.where((Pipeline.is_default.is_(False)) & (Pipeline.id > state["after"]))
        rows = uow.session.scalars(stmt.order_by(Pipeline.is_default.desc(), Pipeline.id)
                                   .limit(params["limit"] + 1)).all()
        more = len(rows) > params["limit"]
        rows = rows[:params["limit"]]
        next_cursor = encode_cursor(rows[-1].id) if more else None
        return finish(uow, {"items": [dump(p) for p in rows], "next_cursor": next_cursor})


def get_pipeline(uow: UnitOfWork, principal: Principal, pipeline_id: str) -> dict:
    with uow:
        if pipeline_id == rules.DEFAULT_PIPELINE_ID:
            default_pipeline(uow.session)
        return finish(uow, dump(_pipeline(uow.session, pipeline_id)))


def create_pipeline(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    ensure_admin(principal, "create_pipeline")
    fields = load(_create, data)
    fields["stages"] = rules.validate_stages(fields["stages"])
    with uow:
        session = uow.session
        default_pipeline(session)
        _raise_if_taken(session, fields)
        now = utcnow()
        pipeline = Pipeline(id=new_id(), is_default=False, created_by=principal.user_id, created_at=now,
                            updated_at=now, **{"active": True, **fields})
        session.add(pipeline)
        session.flush()
        return uow.commit(lambda: dump(pipeline))


def update_pipeline(uow: UnitOfWork, principal: Principal, pipeline_id: str, data: dict,
                    expected_version=None) -> dict:
    """Change a pipeline; a stage open opportunities are in cannot be taken away (409 naming them);
    the default pipeline stays active and has no department or kind."""
    ensure_admin(principal, "update_pipeline")
    fields = load(_update, data, partial=True)
    if "stages" in fields:
        fields["stages"] = rules.validate_stages(fields["stages"])
    with uow:
        session = uow.session
        if pipeline_id == rules.DEFAULT_PIPELINE_ID:
            default_pipeline(session)
        pipeline = _pipeline(session, pipeline_id)
        check_version(pipeline, expected_version, "pipeline")
        if pipeline.is_default and (fields.get("active") is False or fields.get("department_id")
                                    or fields.get("kind")):
            raise ValidationFailed.from_messages(
                {"_schema": ["The default pipeline stays active, for every department and kind."]})
        _raise_if_taken(session, fields, except_id=pipeline.id)
        if "stages" in fields:
            gone = rules.removed_stages(pipeline.stages, fields["stages"])
            if gone:
                used = session.execute(select(Opportunity.stage, func.count()).where(
                    Opportunity.pipeline_id == pipeline.id, Opportunity.status == "open",
                    Opportunity.stage.in_(gone)).group_by(Opportunity.stage)).all()
                if used:
                    raise Conflict("Open opportunities are in the stages this change takes away: "
                                   + ", ".join(f"{stage} ({count})" for stage, count in used) + ".",
                                   {"field": "stages"})
        changed = {k: v for k, v in fields.items() if getattr(pipeline, k) != v}
        if not changed:
            return uow.commit(lambda: dump(pipeline))
        for name, value in changed.items():
            setattr(pipeline, name, value)
        pipeline.updated_at = utcnow()
        session.flush()
        return uow.commit(lambda: dump(pipeline))


# -- the opportunity settings ------------------------------------------------------------------------
def _settings_row(session, lock: bool = False) -> OpportunitySettings | None:
    stmt = select(OpportunitySettings).where(OpportunitySettings.id == SETTINGS_ID)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalars(stmt).first()


def lost_reasons(session) -> list[str]:
    row = _settings_row(session)
    return list(row.lost_reasons) if row is not None else list(DEFAULT_LOST_REASONS)


def _settings_dump(row: OpportunitySettings | None) -> dict:
    if row is None:
        return {"lost_reasons": list(DEFAULT_LOST_REASONS), "updated_by": None, "version": 1, "updated_at": None}
    return _settings_out.dump(row)


class _Defaults:
    version = 1


def get_opportunity_settings(uow: UnitOfWork, principal: Principal) -> dict:
    with uow:
        return _settings_dump(_settings_row(uow.session))


def set_opportunity_settings(uow: UnitOfWork, principal: Principal, data: dict, expected_version=None) -> dict:
    """Admins replace the lost reasons (each once, in the order given). Reasons already recorded on
    lost opportunities stay as they are."""
    ensure_admin(principal, "set_opportunity_settings")
    fields = load(_settings_set, data)
    reasons = list(dict.fromkeys(r.strip() for r in fields["lost_reasons"]))
    with uow:
        session = uow.session
        uow.audit_action("settings_update")
        row = _settings_row(session, lock=True)
        if row is None:
            check_version(_Defaults, expected_version, "opportunity settings")
            row = OpportunitySettings(id=SETTINGS_ID, lost_reasons=list(DEFAULT_LOST_REASONS),
                                      updated_by=principal.user_id)
            session.add(row)
            try:
                session.flush()
            except IntegrityError:
                raise stale_version() from None
        else:
            check_version(row, expected_version, "opportunity settings")
        if row.lost_reasons != reasons:
            row.lost_reasons = reasons
            row.updated_by = principal.user_id
            session.flush()
        return uow.commit(lambda: _settings_dump(row))
