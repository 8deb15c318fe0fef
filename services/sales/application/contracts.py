"""Contracts (合同): create, read, list, edit; submit / approve / reject / withdraw through the approval
engine (``application.approvals``); sign, void, renew; and the renewal reminder job.

Reads and writes go through the data scopes (``owner_id`` / ``department_id``: 404 out of scope, 403
visible but not writable). An approver decides a contract outside their data scope too (the engine
says who may); anyone else out of scope is told it does not exist. The state machine is
``domain.contracts``'s; only the engine's answers make a contract approved.

The reminder job (``remind_expiring_contracts``, as the platform) expires the signed contracts
past their end and raises ``contract_expiring`` once per signed contract ``notice_days`` before its
end, each with an audit entry naming the rule and its inputs (``expiry_rule`` / ``expiring_rule``).
"""
from __future__ import annotations

import datetime as dt
import importlib

from sqlalchemy import exc, select

from crm_kit.context import Principal
from crm_kit.errors import Conflict, Forbidden, InvalidState, NotFound, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.audit import record_history
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load
from crm_kit.records.scopes import get_for_read, get_for_write, scope_clause, scoped_select
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork
from services.sales import models
from services.sales.application.customer_events import current_customer_id
from services.sales.domain import contracts as rules
from services.sales.domain.org import OrgChart
from services.sales.events.contracts import CONTRACT_EXPIRING, CONTRACT_SIGNED
from services.sales.models import Contract, ContractCounter
from services.sales.schemas.contracts import (
    ContractCreate,
    ContractDecision,
    ContractListQuery,
    ContractOut,
    ContractSign,
    ContractSubmit,
    ContractUpdate,
    ContractVoid,
)

KIND = "contract"            # the approval engine's subject kind
DEFAULT_NOTICE_DAYS = 30     # the renewal reminder's notice (SALES_CONTRACT_EXPIRING_NOTICE_DAYS)
JOB_BATCH = 500              # contracts per run of the job (the next run goes on)

_create, _update, _query = ContractCreate(), ContractUpdate(), ContractListQuery()
_submit, _decision, _sign, _void = ContractSubmit(), ContractDecision(), ContractSign(), ContractVoid()
_out = ContractOut()


def _engine():
    """The approval engine (``services.sales.application.approvals``: interface 3 of issue 12)."""
    return importlib.import_module("services.sales.application.approvals")


def dump(session, contract: Contract, approval: bool = True) -> dict:
    out = _out.dump(contract)
    if approval:
        out["approval"] = _engine().current(session, KIND, contract.id)
    return out


