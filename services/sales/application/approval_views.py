"""The approval engine's requests as the subjects show them (``application.approvals`` writes them):
the subject's latest or pending request, and a request's view -- its steps, their approvers, its
decisions (and those of the steps it carried), the people copied -- read once, or kept by the engine
from what it has just written in this unit of work, and dumped for the subject's output
(``ApprovalRequestOut``).

The queries run on every order, quote and contract RPC: they are built once, here, their values
bound at each call.
"""
from __future__ import annotations

from sqlalchemy import bindparam, null, select, union_all

from crm_kit.records.schemas import nested_dumper
from services.sales.domain import approvals as rules
from services.sales.models.approvals import (
    ApprovalDecision,
    ApprovalRequest,
    ApprovalRequestCc,
    ApprovalRequestStep,
    ApprovalStepApprover,
)
from services.sales.schemas.approvals import ApprovalRequestOut

_out = nested_dumper(ApprovalRequestOut())      # (what ApprovalRequestOut().dump gives)

_OF_SUBJECT = (ApprovalRequest.subject_kind == bindparam("subject_kind"),
               ApprovalRequest.subject_id == bindparam("subject_id"))
_PENDING = select(ApprovalRequest).where(*_OF_SUBJECT, ApprovalRequest.state == rules.PENDING)
_LATEST = select(ApprovalRequest).where(*_OF_SUBJECT).order_by(ApprovalRequest.round.desc()).limit(1)
_STEPS = (select(ApprovalRequestStep).where(ApprovalRequestStep.request_id == bindparam("request_id"))
          .order_by(ApprovalRequestStep.position))
_STEP = select(ApprovalRequestStep).where(ApprovalRequestStep.request_id == bindparam("request_id"),
                                          ApprovalRequestStep.position == bindparam("position"))
_APPROVERS = (select(ApprovalStepApprover).where(ApprovalStepApprover.request_id == bindparam("request_id"))
              .order_by(ApprovalStepApprover.user_id))
_STEP_APPROVERS = select(ApprovalStepApprover).where(ApprovalStepApprover.step_id == bindparam("step_id"))
_DECISIONS = select(ApprovalDecision).where(ApprovalDecision.request_id == bindparam("request_id"))
# the pending request with its steps and their approvers, in one round trip (a decision reads them all)
_PENDING_WITH_STEPS = (
    select(ApprovalRequest, ApprovalRequestStep, ApprovalStepApprover)
    .outerjoin(ApprovalRequestStep, ApprovalRequestStep.request_id == ApprovalRequest.id)
    .outerjoin(ApprovalStepApprover, ApprovalStepApprover.step_id == ApprovalRequestStep.id)
    .where(*_OF_SUBJECT, ApprovalRequest.state == rules.PENDING)
    .order_by(ApprovalRequestStep.position, ApprovalStepApprover.user_id))
_CC = (select(ApprovalRequestCc.user_id).where(ApprovalRequestCc.request_id == bindparam("request_id"))
       .order_by(ApprovalRequestCc.user_id))
# a request's decisions and the people copied, in one round trip (a decision reads both): the cc rows
# are those without a decision id
_D = ApprovalDecision
_DECISIONS_AND_CC = union_all(
    select(_D.id, _D.request_id, _D.position, _D.user_id, _D.decision, _D.comment, _D.decided_at)
    .where(_D.request_id == bindparam("request_id")),
    select(null(), ApprovalRequestCc.request_id, null(), ApprovalRequestCc.user_id, null(), null(), null())
    .where(ApprovalRequestCc.request_id == bindparam("request_id")))


# -- a subject's requests ----------------------------------------------------------
def current(session, subject_kind: str, subject_id: str) -> dict | None:
    """The subject's latest request (any state) with its steps and decisions, for the subject's output;
    None if it was never submitted."""
    view = session.info.get(_VIEWS, {}).get((subject_kind, subject_id))
    if view is not None:            # the engine has just written it in this unit of work: dump it as it is
        return dump_view(view)
    request = latest_request(session, subject_kind, subject_id)
    return dump_request(session, request) if request is not None else None


def pending_request(session, subject_kind: str, subject_id: str) -> ApprovalRequest | None:
    return session.scalars(_PENDING, {"subject_kind": subject_kind, "subject_id": subject_id}).first()


def latest_request(session, subject_kind: str, subject_id: str) -> ApprovalRequest | None:
    return session.scalars(_LATEST, {"subject_kind": subject_kind, "subject_id": subject_id}).first()


def dump_request(session, request: ApprovalRequest) -> dict:
    """A request with its steps (each with its approvers and their decisions), its decisions (and those
    of the steps it carried), and the people copied."""
    return dump_view(load_view(session, request))


