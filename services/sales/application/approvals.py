"""The approval engine (审批) as the orders, quotes and contracts use cases call it, inside their own
unit of work (``with uow:`` is theirs, and so is the commit): ``submit``, ``decide``, ``withdraw``,
and ``current`` for the subject's output (``application.approval_views``: the requests as the
subjects show them, re-exported here). The rules are the domain's
(``services.sales.domain.approvals``); this module records them: the request, its resolved steps,
their approvers, the people copied, every decision, and the events ``approval_requested`` /
``approval_decided``.

The subject keeps its own state machine and changes its status from the answer (``"pending"``,
``"approved"``, ``"rejected"``): nothing but this engine answers ``"approved"``.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm_kit.context import Principal
from crm_kit.errors import Forbidden, InvalidState, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.runtime.uow import UnitOfWork
from services.sales.application.approval_views import (
    View,
    by_user,
    carried_decisions,
    current,
    dump_request,
    forget_view,
    latest_request,
    pending_request,
    pending_view,
    remember_view,
    request_step,
    step_approvers,
)
from services.sales.domain import approvals as rules
from services.sales.domain.org import OrgChart
from services.sales.events.approvals import APPROVAL_DECIDED, APPROVAL_REQUESTED
from services.sales.models.approvals import (
    ApprovalDecision,
    ApprovalFlow,
    ApprovalFlowStep,
    ApprovalRequest,
    ApprovalRequestCc,
    ApprovalRequestStep,
    ApprovalStepApprover,
)

__all__ = ["submit", "decide", "withdraw", "current", "approved_for", "pending_request", "latest_request",
           "load_flows", "flow_value", "dump_request"]


# -- the engine's interface ----------------------------------------------------
def submit(uow: UnitOfWork, principal: Principal, org: OrgChart, *, subject_kind: str, subject_id: str,
           facts: dict, approver_id: str | None = None) -> str:
    """Start the approval of a subject: choose its flow from ``facts`` (``amount``,
    ``discount_percent``, ``department_id``, ``owner_id``, ``kind``, ``currency``), resolve its steps,
    record the request. ``"pending"``, or ``"approved"`` when nothing is left to decide (a flow
    without steps, every step skipped). ``InvalidState`` when a request is already pending."""
    session = uow.session
    if subject_kind not in rules.SUBJECT_KINDS:
        raise ValidationFailed.from_messages({"subject_kind": [f"Must be one of {', '.join(rules.SUBJECT_KINDS)}."]})
    forget_view(session, subject_kind, subject_id)
    # (the pending request, if any, is the latest one: a request is only made while none is pending,
    # and the partial unique index refuses a second one)
    previous = latest_request(session, subject_kind, subject_id)
    if previous is not None and previous.state == rules.PENDING:
        raise InvalidState(f"This {subject_kind} is already waiting for approval.",
                           {"action": "submit", "current_state": rules.PENDING})
    the_facts = _facts(subject_kind, principal, facts)
    flows = load_flows(session)
    if approver_id is not None and rules.choose_flow(flows, the_facts) is None:
        _check_named_approver(org, principal, approver_id)
    plan = rules.plan_submission(flows, the_facts, org, approver_id, _previous_round(session, previous))
    now = utcnow()
    request = ApprovalRequest(
        id=new_id(), subject_kind=subject_kind, subject_id=subject_id,
        round=(previous.round + 1) if previous else 1, flow_id=plan.flow.id, flow_version=plan.flow.version,
        flow_name=plan.flow.name[:200], restart=plan.flow.restart,
        previous_request_id=previous.id if previous else None,
        submitted_by=principal.user_id, owner_id=the_facts.owner_id, department_id=the_facts.department_id,
        amount=the_facts.amount, discount_percent=the_facts.discount_percent, currency=the_facts.currency,
        kind=the_facts.kind, state=plan.state, current_position=plan.current, submitted_at=now,
        decided_at=None if plan.current is not None else now)
    session.add(request)
    try:
        session.flush()
    except IntegrityError:           # another submission of the same subject got there first
        raise InvalidState(f"This {subject_kind} is already waiting for approval.",
                           {"action": "submit", "current_state": rules.PENDING}) from None
    view = View(request, [], {}, [], sorted(plan.cc_user_ids))
    for step in plan.steps:
        _add_step(request, step, plan, previous, principal, now, view)
    _insert_with_commit(uow, view, [ApprovalRequestCc(request_id=request.id, user_id=u) for u in plan.cc_user_ids])
    if plan.current is not None:
        _emit_requested(uow, request, plan.steps[plan.current], view.cc_user_ids)
    else:
        _emit(uow, APPROVAL_DECIDED, request, None, view.cc_user_ids, decision="approve", comment=None,
              decided_by=None)
    if plan.carried:       # (the decisions of the steps carried are the previous request's)
        view.decisions += carried_decisions(session, view.steps)
    remember_view(session, view)
    return request.state


def decide(uow: UnitOfWork, principal: Principal, org: OrgChart, *, subject_kind: str, subject_id: str,
           decision: str, comment: str | None = None) -> str:
    """The caller's decision on the pending request's current step: ``"pending"`` (more steps to go),
    ``"approved"`` or ``"rejected"``. ``Forbidden`` unless the caller is an approver of the current
    step (or an admin when every approver of it has left); ``InvalidState`` when nothing is pending,
    or the caller has already decided this step."""
    if decision not in rules.DECISIONS:
        raise ValidationFailed.from_messages({"decision": ["Must be approve or reject."]})
    if comment is not None and (not isinstance(comment, str) or len(comment) > 2000):
        raise ValidationFailed.from_messages({"comment": ["At most 2000 characters."]})
    session = uow.session
    forget_view(session, subject_kind, subject_id)
    view = pending_view(session, subject_kind, subject_id)    # its steps, approvers, decisions, cc: read once
    if view is None:
        _raise_not_pending(session, subject_kind, subject_id, decision)
    request, steps = view.request, view.steps
    step = _at(steps, request.current_position)
    approvers = {a.user_id: a for a in view.approvers.get(step.id, [])}
    me = principal.user_id
    override = me not in approvers          # an admin standing in for approvers who have all left
    if override:
        if not (principal.is_admin and not any(org.user(u) for u in approvers)):
            raise Forbidden("You are not an approver of this step.", {"action": decision})
        approvers[me] = ApprovalStepApprover(step_id=step.id, user_id=me, request_id=request.id)
        session.add(approvers[me])
        view.approvers.setdefault(step.id, []).append(approvers[me])
        view.approvers[step.id].sort(key=by_user)
    if approvers[me].decision is not None:
        raise InvalidState("You have already decided this step.", {"action": decision, "current_state": "decided"})
    now = utcnow()
    approvers[me].decision = decision
    made = ApprovalDecision(id=new_id(), request_id=request.id, position=step.position, user_id=me,
                            decision=decision, comment=comment, decided_at=now)
    uow.insert(ApprovalDecision.__table__, [_row(made)])     # (with the commit: nothing reads it back before)
    view.decisions.append(made)
    outcome = rules.step_outcome("any" if override else step.mode, list(approvers),
                                 {u: a.decision for u, a in approvers.items() if a.decision})
    next_step = None
    if outcome in (rules.APPROVED, rules.REJECTED):
        step.state, step.decided_at = outcome, now
        if outcome == rules.REJECTED:
            request.state, request.decided_at = rules.REJECTED, now
        else:
            position = rules.next_position([_skippable(s) for s in steps], step.position)
            if position is None:
                request.state, request.decided_at = rules.APPROVED, now
            else:
                next_step = steps[position]
                next_step.state = rules.PENDING
                request.current_position = position
    session.flush()
    _emit(uow, APPROVAL_DECIDED, request, step, view.cc_user_ids, view.approver_ids(step),
          decision=decision, comment=comment, decided_by=me)
    if next_step is not None:
        _emit(uow, APPROVAL_REQUESTED, request, next_step, view.cc_user_ids, view.approver_ids(next_step),
              decision=None, comment=None, decided_by=None)
    remember_view(session, view)
    return request.state


def withdraw(uow: UnitOfWork, principal: Principal, *, subject_kind: str, subject_id: str) -> str:
    """Withdraw the pending request (the subject's use case has checked that the caller may): its
    state becomes ``withdrawn``, recorded as a decision; the next submission starts from the first
    step. ``InvalidState`` when none is pending."""
    session = uow.session
    forget_view(session, subject_kind, subject_id)
    request = _pending_or_raise(session, subject_kind, subject_id, "withdraw")
    now = utcnow()
    step = request_step(session, request.id, request.current_position) if request.current_position is not None else None
    if step is not None:
        step.state = rules.WAITING
    request.state, request.decided_at = rules.WITHDRAWN, now
    session.add(ApprovalDecision(id=new_id(), request_id=request.id, position=request.current_position,
                                 user_id=principal.user_id, decision="withdraw", decided_at=now))
    session.flush()
    _emit(uow, APPROVAL_DECIDED, request, step, decision="withdraw", comment=None, decided_by=principal.user_id)
    return request.state


def approved_for(session, subject_kind: str, subject_id: str, facts: dict) -> bool:
    """Whether the subject's latest request is approved **for these facts** (amount, discount,
    department, owner, kind, currency as they were submitted): the check a subject makes before any
    transition that relies on an approval (confirm, sign, accept), so that a change after approval
    or a copy carrying the status never passes as approved."""
    request = latest_request(session, subject_kind, subject_id)
    if request is None or request.state != rules.APPROVED:
        return False
    now = _facts(subject_kind, Principal(request.submitted_by, "member"), {"owner_id": request.submitted_by, **facts})
    return (now.amount, now.discount_percent, now.department_id, now.owner_id, now.kind, now.currency) == (
        request.amount, request.discount_percent, request.department_id, request.owner_id, request.kind,
        request.currency)


def load_flows(session) -> list[rules.Flow]:
    """The active flows as the domain reads them."""
    flows = session.scalars(select(ApprovalFlow).where(ApprovalFlow.active.is_(True))
                            .order_by(ApprovalFlow.id)).all()
    steps: dict[str, list[ApprovalFlowStep]] = {}
    if flows:
        for step in session.scalars(select(ApprovalFlowStep).where(
                ApprovalFlowStep.flow_id.in_([f.id for f in flows])).order_by(ApprovalFlowStep.position)):
            steps.setdefault(step.flow_id, []).append(step)
    return [flow_value(f, steps.get(f.id, [])) for f in flows]


def flow_value(flow: ApprovalFlow, steps) -> rules.Flow:
    return rules.Flow(
        id=flow.id, name=flow.name, priority=flow.priority, subject_kind=flow.subject_kind, kind=flow.kind,
        currency=flow.currency, min_amount=flow.min_amount, max_amount=flow.max_amount,
        min_discount_percent=flow.min_discount_percent, department_ids=tuple(flow.department_ids or ()),
        restart=flow.restart, fallback_approver_id=flow.fallback_approver_id,
        cc_user_ids=tuple(flow.cc_user_ids or ()), active=flow.active, version=flow.version,
        steps=tuple(rules.StepSpec(s.approver, s.mode, tuple(s.user_ids or ()), s.role, s.levels, s.name)
                    for s in steps))


# -- internals -----------------------------------------------------------------------
def _facts(subject_kind: str, principal: Principal, facts: dict) -> rules.Facts:
    facts = facts or {}

    def decimal(name):
        value = facts.get(name)
        return Decimal(str(value)) if value is not None else Decimal("0")
    return rules.Facts(subject_kind=subject_kind, submitter_id=principal.user_id,
                       owner_id=facts.get("owner_id") or principal.user_id,
                       department_id=facts.get("department_id"), amount=decimal("amount"),
                       discount_percent=decimal("discount_percent"), kind=facts.get("kind"),
                       currency=facts.get("currency"))


def _check_named_approver(org: OrgChart, principal: Principal, approver_id: str) -> None:
    if not isinstance(approver_id, str) or org.user(approver_id) is None:
        raise ValidationFailed.from_messages({"approver_id": ["Not an active user."]})
    if approver_id == principal.user_id:
        raise ValidationFailed.from_messages({"approver_id": ["You cannot approve your own submission."]})


def _previous_round(session, previous: ApprovalRequest | None) -> rules.PreviousRound | None:
    if previous is None:
        return None
    rejected = None
    if previous.state == rules.REJECTED:
        rejected = previous.current_position
    return rules.PreviousRound(previous.id, previous.flow_id, previous.state, rejected, previous.flow_version)


def _add_step(request, step: rules.ResolvedStep, plan: rules.Plan, previous, principal, now, view: View) -> None:
    """The request's step, its approvers and (a skipped step) its decision, kept in ``view``: written
    with the commit (``_insert_with_commit``)."""
    carried = step.position < plan.carried
    state = (rules.APPROVED if carried else rules.SKIPPED if step.skipped
             else rules.PENDING if step.position == plan.current else rules.WAITING)
    row = ApprovalRequestStep(id=new_id(), request_id=request.id, position=step.position, name=step.name,
                              mode=step.mode, source=step.source, state=state,
                              carried_from_request_id=previous.id if carried else None,
                              decided_at=now if state in (rules.APPROVED, rules.SKIPPED) else None)
    view.steps.append(row)
    approvers = view.approvers.setdefault(row.id, [])
    for user_id in step.approver_ids:
        approvers.append(ApprovalStepApprover(step_id=row.id, user_id=user_id, request_id=request.id, decision=None))
    approvers.sort(key=by_user)
    if state == rules.SKIPPED:
        view.decisions.append(ApprovalDecision(id=new_id(), request_id=request.id, position=step.position,
                                               user_id=principal.user_id, decision="skip", decided_at=now,
                                               comment="The submitter was this step's only approver."))


def _row(obj) -> dict:
    """A new (unaudited) engine row's values, for ``uow.insert``."""
    return {column.key: getattr(obj, column.key) for column in type(obj).__table__.columns}