# -- records -------------------------------------------------------------------------------------
def create_contract(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    """A draft contract owned by the caller, in the caller's department, numbered ``CT-<year>-<n>``."""
    fields = load(_create, data)
    rules.check_period(fields["start_date"], fields["end_date"])
    with uow:
        session = uow.session
        fields["customer_id"] = current_customer_id(session, fields["customer_id"])
        if fields["renews_contract_id"] is not None:
            renewed = _renewed(session, principal, fields["renews_contract_id"])
            if renewed.customer_id != fields["customer_id"]:
                raise ValidationFailed.from_messages({"renews_contract_id": ["A contract of another customer."]})
        _check_orders(session, fields["customer_id"], fields["order_ids"])
        contract = _new(session, principal, principal.user_id, principal.department_id, fields)
        session.flush()
        return uow.commit(lambda: dump(session, contract))


def get_contract(uow: UnitOfWork, principal: Principal, contract_id: str) -> dict:
    with uow:
        return dump(uow.session, get_for_read(uow.session, Contract, contract_id, principal, "contract"))


def list_contracts(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    """Contracts in the caller's scope, newest first (without ``approval``: read one for it)."""
    params = load(_query, query or {})
    stmt = scoped_select(Contract, principal)
    for name in ("status", "customer_id", "owner_id", "department_id", "renews_contract_id"):
        if params[name] is not None:
            stmt = stmt.where(getattr(Contract, name) == params[name])
    if params["end_before"] is not None:
        stmt = stmt.where(Contract.end_date <= params["end_before"])
    with uow:
        rows, next_cursor = paginate(uow.session, stmt, Contract.id, params["limit"], params["cursor"])
        return {"items": [dump(uow.session, row, approval=False) for row in rows], "next_cursor": next_cursor}


def update_contract(uow: UnitOfWork, principal: Principal, contract_id: str, data: dict,
                    expected_version=None) -> dict:
    """Edit a draft or rejected contract (If-Match: version)."""
    fields = load(_update, data, partial=True)
    with uow:
        session = uow.session
        contract = get_for_write(session, Contract, contract_id, principal, "contract")
        check_version(contract, expected_version, "contract")
        rules.check("update", contract.status)
        rules.check_period(fields.get("start_date", contract.start_date), fields.get("end_date", contract.end_date))
        if "order_ids" in fields:
            _check_orders(session, contract.customer_id, fields["order_ids"])
        for name, value in fields.items():
            setattr(contract, name, value)
        session.flush()
        return uow.commit(lambda: dump(session, contract))


def contract_history(uow: UnitOfWork, principal: Principal, contract_id: str, query: dict | None = None) -> dict:
    return record_history(uow, principal, Contract, contract_id, "contract", query)


# -- approval ------------------------------------------------------------------------------------
def submit_contract(uow: UnitOfWork, principal: Principal, org: OrgChart, contract_id: str,
                    data: dict | None = None) -> dict:
    """Submit a draft (or rejected) contract to the approval engine: ``approved`` at once when nothing
    needs approving, else ``pending_approval``."""
    fields = load(_submit, data or {})
    with uow:
        session = uow.session
        contract = get_for_write(session, Contract, contract_id, principal, "contract")
        rules.check("submit", contract.status)
        uow.audit_action("submit")
        answer = _engine().submit(uow, principal, org, subject_kind=KIND, subject_id=contract.id,
                                  facts=rules.approval_facts(contract.amount, contract.currency, contract.owner_id,
                                                             contract.department_id,
                                                             contract.renews_contract_id is not None),
                                  approver_id=fields["approver_id"])
        contract.status = rules.after_submit(answer)
        session.flush()
        return uow.commit(lambda: dump(session, contract))


def approve_contract(uow: UnitOfWork, principal: Principal, org: OrgChart, contract_id: str,
                     data: dict | None = None) -> dict:
    return _decide(uow, principal, org, contract_id, "approve", data)


def reject_contract(uow: UnitOfWork, principal: Principal, org: OrgChart, contract_id: str,
                    data: dict | None = None) -> dict:
    return _decide(uow, principal, org, contract_id, "reject", data)


def _decide(uow: UnitOfWork, principal: Principal, org: OrgChart, contract_id: str, decision: str,
            data: dict | None) -> dict:
    fields = load(_decision, data or {})
    with uow:
        session = uow.session
        contract = session.get(Contract, contract_id)
        readable = contract is not None and session.scalar(select(Contract.id).where(
            Contract.id == contract_id, scope_clause(Contract, principal))) is not None
        if contract is None:
            raise NotFound.of("contract", contract_id)
        try:
            rules.check(decision, contract.status)
            uow.audit_action(decision)
            answer = _engine().decide(uow, principal, org, subject_kind=KIND, subject_id=contract.id,
                                      decision=decision, comment=fields["comment"])
        except (Forbidden, InvalidState):
            if not readable:          # neither in scope nor an approver: as if it did not exist
                raise NotFound.of("contract", contract_id) from None
            raise
        contract.status = rules.after_decision(answer)
        session.flush()
        return uow.commit(lambda: dump(session, contract))


def withdraw_contract(uow: UnitOfWork, principal: Principal, contract_id: str) -> dict:
    """The owner's side takes a pending contract back to ``draft`` (its approval request withdrawn)."""
    with uow:
        session = uow.session
        contract = get_for_write(session, Contract, contract_id, principal, "contract")
        rules.check("withdraw", contract.status)
        uow.audit_action("withdraw")
        _engine().withdraw(uow, principal, subject_kind=KIND, subject_id=contract.id)
        contract.status = "draft"
        session.flush()
        return uow.commit(lambda: dump(session, contract))


# -- signing, voiding, renewing ------------------------------------------------------------------
def sign_contract(uow: UnitOfWork, principal: Principal, contract_id: str, data: dict) -> dict:
    """Record our and/or the customer's signing of an approved contract; with both dates it is
    ``signed`` (``contract_signed``)."""
    fields = {k: v for k, v in load(_sign, data).items() if v is not None}
    if not {"our_signed_on", "customer_signed_on"} & set(fields):
        raise ValidationFailed.from_messages({"our_signed_on": ["Give our_signed_on or customer_signed_on."]})
    now = utcnow()
    rules.check_signing(fields.get("our_signed_on"), fields.get("customer_signed_on"), now.date())
    with uow:
        session = uow.session
        contract = get_for_write(session, Contract, contract_id, principal, "contract")
        rules.check("sign", contract.status)
        uow.audit_action("sign")
        for name, value in fields.items():
            setattr(contract, name, value)
        contract.status = rules.after_signing(contract.our_signed_on, contract.customer_signed_on)
        if contract.status == "signed":
            contract.signed_at = now
        session.flush()
        if contract.status == "signed":
            uow.emit(CONTRACT_SIGNED, contract, occurred_at=now)
        return uow.commit(lambda: dump(session, contract))


def void_contract(uow: UnitOfWork, principal: Principal, contract_id: str, reason=None) -> dict:
    """Void a contract in any state but expired, with a reason (a pending approval is withdrawn)."""
    fields = load(_void, {"reason": reason})
    with uow:
        session = uow.session
        contract = get_for_write(session, Contract, contract_id, principal, "contract")
        rules.check("void", contract.status)
        uow.audit_action("void")
        if contract.status == "pending_approval":
            _engine().withdraw(uow, principal, subject_kind=KIND, subject_id=contract.id)
        contract.status, contract.void_reason, contract.voided_at = "void", fields["reason"], utcnow()
        session.flush()
        return uow.commit(lambda: dump(session, contract))


def renew_contract(uow: UnitOfWork, principal: Principal, contract_id: str) -> dict:
    """A draft renewal of a signed or expired contract: its terms, the day after its end for as long,
    the same owner; ``Conflict`` (``existing_id``) when one (not void) exists already."""
    with uow:
        session = uow.session
        contract = get_for_write(session, Contract, contract_id, principal, "contract")
        rules.check("renew", contract.status)
        existing = session.scalar(select(Contract.id).where(Contract.renews_contract_id == contract.id,
                                                            Contract.status != "void"))
        if existing is not None:
            raise Conflict(f"Contract {contract.number} has a renewal already.",
                           {"existing_id": existing, "field": "renews_contract_id"})
        start, end = rules.renewal_period(contract.start_date, contract.end_date)
        uow.audit_action("renew")
        renewal = _new(session, principal, contract.owner_id, contract.department_id, {
            "customer_id": contract.customer_id, "name": contract.name, "order_ids": [],
            "our_signatory_id": contract.our_signatory_id,
            "customer_signatory_contact_id": contract.customer_signatory_contact_id,
            "customer_signatory_name": contract.customer_signatory_name, "amount": contract.amount,
            "currency": contract.currency, "start_date": start, "end_date": end,
            "payment_terms": contract.payment_terms, "renews_contract_id": contract.id, "notes": None})
        session.flush()
        return uow.commit(lambda: dump(session, renewal))


# -- the reminder job ----------------------------------------------------------------------------
def remind_expiring_contracts(uow: UnitOfWork, as_of: dt.datetime | None = None,
                              notice_days: int = DEFAULT_NOTICE_DAYS) -> dict:
    """As of ``as_of`` (default now): signed contracts past their end expire; those ending within
    ``notice_days`` raise ``contract_expiring`` once. Idempotent for an ``as_of``."""
    when = as_of or utcnow()
    today = when.date()
    with uow:
        session = uow.session
        due = session.scalars(select(Contract).where(
            Contract.status == "signed", Contract.end_date.is_not(None),
            Contract.end_date <= today + dt.timedelta(days=notice_days)).order_by(Contract.end_date, Contract.id)
            .limit(JOB_BATCH)).all()
        expired, reminded = [], []
        uow.audit_action("expire")
        for contract in due:
            rule = rules.expiry(contract.status, contract.end_date, today)
            if rule is not None:
                contract.status, contract.expired_at = "expired", when
                uow.audit_record("contract", contract.id, {"expiry_rule": [None, rule.applied()]}, "expire")
                expired.append(contract.id)
        session.flush()
        uow.audit_action("contract_expiring")
        for contract in due:
            rule = rules.expiring_notice(contract.status, contract.end_date,
                                         contract.expiring_notified_at is not None, today, notice_days)
            if rule is None:
                continue
            contract.expiring_notified_at = when
            uow.audit_record("contract", contract.id, {"expiring_notified_at": [None, when.isoformat()],
                                                       "expiring_rule": [None, rule.applied()]}, "contract_expiring")
            uow.emit(CONTRACT_EXPIRING, contract, occurred_at=when,
                     rule={**rule.applied(), "end_date": contract.end_date, "as_of": today})
            reminded.append(contract.id)
        session.flush()
        uow.commit()
    return {"as_of": when.isoformat(), "notice_days": notice_days, "reminded": reminded, "expired": expired}


# -- helpers -------------------------------------------------------------------------------------
def _new(session, principal: Principal, owner_id, department_id, fields: dict) -> Contract:
    now = utcnow()
    contract = Contract(id=new_id(), number=rules.number(now.year, _next_number(session, now.year)),
                        owner_id=owner_id, department_id=department_id, status="draft",
                        created_by=principal.user_id, created_at=now, **fields)
    session.add(contract)
    return contract


def _next_number(session, year: int) -> int:
    """The year's next number: its counter row locked for the transaction (created on first use;
    two creating it at once: the second reads the first's)."""
    counter = session.scalars(select(ContractCounter).where(ContractCounter.year == year).with_for_update()).first()
    if counter is None:
        try:
            with session.begin_nested():
                session.add(ContractCounter(year=year, last=0))
        except exc.IntegrityError:
            pass
        counter = session.scalars(select(ContractCounter).where(ContractCounter.year == year)
                                  .with_for_update()).one()
    counter.last += 1
    return counter.last


def _renewed(session, principal: Principal, contract_id: str) -> Contract:
    contract = session.scalars(select(Contract).where(Contract.id == contract_id,
                                                      scope_clause(Contract, principal))).first()
    if contract is None:
        raise ValidationFailed.from_messages({"renews_contract_id": ["No such contract."]})
    return contract


def _check_orders(session, customer_id: str, order_ids: list[str]) -> None:
    """The orders a contract covers are the customer's (once sales has orders)."""
    order = getattr(models, "Order", None)
    if order is None or not order_ids:
        return
    found = set(session.scalars(select(order.id).where(order.id.in_(order_ids), order.customer_id == customer_id)))
    missing = [i for i in order_ids if i not in found]
    if missing:
        raise ValidationFailed.from_messages({"order_ids": [f"Not an order of this customer: {', '.join(missing)}."]})


__all__ = ["create_contract", "get_contract", "list_contracts", "update_contract", "contract_history",
           "submit_contract", "approve_contract", "reject_contract", "withdraw_contract", "sign_contract",
           "void_contract", "renew_contract", "remind_expiring_contracts"]
