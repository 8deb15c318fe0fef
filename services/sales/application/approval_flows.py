"""Approval flows administration (admins: create, read, list, change, delete, steps nested in the
flow), what waits for the caller (``/me/approvals``: steps to decide, requests they are copied on),
and one approval request (for its submitter, its approvers, the people copied, admins).

A flow's change applies to submissions made after it; a request keeps the steps it was given. The
users a flow names (step ``user_ids``, ``fallback_approver_id``, ``cc_user_ids``) must be active
users of the organisation (``org``, the gateway's)."""
from __future__ import annotations

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError

from crm_kit.context import Principal
from crm_kit.errors import Duplicate, Forbidden, NotFound, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork
from services.sales.application.approval_views import dump_request
from services.sales.domain import approvals as rules
from services.sales.domain.org import OrgChart
from services.sales.models.approvals import (
    ApprovalFlow,
    ApprovalFlowStep,
    ApprovalRequest,
    ApprovalRequestCc,
    ApprovalRequestStep,
    ApprovalStepApprover,
)
from services.sales.schemas.approvals import (
    ApprovalFlowCreate,
    ApprovalFlowListQuery,
    ApprovalFlowOut,
    ApprovalFlowUpdate,
    MyApprovalOut,
    MyApprovalQuery,
)

_create, _update, _query, _out = ApprovalFlowCreate(), ApprovalFlowUpdate(), ApprovalFlowListQuery(), ApprovalFlowOut()
_mine_query, _mine_out = MyApprovalQuery(), MyApprovalOut()
_STEP_FIELDS = ("name", "approver", "mode", "user_ids", "role", "levels")


def _ensure_admin(principal: Principal, action: str) -> None:
    if not principal.is_admin:
        raise Forbidden("Only administrators manage approval flows.", {"action": action})


def create_approval_flow(uow: UnitOfWork, principal: Principal, org: OrgChart, data: dict) -> dict:
    _ensure_admin(principal, "create")
    fields = load(_create, data)
    _check_users(org, fields)
    steps = fields.pop("steps")
    with uow:
        session = uow.session
        _raise_if_duplicate(session, fields["name"])
        now = utcnow()
        flow = ApprovalFlow(id=new_id(), created_by=principal.user_id, created_at=now, updated_at=now, **fields)
        session.add(flow)
        _flush_or_duplicate(session, fields["name"])
        _set_steps(uow, flow, steps)
        return uow.commit(lambda: dump_flow(session, flow))


def get_approval_flow(uow: UnitOfWork, principal: Principal, flow_id: str) -> dict:
    _ensure_admin(principal, "read")
    with uow:
        return dump_flow(uow.session, _flow(uow.session, flow_id))


