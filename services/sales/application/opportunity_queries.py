"""Reading opportunities: the list (views, filters, keyset pages), the kanban, a customer's open
ones, the stage history; and the kanban's running totals, kept at every flush.

**The running totals** (``opportunity_stage_totals``): the count and amount of open opportunities
per (pipeline, stage, currency, owner, department). A ``before_flush`` hook (``_keep_totals``) reads
what each flush does to an opportunity (created, its stage / status / amount / currency / owner /
department / pipeline changed, deleted) from the ORM's attribute history and moves the totals with it
in the same transaction, so every path that changes an opportunity through the ORM -- this subject's
use cases, another subject's handler (an owner change, a merge) -- keeps them exact; a Core
``UPDATE`` of ``opportunities`` would not (don't). Rows are read locked and written back (exact
decimals on every database).

**The kanban** sums those rows in the caller's data scope: an admin every row of the pipeline; a
manager the rows of their department subtree or their own; a member their own; plus, read from the
opportunities themselves, those the caller sees only as a team member (few). A few hundred rows,
whatever the number of opportunities.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import and_, event, false, inspect, not_, or_, select
from sqlalchemy.orm import Session

from crm_kit.context import Principal
from crm_kit.errors import NotFound
from crm_kit.records import teams
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import Dumper, load
from crm_kit.records.scopes import get_for_read, scoped_select
from crm_kit.runtime.uow import UnitOfWork
from services.sales.application import pipelines
from services.sales.domain import opportunities as rules
from services.sales.models import Opportunity, OpportunityStageChange, Pipeline
from services.sales.models.opportunities import opportunity_stage_totals as totals
from services.sales.models.opportunities import opportunity_team
from services.sales.schemas.opportunities import (
    KanbanQuery,
    OpportunityListItemOut,
    OpportunityListQuery,
    OpportunityStageChangeOut,
)

_item_out = Dumper(OpportunityListItemOut())
_change_out = OpportunityStageChangeOut()
_list_query = OpportunityListQuery()
_kanban_query = KanbanQuery()
ZERO = Decimal("0.00")
BUCKET = ("pipeline_id", "stage", "currency", "owner_id", "department_id")
CUSTOMER_LIMIT = 50


# -- the running totals ------------------------------------------------------------------------------
def _key(values: dict):
    if values["status"] != "open":
        return None
    return tuple(values[name] or "" for name in BUCKET)


def _now_values(obj) -> dict:
    return {name: getattr(obj, name) for name in (*BUCKET, "status", "amount")}


def _old_values(obj) -> dict:
    state = inspect(obj)
    out = {}
    for name in (*BUCKET, "status", "amount"):
        history = state.attrs[name].history
        out[name] = history.deleted[0] if history.deleted else getattr(obj, name)
    return out


def _keep_totals(session: Session, flush_context, instances) -> None:
    deltas: dict[tuple, list] = defaultdict(lambda: [0, ZERO])

    def add(key, count, amount):
        if key is not None:
            deltas[key][0] += count
            deltas[key][1] += Decimal(amount or 0) * count

    for obj in session.new:
        if isinstance(obj, Opportunity):
            add(_key(_now_values(obj)), 1, obj.amount)
    for obj in session.dirty:
        if isinstance(obj, Opportunity) and session.is_modified(obj, include_collections=False):
            old, new = _old_values(obj), _now_values(obj)
            add(_key(old), -1, old["amount"])
            add(_key(new), 1, new["amount"])
    for obj in session.deleted:
        if isinstance(obj, Opportunity):
            old = _old_values(obj)
            add(_key(old), -1, old["amount"])
    changes = {k: v for k, v in deltas.items() if v[0] or v[1]}
    if changes:
        with session.no_autoflush:
            _apply(session, changes)


def _apply(session, changes: dict) -> None:
    for key in sorted(changes):             # (one order: two writers lock rows the same way round)
        count, amount = changes[key]
        match = and_(*(totals.c[name] == value for name, value in zip(BUCKET, key)))
        row = session.execute(select(totals.c.opportunity_count, totals.c.amount).where(match)
                              .with_for_update()).first()
        if row is None:
            session.execute(totals.insert().values(**dict(zip(BUCKET, key)), opportunity_count=count,
                                                   amount=amount))
        elif row.opportunity_count + count == 0:
            session.execute(totals.delete().where(match))
        else:
            session.execute(totals.update().where(match).values(
                opportunity_count=row.opportunity_count + count, amount=row.amount + amount))


event.listen(Session, "before_flush", _keep_totals)


# -- views and filters -------------------------------------------------------------------------------
def _team_ids(user_id: str):
    return select(opportunity_team.c.record_id).where(opportunity_team.c.user_id == user_id,
                                                      teams.current(opportunity_team))


def view_clause(principal: Principal, scope: str):
    view = rules.view_of(scope, principal.user_id, principal.role, principal.scope_department_ids)
    if view.nothing:
        return false()
    if view.owner_id:
        return Opportunity.owner_id == view.owner_id
    if view.team_member:
        return Opportunity.id.in_(_team_ids(view.team_member))
    if view.department_ids:
        return Opportunity.department_id.in_(view.department_ids) & (Opportunity.owner_id != view.exclude_owner)
    return None


def opportunity_statement(principal: Principal, params: dict, scoped=None):
    """The scoped, filtered select ``list_opportunities`` pages (the benchmark explains it): ``scoped``,
    or the caller's data scope."""
    stmt = scoped if scoped is not None else scoped_select(Opportunity, principal)
    view = view_clause(principal, params["scope"])
    if view is not None:
        stmt = stmt.where(view)
    for name in ("status", "stage", "pipeline_id", "customer_id", "owner_id"):
        if params.get(name):
            stmt = stmt.where(getattr(Opportunity, name) == params[name])
    if params.get("expected_close_from"):
        stmt = stmt.where(Opportunity.expected_close_date >= params["expected_close_from"])
    if params.get("expected_close_to"):
        stmt = stmt.where(Opportunity.expected_close_date <= params["expected_close_to"])
    return stmt