# -- a request's view ------------------------------------------------------------------
class View:
    """A request as its output shows it: its steps (by position), their approvers (by step id, each
    list by user id), its decisions (and those of the steps it carried), the people copied (by user
    id). Read from the database (``load_view``), or kept by ``submit`` / ``decide`` from what they
    have just written, for the subject's reply in the same unit of work (``current``)."""
    __slots__ = ("request", "steps", "approvers", "decisions", "cc_user_ids")

    def __init__(self, request, steps, approvers, decisions, cc_user_ids):
        self.request, self.steps, self.approvers = request, steps, approvers
        self.decisions, self.cc_user_ids = decisions, cc_user_ids

    def approver_ids(self, step) -> list[str]:
        return [a.user_id for a in self.approvers.get(step.id, [])]


_VIEWS = "sales.approval_views"      # session.info: {(subject_kind, subject_id): View}


def by_user(approver: ApprovalStepApprover) -> str:
    return approver.user_id


def remember_view(session, view: View) -> None:
    request = view.request
    session.info.setdefault(_VIEWS, {})[(request.subject_kind, request.subject_id)] = view


def forget_view(session, subject_kind: str, subject_id: str) -> None:
    session.info.get(_VIEWS, {}).pop((subject_kind, subject_id), None)


def load_view(session, request: ApprovalRequest) -> View:
    steps = request_steps(session, request.id)
    approvers: dict[str, list[ApprovalStepApprover]] = {}
    for a in session.scalars(_APPROVERS, {"request_id": request.id}):
        approvers.setdefault(a.step_id, []).append(a)
    decisions = list(session.scalars(_DECISIONS, {"request_id": request.id}))
    decisions += carried_decisions(session, steps)
    cc = session.scalars(_CC, {"request_id": request.id}).all()
    return View(request, steps, approvers, decisions, list(cc))


def pending_view(session, subject_kind: str, subject_id: str) -> View | None:
    """The subject's pending request as ``load_view`` reads it (None when none is pending): the
    request, its steps and their approvers in one query, then its decisions and the people copied
    in another (``_DECISIONS_AND_CC``)."""
    rows = session.execute(_PENDING_WITH_STEPS, {"subject_kind": subject_kind, "subject_id": subject_id}).all()
    if not rows:
        return None
    request = rows[0][0]
    steps: list[ApprovalRequestStep] = []
    approvers: dict[str, list[ApprovalStepApprover]] = {}
    for found, step, approver in rows:
        if found is not request:     # (one pending request per subject: the partial unique index)
            continue
        if step is not None and (not steps or steps[-1] is not step):
            steps.append(step)
        if approver is not None:
            approvers.setdefault(approver.step_id, []).append(approver)
    decisions, cc = [], []
    for row in session.execute(_DECISIONS_AND_CC, {"request_id": request.id}):
        if row.id is None:
            cc.append(row.user_id)
        else:       # (as read: decisions are never changed, only added)
            decisions.append(ApprovalDecision(**row._mapping))
    decisions += carried_decisions(session, steps)
    return View(request, steps, approvers, decisions, sorted(cc))


def carried_decisions(session, steps) -> list[ApprovalDecision]:
    """The decisions of the steps carried from earlier requests (``restart: rejected``)."""
    carried = {(s.carried_from_request_id, s.position) for s in steps if s.carried_from_request_id}
    out = []
    for source in {r for r, _ in carried}:
        out += [d for d in session.scalars(_DECISIONS, {"request_id": source}) if (source, d.position) in carried]
    return out


_REQUEST_KEYS = tuple(c.key for c in ApprovalRequest.__mapper__.column_attrs)


def dump_view(view: View) -> dict:
    request, approvers = view.request, view.approvers
    decisions = sorted(view.decisions, key=lambda d: (d.decided_at, d.id))
    data = {
        **{key: getattr(request, key) for key in _REQUEST_KEYS},
        "steps": [{"position": s.position, "name": s.name, "mode": s.mode, "source": s.source, "state": s.state,
                   "carried_from_request_id": s.carried_from_request_id, "decided_at": s.decided_at,
                   "approver_ids": [a.user_id for a in approvers.get(s.id, [])],
                   "approvers": [{"user_id": a.user_id, "decision": a.decision} for a in approvers.get(s.id, [])]}
                  for s in view.steps],
        "decisions": decisions, "cc_user_ids": list(view.cc_user_ids)}
    return _out(data)


# -- a request's rows ----------------------------------------------------------------------
def request_steps(session, request_id: str) -> list[ApprovalRequestStep]:
    return list(session.scalars(_STEPS, {"request_id": request_id}))


def request_step(session, request_id: str, position: int) -> ApprovalRequestStep:
    return session.scalars(_STEP, {"request_id": request_id, "position": position}).one()


def step_approvers(session, step_id: str) -> list[ApprovalStepApprover]:
    return list(session.scalars(_STEP_APPROVERS, {"step_id": step_id}))