def list_approval_flows(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    """Flows, newest first (filters: ``subject_kind``, ``active``)."""
    _ensure_admin(principal, "read")
    params = load(_query, query or {})
    with uow:
        stmt = select(ApprovalFlow)
        if params.get("subject_kind"):
            stmt = stmt.where(ApprovalFlow.subject_kind == params["subject_kind"])
        if params.get("active") is not None:
            stmt = stmt.where(ApprovalFlow.active.is_(params["active"]))
        rows, next_cursor = paginate(uow.session, stmt, ApprovalFlow.id, params["limit"], params["cursor"])
        return {"items": [dump_flow(uow.session, f) for f in rows], "next_cursor": next_cursor}


def update_approval_flow(uow: UnitOfWork, principal: Principal, org: OrgChart, flow_id: str, data: dict,
                         expected_version=None) -> dict:
    """Partial; ``steps`` replaces them all. The flow's version moves on every change (a rejected
    request carries its approved steps only into the same version: ``restart: rejected``)."""
    _ensure_admin(principal, "update")
    fields = load(_update, data, partial=True)
    _check_users(org, fields)
    with uow:
        session = uow.session
        flow = _flow(session, flow_id)
        check_version(flow, expected_version, "approval flow")
        low = fields.get("min_amount", flow.min_amount)
        high = fields.get("max_amount", flow.max_amount)
        if low is not None and high is not None and low >= high:
            raise ValidationFailed.from_messages({"max_amount": ["Must be more than min_amount."]})
        if "name" in fields and fields["name"] != flow.name:
            _raise_if_duplicate(session, fields["name"])
        steps = fields.pop("steps", None)
        for name, value in fields.items():
            if getattr(flow, name) != value:
                setattr(flow, name, value)
        if steps is not None:
            _set_steps(uow, flow, steps)
            flow.updated_at = utcnow()          # the steps are the flow's: a new version
        _flush_or_duplicate(session, flow.name)
        return uow.commit(lambda: dump_flow(session, flow))


def delete_approval_flow(uow: UnitOfWork, principal: Principal, flow_id: str, expected_version=None) -> None:
    """Requests made under it keep their steps and decisions (and its name)."""
    _ensure_admin(principal, "delete")
    with uow:
        session = uow.session
        flow = _flow(session, flow_id)
        check_version(flow, expected_version, "approval flow")
        uow.audit_action("delete")
        session.query(ApprovalFlowStep).filter(ApprovalFlowStep.flow_id == flow.id).delete()
        session.delete(flow)
        return uow.commit(None)


# -- requests ------------------------------------------------------------------------
def get_approval_request(uow: UnitOfWork, principal: Principal, request_id: str) -> dict:
    """One request, its steps and decisions: for its submitter, the subject's owner, its approvers,
    the people copied and admins (anyone else: 404)."""
    with uow:
        session = uow.session
        request = session.get(ApprovalRequest, request_id) if isinstance(request_id, str) else None
        if request is None or not _may_see(session, principal, request):
            raise NotFound.of("approval request", str(request_id))
        return dump_request(session, request)


def list_my_approvals(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    """What waits for the caller, newest request first: each pending step they are an approver of and
    have not decided (``kind: approve``), and each request they are copied on (``kind: cc``, any state)."""
    params = load(_mine_query, query or {})
    me = principal.user_id
    with uow:
        session = uow.session
        waiting = _waiting_clause(me)
        copied = exists().where(ApprovalRequestCc.request_id == ApprovalRequest.id, ApprovalRequestCc.user_id == me)
        which = {"approve": waiting, "cc": copied}.get(params.get("kind"), or_(waiting, copied))
        stmt = select(ApprovalRequest).where(which)
        if params.get("subject_kind"):
            stmt = stmt.where(ApprovalRequest.subject_kind == params["subject_kind"])
        rows, next_cursor = paginate(session, stmt, ApprovalRequest.id, params["limit"], params["cursor"])
        mine = set(session.scalars(select(ApprovalRequest.id).where(
            ApprovalRequest.id.in_([r.id for r in rows]), waiting))) if rows else set()
        names = dict(session.execute(select(ApprovalRequestStep.request_id, ApprovalRequestStep.name).where(
            ApprovalRequestStep.request_id.in_([r.id for r in rows]),
            ApprovalRequestStep.state == rules.PENDING)).all()) if rows else {}
        items = [_mine_out.dump({
            "request_id": r.id, "kind": "approve" if r.id in mine else "cc", "subject_kind": r.subject_kind,
            "subject_id": r.subject_id, "submitted_by": r.submitted_by, "owner_id": r.owner_id, "amount": r.amount,
            "currency": r.currency, "state": r.state, "step": r.current_position if r.state == rules.PENDING else None,
            "step_name": names.get(r.id), "submitted_at": r.submitted_at}) for r in rows]
        return {"items": items, "next_cursor": next_cursor}


def _waiting_clause(user_id: str):
    """The request is pending and its current step waits for ``user_id``'s decision."""
    return and_(ApprovalRequest.state == rules.PENDING, exists().where(
        ApprovalStepApprover.request_id == ApprovalRequest.id, ApprovalStepApprover.user_id == user_id,
        ApprovalStepApprover.decision.is_(None), ApprovalRequestStep.id == ApprovalStepApprover.step_id,
        ApprovalRequestStep.state == rules.PENDING))


def _may_see(session, principal: Principal, request: ApprovalRequest) -> bool:
    me = principal.user_id
    if principal.is_admin or me in (request.submitted_by, request.owner_id):
        return True
    approver = session.scalar(select(ApprovalStepApprover.user_id).where(
        ApprovalStepApprover.request_id == request.id, ApprovalStepApprover.user_id == me).limit(1))
    return approver is not None or session.get(ApprovalRequestCc, (request.id, me)) is not None


# -- internals -----------------------------------------------------------------------------
def dump_flow(session, flow: ApprovalFlow) -> dict:
    steps = session.scalars(select(ApprovalFlowStep).where(ApprovalFlowStep.flow_id == flow.id)
                            .order_by(ApprovalFlowStep.position)).all()
    return _out.dump({**{c.key: getattr(flow, c.key) for c in ApprovalFlow.__mapper__.column_attrs},
                      "steps": steps})


def _flow(session, flow_id) -> ApprovalFlow:
    flow = session.get(ApprovalFlow, flow_id) if isinstance(flow_id, str) else None
    if flow is None:
        raise NotFound.of("approval flow", str(flow_id))
    return flow


def _set_steps(uow: UnitOfWork, flow: ApprovalFlow, steps: list[dict]) -> None:
    session = uow.session
    before = [_step_dict(s) for s in session.scalars(
        select(ApprovalFlowStep).where(ApprovalFlowStep.flow_id == flow.id).order_by(ApprovalFlowStep.position))]
    session.query(ApprovalFlowStep).filter(ApprovalFlowStep.flow_id == flow.id).delete()
    session.flush()
    for position, step in enumerate(steps):
        session.add(ApprovalFlowStep(id=new_id(), flow_id=flow.id, position=position,
                                     **{k: step.get(k) for k in _STEP_FIELDS}))
    after = [{k: step.get(k) for k in _STEP_FIELDS} for step in steps]
    if before != after:
        uow.audit_record("approval_flow", flow.id, {"steps": [before, after]})


def _step_dict(step: ApprovalFlowStep) -> dict:
    return {k: getattr(step, k) for k in _STEP_FIELDS}


def _check_users(org: OrgChart, fields: dict) -> None:
    """Every user a flow names is an active user of the organisation (422 on the field)."""
    errors: dict[str, list[str]] = {}
    if fields.get("fallback_approver_id") and org.user(fields["fallback_approver_id"]) is None:
        errors["fallback_approver_id"] = ["Not an active user."]
    unknown = [u for u in fields.get("cc_user_ids") or () if org.user(u) is None]
    if unknown:
        errors["cc_user_ids"] = [f"Not active users: {', '.join(unknown[:10])}."]
    for n, step in enumerate(fields.get("steps") or ()):
        unknown = [u for u in step.get("user_ids") or () if org.user(u) is None]
        if unknown:
            errors[f"steps.{n}.user_ids"] = [f"Not active users: {', '.join(unknown[:10])}."]
    if errors:
        raise ValidationFailed.from_messages(errors)
    for key in ("department_ids", "cc_user_ids"):
        if fields.get(key):
            fields[key] = list(dict.fromkeys(fields[key]))


def _raise_if_duplicate(session, name: str) -> None:
    existing = session.scalars(select(ApprovalFlow.id).where(ApprovalFlow.name == name)).first()
    if existing:
        raise Duplicate("An approval flow of that name exists.", {"existing_id": existing, "field": "name"})


def _flush_or_duplicate(session, name: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Duplicate("An approval flow of that name exists.", {"field": "name"}) from None