def list_opportunities(uow: UnitOfWork, principal: Principal, query: dict | None) -> dict:
    """Opportunities the caller may see, in a view, filtered, newest first, a keyset page."""
    params = load(_list_query, query or {})
    stmt = opportunity_statement(principal, params, scoped_select(Opportunity, principal))
    with uow:
        rows, next_cursor = paginate(uow.session, stmt, Opportunity.id, params["limit"], params["cursor"])
        return {"items": _item_out.dump(rows, many=True), "next_cursor": next_cursor}


def customer_opportunities(uow: UnitOfWork, principal: Principal, customer_id: str, limit: int = 10) -> dict:
    """The customer's open opportunities the caller may see, newest first (the customer overview)."""
    limit = max(1, min(int(limit or 10), CUSTOMER_LIMIT))
    stmt = scoped_select(Opportunity, principal).where(Opportunity.customer_id == customer_id,
                                                       Opportunity.status == "open")
    with uow:
        rows = uow.session.scalars(stmt.order_by(Opportunity.id.desc()).limit(limit)).all()
        return {"items": _item_out.dump(rows, many=True), "next_cursor": None}


def list_opportunity_stages(uow: UnitOfWork, principal: Principal, opportunity_id: str) -> dict:
    """The stage history of an opportunity the caller may see, oldest first."""
    with uow:
        get_for_read(uow.session, Opportunity, opportunity_id, principal, "opportunity")
        rows = uow.session.scalars(select(OpportunityStageChange).where(
            OpportunityStageChange.opportunity_id == opportunity_id)
            .order_by(OpportunityStageChange.changed_at, OpportunityStageChange.id)).all()
        return {"items": _change_out.dump(rows, many=True), "next_cursor": None}


# -- the kanban --------------------------------------------------------------------------------------
def _total_rows(session, principal: Principal, pipeline_id: str):
    stmt = select(totals.c.stage, totals.c.currency, totals.c.opportunity_count, totals.c.amount).where(
        totals.c.pipeline_id == pipeline_id)
    if principal.is_admin:
        return session.execute(stmt).all(), None
    mine = [totals.c.owner_id == principal.user_id]
    seen = [Opportunity.owner_id == principal.user_id]
    if principal.role == "manager" and principal.scope_department_ids:
        mine.append(totals.c.department_id.in_(principal.scope_department_ids))
        seen.append(Opportunity.department_id.in_(principal.scope_department_ids))
    return session.execute(stmt.where(or_(*mine))).all(), or_(*seen)


def opportunity_kanban(uow: UnitOfWork, principal: Principal, query: dict | None) -> dict:
    """The open opportunities of a pipeline the caller may see, by stage (in the pipeline's order):
    count and amount per currency."""
    params = load(_kanban_query, query or {})
    with uow:
        session = uow.session
        if params["pipeline_id"]:
            pipeline = session.get(Pipeline, params["pipeline_id"])
            if pipeline is None:
                raise NotFound.of("pipeline", params["pipeline_id"])
        else:
            pipeline = pipelines.default_pipeline(session)
        rows, counted = _total_rows(session, principal, pipeline.id)
        sums: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(lambda: [0, ZERO]))
        for stage, currency, count, amount in rows:
            sums[stage][currency][0] += count
            sums[stage][currency][1] += amount
        if counted is not None:        # seen only as a team member: not in the rows above
            extra = session.execute(select(Opportunity.stage, Opportunity.currency, Opportunity.amount).where(
                Opportunity.pipeline_id == pipeline.id, Opportunity.status == "open",
                Opportunity.id.in_(_team_ids(principal.user_id)), not_(counted))).all()
            for stage, currency, amount in extra:
                sums[stage][currency][0] += 1
                sums[stage][currency][1] += amount
        columns = []
        for stage in pipelines.stages(pipeline).values():
            if stage.status != "open":
                continue
            by_currency = sums.get(stage.key, {})
            columns.append({"stage": stage.key, "name": stage.name, "probability": stage.probability,
                            "count": sum(v[0] for v in by_currency.values()),
                            "amounts": [{"currency": c, "count": v[0], "amount": f"{v[1]:.2f}"}
                                        for c, v in sorted(by_currency.items())]})
        out = {"pipeline_id": pipeline.id, "columns": columns}
        return pipelines.finish(uow, out)