def _insert_with_commit(uow: UnitOfWork, view: View, cc: list[ApprovalRequestCc]) -> None:
    """A new request's steps, their approvers, the people copied and the decisions of the steps
    skipped, written with the unit of work's commit (in the round trip of its outbox rows, after the
    request's own flush), not by the ORM row by row: nothing reads them back before (the subject's
    reply dumps ``view``), and none of them is audited (the request's own entry is)."""
    for model, objs in ((ApprovalRequestStep, view.steps),
                        (ApprovalStepApprover, [a for step in view.steps for a in view.approvers[step.id]]),
                        (ApprovalRequestCc, cc), (ApprovalDecision, view.decisions)):
        if objs:
            uow.insert(model.__table__, [_row(obj) for obj in objs])


def _pending_or_raise(session, subject_kind: str, subject_id: str, action: str) -> ApprovalRequest:
    request = pending_request(session, subject_kind, subject_id)
    if request is None:
        _raise_not_pending(session, subject_kind, subject_id, action)
    return request


def _raise_not_pending(session, subject_kind: str, subject_id: str, action: str):
    latest = latest_request(session, subject_kind, subject_id)
    raise InvalidState(f"No approval of this {subject_kind} is pending.",
                       {"action": action, "current_state": latest.state if latest else "not_submitted"})


