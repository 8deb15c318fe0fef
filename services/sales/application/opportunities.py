"""Opportunities (商机): create (by hand, or from a lead conversion), read, change, move through the
stages of its pipeline (``domain.opportunities``' table), reopen; its team and history.

Amount: with product lines it is their total (each priced by ``application.pricing.unit_prices`` on
the day, in the opportunity's currency, and totalled by ``domain.totals.line_total``), never the
client's; without lines it is the amount given. Every move is written to the stage history.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from crm_kit.context import Principal
from crm_kit.errors import ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records import audit, team_members
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.records.scopes import get_for_read, get_for_write
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork
from services.sales.application import (
    opportunity_queries,  # noqa: F401  (the running totals' hook)
    pipelines,
)
from services.sales.application.customer_events import current_customer_id
from services.sales.application.pricing import unit_prices
from services.sales.domain import opportunities as rules
from services.sales.domain.org import OrgChart
from services.sales.domain.totals import line_total
from services.sales.events.opportunities import (
    OPPORTUNITY_CREATED,
    OPPORTUNITY_LOST,
    OPPORTUNITY_STAGE_CHANGED,
    OPPORTUNITY_UPDATED,
    OPPORTUNITY_WON,
)
from services.sales.models import Opportunity, OpportunityLine, OpportunityStageChange, Pipeline
from services.sales.schemas.opportunities import (
    OpportunityCreate,
    OpportunityOut,
    OpportunityReopen,
    OpportunityStageMove,
    OpportunityUpdate,
)

_out = OpportunityOut()
_create = OpportunityCreate()
_update = OpportunityUpdate()
_stage_change = OpportunityStageMove()
_reopen = OpportunityReopen()
RESOURCE = "opportunity"


def _for_read(session, principal, opportunity_id):
    return get_for_read(session, Opportunity, opportunity_id, principal, RESOURCE)


def _for_write(session, principal, opportunity_id):
    return get_for_write(session, Opportunity, opportunity_id, principal, RESOURCE)


def _record_move(session, opportunity: Opportunity, action: str, from_stage, from_status, note, by, at,
                 lost_reason=None) -> None:
    session.add(OpportunityStageChange(
        id=new_id(), opportunity_id=opportunity.id, action=action, from_stage=from_stage, to_stage=opportunity.stage,
        from_status=from_status, to_status=opportunity.status, probability=opportunity.probability, note=note,
        lost_reason=lost_reason, changed_by=by, changed_at=at))


def _priced_lines(session, lines_in: list[dict], *, price_list_id, currency: str) -> list[OpportunityLine]:
    """The lines as the server prices them (422 naming ``lines.product_id`` for a product it cannot)."""
    priced = unit_prices(session, [line["product_id"] for line in lines_in], price_list_id=price_list_id,
                         currency=currency, on=utcnow().date())
    out = []
    for position, line in enumerate(lines_in, start=1):
        product = priced[line["product_id"]]
        discount = line.get("discount_percent") or Decimal("0")
        out.append(OpportunityLine(
            id=new_id(), position=position, product_id=product.product_id, sku=product.sku, name=product.name,
            unit=product.unit, quantity=line["quantity"], unit_price=product.unit_price, discount_percent=discount,
            total=line_total(line["quantity"], product.unit_price, discount), price_list_id=product.price_list_id))
    return out


def open_opportunity(uow: UnitOfWork, *, fields: dict, owner_id, department_id, created_by, note=None,
                     source_lead_id=None, stage_key=None) -> Opportunity:
    """A new open opportunity in its pipeline's first stage (or ``stage_key``, an open one), with its
    first stage history entry and ``opportunity_created`` (the caller commits)."""
    session = uow.session
    if fields.get("customer_id"):                 # a merged customer's id names its survivor
        fields["customer_id"] = current_customer_id(session, fields["customer_id"])
    lines_in = fields.pop("lines", None)
    pipeline = pipelines.pipeline_for_new(session, pipeline_id=fields.pop("pipeline_id", None),
                                          kind=fields.get("kind"), department_id=department_id)
    stages = pipelines.stages(pipeline)
    stage = stages.get(stage_key) if stage_key else next(iter(stages.values()))
    if stage is None or stage.status != "open":
        raise ValidationFailed.from_messages({"stage": ["Must be an open stage of the pipeline."]})
    now = utcnow()
    opportunity = Opportunity(
        id=new_id(), owner_id=owner_id, department_id=department_id, created_by=created_by, pipeline_id=pipeline.id,
        stage=stage.key, probability=stage.probability, status="open", stage_changed_at=now,
        source_lead_id=source_lead_id, created_at=now, updated_at=now,
        **{"currency": "CNY", "contact_ids": [], "amount": Decimal("0.00"), **fields})
    if lines_in:
        opportunity.lines = _priced_lines(session, lines_in, price_list_id=opportunity.price_list_id,
                                          currency=opportunity.currency)
        opportunity.amount = sum((line.total for line in opportunity.lines), Decimal("0.00"))
    session.add(opportunity)
    session.flush()
    _record_move(session, opportunity, "created", None, None, note, created_by, now)
    session.flush()
    uow.emit(OPPORTUNITY_CREATED, opportunity, occurred_at=now)
    return opportunity


# -- the use cases -----------------------------------------------------------------------------------
def create_opportunity(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    fields = load(_create, data)
    stage_key = fields.pop("stage", None)
    with uow:
        opportunity = open_opportunity(uow, fields=fields, owner_id=principal.user_id,
                                       department_id=principal.department_id, created_by=principal.user_id,
                                       stage_key=stage_key)
        return uow.commit(lambda: _out.dump(opportunity))


def get_opportunity(uow: UnitOfWork, principal: Principal, opportunity_id: str) -> dict:
    with uow:
        return _out.dump(_for_read(uow.session, principal, opportunity_id))


def update_opportunity(uow: UnitOfWork, principal: Principal, opportunity_id: str, data: dict,
                       expected_version=None) -> dict:
    """Change an open opportunity (409 once closed); ``lines`` replaces them and the amount becomes
    their total; an ``amount`` is refused while it has lines (422)."""
    fields = load(_update, data, partial=True)
    with uow:
        session = uow.session
        opportunity = _for_write(session, principal, opportunity_id)
        check_version(opportunity, expected_version, RESOURCE)
        rules.ensure_open(opportunity.status, "update")
        lines_in = fields.pop("lines", None)
        if "amount" in fields and (lines_in or (lines_in is None and opportunity.lines)):
            raise ValidationFailed.from_messages({"amount": ["Computed from the lines while it has lines."]})
        changed = sorted(name for name, value in fields.items() if getattr(opportunity, name) != value)
        for name in changed:
            setattr(opportunity, name, fields[name])
        if lines_in is not None or ({"currency", "price_list_id"} & set(changed) and opportunity.lines):
            wanted = lines_in if lines_in is not None else [
                {"product_id": line.product_id, "quantity": line.quantity, "discount_percent": line.discount_percent}
                for line in opportunity.lines]
            opportunity.lines = _priced_lines(session, wanted, price_list_id=opportunity.price_list_id,
                                              currency=opportunity.currency)
            changed.append("lines")
            if opportunity.lines:
                amount = sum((line.total for line in opportunity.lines), Decimal("0.00"))
                if amount != opportunity.amount:
                    opportunity.amount = amount
                    changed.append("amount")
        if not changed:
            return _out.dump(opportunity)
        now = utcnow()
        opportunity.updated_at = now
        session.flush()
        uow.emit(OPPORTUNITY_UPDATED, opportunity, changed=sorted(set(changed)), occurred_at=now)
        return uow.commit(lambda: _out.dump(opportunity))


def change_opportunity_stage(uow: UnitOfWork, principal: Principal, opportunity_id: str, data: dict,
                             expected_version=None) -> dict:
    """Move it to another stage of its pipeline (``domain.opportunities.plan_move``)."""
    fields = load(_stage_change, data)
    note = fields.get("note")
    with uow:
        session = uow.session
        opportunity = _for_write(session, principal, opportunity_id)
        check_version(opportunity, expected_version, RESOURCE)
        stages = pipelines.stages(session.get(Pipeline, opportunity.pipeline_id))
        move = rules.plan_move(stages, opportunity.status, opportunity.stage, fields["stage"], note=note,
                               lost_reason=fields.get("lost_reason"), lost_reasons=pipelines.lost_reasons(session))
        uow.audit_action(f"stage_{move.kind}")
        now = utcnow()
        from_stage, from_status = opportunity.stage, opportunity.status
        opportunity.stage, opportunity.status = move.to.key, move.to.status
        opportunity.probability = move.to.probability
        opportunity.stage_changed_at = opportunity.updated_at = now
        if move.closes:
            opportunity.closed_at = now
            opportunity.lost_reason = fields.get("lost_reason") if move.kind == "lost" else None
        session.flush()
        _record_move(session, opportunity, move.kind, from_stage, from_status, note, principal.user_id, now,
                     opportunity.lost_reason)
        if move.kind == "won":
            uow.emit(OPPORTUNITY_WON, opportunity, from_stage=from_stage, note=note, occurred_at=now)
        elif move.kind == "lost":
            uow.emit(OPPORTUNITY_LOST, opportunity, from_stage=from_stage, note=note, occurred_at=now)
        else:
            uow.emit(OPPORTUNITY_STAGE_CHANGED, opportunity, from_stage=from_stage, to_stage=opportunity.stage,
                     note=note, occurred_at=now)
        return uow.commit(lambda: _out.dump(opportunity))


def reopen_opportunity(uow: UnitOfWork, principal: Principal, org: OrgChart, opportunity_id: str, data: dict,
                       expected_version=None) -> dict:
    """A closed opportunity open again, by its owner's manager or an admin, with a note: back to the
    stage it closed from (or ``stage``); ``closed_at`` and ``lost_reason`` cleared."""
    fields = load(_reopen, data)
    with uow:
        session = uow.session
        opportunity = _for_read(session, principal, opportunity_id)
        check_version(opportunity, expected_version, RESOURCE)
        rules.check_reopen(opportunity.status, is_admin=principal.is_admin,
                           is_owners_manager=bool(opportunity.owner_id and org.is_manager_of(
                               principal.user_id, opportunity.owner_id)), note=fields["note"])
        closed_from = session.scalars(select(OpportunityStageChange.from_stage).where(
            OpportunityStageChange.opportunity_id == opportunity.id,
            OpportunityStageChange.to_status == opportunity.status)
            .order_by(OpportunityStageChange.changed_at.desc(), OpportunityStageChange.id.desc()).limit(1)).first()
        stage = rules.reopen_stage(pipelines.stages(session.get(Pipeline, opportunity.pipeline_id)),
                                   closed_from, fields.get("stage"))
        uow.audit_action("reopen")
        now = utcnow()
        from_stage, from_status = opportunity.stage, opportunity.status
        opportunity.stage, opportunity.status, opportunity.probability = stage.key, "open", stage.probability
        opportunity.closed_at, opportunity.lost_reason = None, None
        opportunity.stage_changed_at = opportunity.updated_at = now
        session.flush()
        _record_move(session, opportunity, "reopen", from_stage, from_status, fields["note"], principal.user_id, now)
        uow.emit(OPPORTUNITY_STAGE_CHANGED, opportunity, from_stage=from_stage, to_stage=opportunity.stage,
                 note=fields["note"], occurred_at=now)
        return uow.commit(lambda: _out.dump(opportunity))


# -- team and history (the kit's use cases) ------------------------------------------------------------
def list_opportunity_team(uow: UnitOfWork, principal: Principal, opportunity_id: str) -> dict:
    return team_members.list_team(uow, principal, Opportunity, opportunity_id, RESOURCE)


def set_opportunity_team_member(uow: UnitOfWork, principal: Principal, opportunity_id: str, user_id, access) -> dict:
    return team_members.set_team_member(uow, principal, Opportunity, opportunity_id, user_id, access, RESOURCE)


def remove_opportunity_team_member(uow: UnitOfWork, principal: Principal, opportunity_id: str, user_id) -> None:
    team_members.remove_team_member(uow, principal, Opportunity, opportunity_id, user_id, RESOURCE)


def opportunity_history(uow: UnitOfWork, principal: Principal, opportunity_id: str, query: dict | None = None) -> dict:
    return audit.record_history(uow, principal, Opportunity, opportunity_id, RESOURCE, query)
