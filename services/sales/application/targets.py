"""Sales targets (销售目标): set, change, delete, list and read them with their attainment; and the
collection facts billing's payment events bring (``record_collection``).

Who may set which, and who sees which: ``domain.targets``. ``org`` (the organisation, from the
gateway) says which departments exist, which department a person is in, and the department tree
(a department's target counts its whole subtree).

Attainment is computed when a target is read, from what sales holds: ``order_amount`` from its own
approved orders (``orders``: status ``approved``, by ``approved_at``, their ``total`` in the
target's currency; a cancelled order no longer counts), ``collected_amount`` from
``target_collections`` (payments ``confirmed``, by ``collected_at``), kept from billing's payment
events (``application.collections``).
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import and_, func, or_, select

from crm_kit.context import Principal
from crm_kit.errors import Duplicate, Forbidden, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load
from crm_kit.records.scopes import get_for_read, scoped_select
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork
from services.sales import models
from services.sales.application.customer_events import current_customer_id
from services.sales.domain import targets as rules
from services.sales.domain.org import OrgChart
from services.sales.models import SalesTarget, TargetCollection
from services.sales.schemas.targets import TargetCreate, TargetListQuery, TargetOut, TargetUpdate, _CollectionFact

ZERO = Decimal("0.00")
_create, _update, _query, _out = TargetCreate(), TargetUpdate(), TargetListQuery(), TargetOut()
_fact = _CollectionFact()


def visible(principal: Principal):
    """What everyone sees besides their data scope: the company's targets and their own department's."""
    return or_(SalesTarget.scope == "company",
               and_(SalesTarget.scope == "department", SalesTarget.department_id == principal.department_id))


def create_target(uow: UnitOfWork, principal: Principal, org: OrgChart, data: dict) -> dict:
    fields = load(_create, data)
    subject = _subject(org, fields)
    rules.check_may_set(principal, subject)
    key = rules.scope_key(subject.scope, subject.department_id, subject.user_id)
    period = rules.period(fields["year"], fields["month"])
    with uow:
        session = uow.session
        existing = session.scalar(select(SalesTarget.id).where(
            SalesTarget.period == period, SalesTarget.scope_key == key, SalesTarget.metric == fields["metric"],
            SalesTarget.currency == fields["currency"]))
        if existing is not None:
            raise Duplicate("There is a target for this period, scope, metric and currency already.",
                            {"existing_id": existing, "field": "scope"})
        target = SalesTarget(id=new_id(), year=fields["year"], month=fields["month"], period=period,
                             scope=subject.scope, scope_key=key, owner_id=subject.user_id,
                             department_id=subject.department_id, metric=fields["metric"],
                             currency=fields["currency"], amount=fields["amount"], note=fields["note"],
                             created_by=principal.user_id)
        session.add(target)
        session.flush()
        return uow.commit(lambda: dump(session, org, target))


def get_target(uow: UnitOfWork, principal: Principal, org: OrgChart, target_id: str) -> dict:
    with uow:
        target = get_for_read(uow.session, SalesTarget, target_id, principal, "sales target", visible(principal))
        return dump(uow.session, org, target)


def list_targets(uow: UnitOfWork, principal: Principal, org: OrgChart, query: dict | None = None) -> dict:
    """The targets the caller sees, newest first, each with its attainment."""
    params = load(_query, query or {})
    stmt = scoped_select(SalesTarget, principal, visible(principal))
    for name, column in (("year", SalesTarget.year), ("month", SalesTarget.month), ("scope", SalesTarget.scope),
                         ("department_id", SalesTarget.department_id), ("user_id", SalesTarget.owner_id),
                         ("metric", SalesTarget.metric), ("currency", SalesTarget.currency)):
        if params[name] is not None:
            stmt = stmt.where(column == params[name])
    if params["yearly"] is not None:
        stmt = stmt.where(SalesTarget.month.is_(None) if params["yearly"] else SalesTarget.month.is_not(None))
    with uow:
        rows, next_cursor = paginate(uow.session, stmt, SalesTarget.id, params["limit"], params["cursor"])
        return {"items": [dump(uow.session, org, row) for row in rows], "next_cursor": next_cursor}


def update_target(uow: UnitOfWork, principal: Principal, org: OrgChart, target_id: str, data: dict,
                  expected_version=None) -> dict:
    fields = load(_update, data, partial=True)
    with uow:
        session = uow.session
        target = _for_write(session, principal, target_id)
        check_version(target, expected_version, "sales target")
        for name, value in fields.items():
            setattr(target, name, value)
        session.flush()
        return uow.commit(lambda: dump(session, org, target))


def delete_target(uow: UnitOfWork, principal: Principal, target_id: str, expected_version=None) -> None:
    with uow:
        session = uow.session
        target = _for_write(session, principal, target_id)
        check_version(target, expected_version, "sales target")
        session.delete(target)
        session.flush()
        return uow.commit(None)


def dump(session, org: OrgChart, target: SalesTarget) -> dict:
    out = _out.dump(target)
    attained = attained_amount(session, org, target)
    out["attained"] = str(attained)
    percent = rules.attainment(target.amount, attained)
    out["attainment_percent"] = None if percent is None else str(percent)
    return out


def attained_amount(session, org: OrgChart, target: SalesTarget) -> Decimal:
    """What the target's scope attained in its period and currency (see the module's docstring)."""
    start, end = rules.bounds(target.year, target.month)
    if target.metric == "order_amount":
        order = getattr(models, "Order", None)
        if order is None:
            return ZERO
        amount, at = order.total, order.approved_at
        stmt = select(func.coalesce(func.sum(amount), 0)).where(
            order.status == "approved", order.currency == target.currency, at >= start, at < end)
        owner, department = order.owner_id, order.department_id
    else:
        amount, at = TargetCollection.amount, TargetCollection.collected_at
        stmt = select(func.coalesce(func.sum(amount), 0)).where(
            TargetCollection.status == "confirmed", TargetCollection.currency == target.currency,
            at >= start, at < end)
        owner, department = TargetCollection.owner_id, TargetCollection.department_id
    if target.scope == "user":
        stmt = stmt.where(owner == target.owner_id)
    elif target.scope == "department":
        stmt = stmt.where(department.in_(sorted(rules.subtree(org.departments, target.department_id))))
    total = session.scalar(stmt)
    return Decimal(str(total or 0)).quantize(rules.CENT)


def record_collection(uow: UnitOfWork, fact: dict) -> bool:
    """Keep a payment collected (or reversed) for the targets' attainment: one row per payment, replaced
    only by a newer fact. Returns whether it changed anything (``application.collections`` calls it
    for billing's payment events)."""
    fact = load(_fact, fact)
    with uow:
        session = uow.session
        if fact["customer_id"] is not None:
            fact["customer_id"] = current_customer_id(session, fact["customer_id"])
        row = session.get(TargetCollection, fact["payment_id"])
        if row is not None and not rules.supersedes(row.occurred_at, fact["occurred_at"]):
            uow.commit()
            return False
        if row is None:
            session.add(TargetCollection(**fact))
        else:
            for name, value in fact.items():
                setattr(row, name, value)
        session.flush()
        uow.commit()
        return True


def _subject(org: OrgChart, fields: dict) -> rules.Subject:
    """What the target is for, checked against the organisation (422 on the field)."""
    scope, department_id, user_id = fields["scope"], fields["department_id"], fields["user_id"]
    errors = {}
    if scope != "department" and department_id is not None:
        errors["department_id"] = ["Only a department target names a department."]
    if scope != "user" and user_id is not None:
        errors["user_id"] = ["Only a personal target names a user."]
    if scope == "department" and (department_id is None or department_id not in org.departments):
        errors["department_id"] = ["A known department is required."]
    if scope == "user":
        person = org.user(user_id)
        if person is None:
            errors["user_id"] = ["An active user is required."]
        else:
            department_id = person.department_id
    if errors:
        raise ValidationFailed.from_messages(errors)
    return rules.Subject(scope, department_id, user_id)


def _for_write(session, principal: Principal, target_id: str) -> SalesTarget:
    target = get_for_read(session, SalesTarget, target_id, principal, "sales target", visible(principal))
    if not rules.may_set(principal, rules.Subject(target.scope, target.department_id, target.owner_id)):
        raise Forbidden(f"You may see sales target {target_id} but not change it.", {"action": "set_target"})
    return target
