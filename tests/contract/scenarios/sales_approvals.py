"""Scenarios of the sales approval engine (审批): an order submitted under the default flow and
approved by the owner's manager; a flow of two steps where the second rejects, the resubmission is
withdrawn (``approval_requested``, ``approval_decided``). The engine runs inside the subject's
unit of work, as the orders, quotes and contracts use cases call it."""
from __future__ import annotations

from decimal import Decimal

from crm_kit.context import Principal
from services.sales.application import approval_flows
from services.sales.application import approvals as engine
from services.sales.domain.org import OrgChart
from tests.contract.support import ADMIN, Producing

ORG = OrgChart.of({
    "departments": [{"id": "d-hq", "parent_id": None}, {"id": "d-east", "parent_id": "d-hq"}],
    "users": [{"id": ADMIN.user_id, "role": "admin"},
              {"id": "u-vp", "role": "manager", "department_id": "d-hq"},
              {"id": "u-mgr", "role": "manager", "department_id": "d-east"},
              {"id": "u-rep", "role": "member", "department_id": "d-east"}]})
REP = Principal("u-rep", "member", "d-east", ("d-east",))
MGR = Principal("u-mgr", "manager", "d-east", ("d-east",))
VP = Principal("u-vp", "manager", "d-hq", ("d-hq", "d-east"))
FACTS = {"amount": Decimal("12800.00"), "discount_percent": Decimal("5"), "department_id": "d-east",
         "owner_id": "u-rep", "kind": None, "currency": "CNY"}


def _in_uow(dbs, action, **kw):
    uow = dbs("sales").uow()
    with uow:
        action(uow, **kw)
        uow.commit()


def approved_by_the_owners_manager(dbs):
    _in_uow(dbs, lambda uow: engine.submit(uow, REP, ORG, subject_kind="order", subject_id="o-1", facts=FACTS))
    _in_uow(dbs, lambda uow: engine.decide(uow, MGR, ORG, subject_kind="order", subject_id="o-1",
                                           decision="approve", comment="Within policy"))


def rejected_then_withdrawn(dbs):
    approval_flows.create_approval_flow(dbs("sales").uow(), ADMIN, ORG, {
        "name": "Big contracts", "subject_kind": "contract", "min_amount": "10000.00", "restart": "rejected",
        "cc_user_ids": [ADMIN.user_id], "steps": [{"approver": "managers", "levels": 2}]})
    for_contract = dict(subject_kind="contract", subject_id="c-1")
    _in_uow(dbs, lambda uow: engine.submit(uow, REP, ORG, facts=FACTS, **for_contract))
    _in_uow(dbs, lambda uow: engine.decide(uow, MGR, ORG, decision="approve", **for_contract))
    _in_uow(dbs, lambda uow: engine.decide(uow, VP, ORG, decision="reject", comment="Payment terms", **for_contract))
    _in_uow(dbs, lambda uow: engine.submit(uow, REP, ORG, facts=FACTS, **for_contract))
    _in_uow(dbs, lambda uow: engine.withdraw(uow, REP, **for_contract))


_BOTH = frozenset({"approval_requested", "approval_decided"})
PRODUCERS = [Producing("sales", approved_by_the_owners_manager, _BOTH),
             Producing("sales", rejected_then_withdrawn, _BOTH)]
CONSUMERS: dict = {}