def _at(steps: list[ApprovalRequestStep], position: int) -> ApprovalRequestStep:
    """The step at ``position`` (as ``_step`` reads it: exactly one)."""
    found = [s for s in steps if s.position == position]
    if len(found) != 1:
        from sqlalchemy.exc import MultipleResultsFound, NoResultFound
        raise (NoResultFound if not found else MultipleResultsFound)(f"No step at position {position}.")
    return found[0]


def _skippable(step: ApprovalRequestStep) -> rules.ResolvedStep:
    """A recorded step as ``rules.next_position`` reads it (a skipped or carried step is passed over)."""
    return rules.ResolvedStep(step.position, step.name, step.mode, step.source, (),
                              skipped=step.state in (rules.SKIPPED, rules.APPROVED))


def _emit_requested(uow, request, step, cc_user_ids=None) -> None:
    _emit(uow, APPROVAL_REQUESTED, request, step, cc_user_ids, decision=None, comment=None, decided_by=None)


def _emit(uow, event, request, step, cc_user_ids=None, approver_ids=None, **extra) -> None:
    """``cc_user_ids`` / ``approver_ids``: as recorded (by user id), when the caller has them; else read."""
    if approver_ids is not None:
        approver_ids = list(approver_ids)
    elif step is not None and not isinstance(step, ApprovalRequestStep):
        approver_ids = list(step.approver_ids)
    elif step is not None:
        approver_ids = [a.user_id for a in step_approvers(uow.session, step.id)]
    else:
        approver_ids = []
    if cc_user_ids is None:
        cc_user_ids = uow.session.scalars(select(ApprovalRequestCc.user_id).where(
            ApprovalRequestCc.request_id == request.id).order_by(ApprovalRequestCc.user_id)).all()
    uow.emit(event, request, step=step.position if step is not None else None,
             step_name=step.name if step is not None else None, approver_ids=sorted(approver_ids),
             cc_user_ids=list(cc_user_ids), occurred_at=utcnow(), **extra)
