"""The approval engine's rules (审批): which flow applies to a submission, who approves each of its
steps, when a step and the whole request pass, and where a resubmission starts. Pure: the
organisation comes in as an ``OrgChart``, the flows as ``Flow`` values; no session, no clock.

**Choosing the flow.** Every active flow whose conditions all hold for the submission's facts is a
candidate; the one with the highest ``priority`` wins (ties: the lowest id, i.e. the oldest). A
condition left empty holds for everything:

- ``subject_kind``: ``order`` | ``quote`` | ``contract``; ``kind``: the subject's own kind;
  ``currency``: the subject's currency;
- ``min_amount <= amount < max_amount`` (min inclusive, max exclusive, so tiers 0-10 000 and
  10 000-50 000 do not overlap);
- ``discount_percent >= min_discount_percent``;
- ``department_ids``: the owner's department is one of them (exactly; no subtree).

No flow applies: with an ``approver_id`` given, one step by that user (``explicit_flow``); else
``DEFAULT_FLOW``: one step, the owner's managers one level up (``mode: any``), fallback the admins.
A flow with no steps approves at once: the way to say "this needs no approval".

**Resolving the steps** (``resolve_steps``), at submission:

- ``approver: user``: the named ``user_ids`` (inactive ones left out);
- ``approver: role``: every active user of ``role``;
- ``approver: managers`` with ``levels: N``: the owner's chain of managers
  (``OrgChart.manager_levels``), **each level its own step** (逐级审批: level 1 decides, then
  level 2...), each with the step's ``mode``; fewer levels above the owner than N: fewer steps;
- a step that resolves to nobody goes to the flow's ``fallback_approver_id`` (when active), else
  to every admin;
- **self-skip**: the submitter is never an approver of their own submission: they are taken out
  of every step; a step left with nobody (the submitter was its only approver) is ``skipped``.
  (For an ``any`` step with others in it the others decide; for an ``all`` step the others all
  must agree.)

**Deciding** (``step_outcome``): a rejection by any approver rejects the step and the request; a
step passes with one approval (``mode: any``, 或签) or once every approver has approved
(``mode: all``, 会签). The request is approved when its last step passes.

**Resubmitting after a rejection** (``restart_position``): ``restart: first`` starts again from the
first step; ``restart: rejected`` keeps the steps approved before the rejected one (their
decisions stay on record in the earlier request) and starts at the rejected step -- when the same
flow applies again, unchanged (same ``version``); another flow, a changed one, or a resubmission
after a withdrawal starts from the first step.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from services.sales.domain.org import OrgChart

SUBJECT_KINDS = ("order", "quote", "contract")
APPROVER_TYPES = ("user", "role", "managers")
MODES = ("any", "all")
RESTARTS = ("first", "rejected")
DECISIONS = ("approve", "reject")
ROLES = ("admin", "manager", "member")
MAX_LEVELS = 10

# request states, and step states
PENDING, APPROVED, REJECTED, WITHDRAWN = "pending", "approved", "rejected", "withdrawn"
REQUEST_STATES = (PENDING, APPROVED, REJECTED, WITHDRAWN)
WAITING, SKIPPED = "waiting", "skipped"
STEP_STATES = (WAITING, PENDING, APPROVED, REJECTED, SKIPPED)


@dataclass(frozen=True)
class StepSpec:
    """A step as a flow declares it."""
    approver: str                          # user | role | managers
    mode: str = "any"                      # any (或签) | all (会签)
    user_ids: tuple[str, ...] = ()
    role: str | None = None
    levels: int = 1
    name: str | None = None


@dataclass(frozen=True)
class Flow:
    """An approval flow: its conditions, its steps, and what it does on a rejection."""
    id: str | None
    name: str
    steps: tuple[StepSpec, ...]
    priority: int = 0
    subject_kind: str | None = None
    kind: str | None = None
    currency: str | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    min_discount_percent: Decimal | None = None
    department_ids: tuple[str, ...] = ()
    restart: str = "first"
    fallback_approver_id: str | None = None
    cc_user_ids: tuple[str, ...] = ()
    active: bool = True
    version: int | None = None             # a resubmission carries steps only from the same version


@dataclass(frozen=True)
class Facts:
    """What a submission is about (the subject's use case gives them; the engine never reads the subject)."""
    subject_kind: str
    submitter_id: str
    owner_id: str | None = None
    department_id: str | None = None
    amount: Decimal = Decimal("0")
    discount_percent: Decimal = Decimal("0")
    kind: str | None = None
    currency: str | None = None


@dataclass(frozen=True)
class ResolvedStep:
    """A step of a request, its approvers resolved: ``source`` says how (user, role, managers,
    fallback_user, fallback_admins); ``skipped``: nobody is left once the submitter is taken out."""
    position: int
    name: str
    mode: str
    source: str
    approver_ids: tuple[str, ...]
    skipped: bool = False
    self_removed: bool = False             # the submitter was one of its approvers (taken out)


DEFAULT_FLOW = Flow(id=None, name="Default: the owner's manager",
                    steps=(StepSpec("managers", "any", levels=1, name="Manager"),))


def explicit_flow(approver_id: str) -> Flow:
    """The flow of a submission naming its approver when no configured flow applies."""
    return Flow(id=None, name="Named approver", steps=(StepSpec("user", "any", user_ids=(approver_id,),
                                                                name="Named approver"),))


def matches(flow: Flow, facts: Facts) -> bool:
    """Whether every condition of ``flow`` holds for ``facts`` (module doc)."""
    if not flow.active:
        return False
    if flow.subject_kind and flow.subject_kind != facts.subject_kind:
        return False
    if flow.kind and flow.kind != facts.kind:
        return False
    if flow.currency and flow.currency != facts.currency:
        return False
    amount = Decimal(facts.amount or 0)
    if flow.min_amount is not None and amount < flow.min_amount:
        return False
    if flow.max_amount is not None and amount >= flow.max_amount:
        return False
    if flow.min_discount_percent is not None and Decimal(facts.discount_percent or 0) < flow.min_discount_percent:
        return False
    if flow.department_ids and facts.department_id not in flow.department_ids:
        return False
    return True


def choose_flow(flows, facts: Facts) -> Flow | None:
    """The applying flow of highest priority (ties: the lowest id), or None."""
    candidates = [f for f in flows if matches(f, facts)]
    if not candidates:
        return None
    return sorted(candidates, key=lambda f: (-f.priority, f.id or ""))[0]


def flow_for(flows, facts: Facts, approver_id: str | None = None) -> Flow:
    """The flow a submission follows: a configured one, else the named approver's, else the default."""
    chosen = choose_flow(flows, facts)
    if chosen is not None:
        return chosen
    return explicit_flow(approver_id) if approver_id else DEFAULT_FLOW


def _active(org: OrgChart, ids) -> list[str]:
    seen, out = set(), []
    for user_id in ids:
        if user_id not in seen and org.user(user_id) is not None:
            seen.add(user_id)
            out.append(user_id)
    return out


def fallback_approvers(flow: Flow, org: OrgChart) -> tuple[str, list[str]]:
    """Who approves a step that resolved to nobody: the flow's fallback user (when active), else the admins."""
    if flow.fallback_approver_id and org.user(flow.fallback_approver_id) is not None:
        return "fallback_user", [flow.fallback_approver_id]
    return "fallback_admins", org.with_role("admin")


def _expand(step: StepSpec, facts: Facts, org: OrgChart) -> list[tuple[str, str, list[str]]]:
    """(name, source, approvers) of each step ``step`` becomes (a managers step: one per level)."""
    label = step.name
    if step.approver == "user":
        return [(label or "Approver", "user", _active(org, step.user_ids))]
    if step.approver == "role":
        return [(label or f"Role {step.role}", "role", org.with_role(step.role or ""))]
    subject = facts.owner_id or facts.submitter_id
    levels = org.manager_levels(subject, max(1, step.levels))
    if not levels:
        return [(label or "Manager level 1", "managers", [])]
    return [((f"{label} (level {n})" if label and len(levels) > 1 else label) or f"Manager level {n}",
             "managers", managers) for n, managers in enumerate(levels, start=1)]


def resolve_steps(flow: Flow, facts: Facts, org: OrgChart) -> list[ResolvedStep]:
    """Every step of the request ``flow`` makes for ``facts``, approvers resolved (module doc)."""
    out: list[ResolvedStep] = []
    for spec in flow.steps:
        for name, source, approvers in _expand(spec, facts, org):
            if not approvers:
                source, approvers = fallback_approvers(flow, org)
            others = tuple(a for a in approvers if a != facts.submitter_id)
            out.append(ResolvedStep(position=len(out), name=name[:200], mode=spec.mode, source=source,
                                    approver_ids=others, skipped=not others,
                                    self_removed=len(others) != len(approvers)))
    return out


def cc_for(flow: Flow, org: OrgChart, facts: Facts) -> list[str]:
    """The people copied on the request: the flow's cc users (active ones, not the submitter)."""
    return [u for u in _active(org, flow.cc_user_ids) if u != facts.submitter_id]


def step_outcome(mode: str, approver_ids, decisions: dict[str, str]) -> str:
    """A step's state from its approvers' decisions so far (``{user_id: approve|reject}``):
    ``rejected`` on any rejection, ``approved`` on one approval (any) or all of them (all),
    else ``pending``."""
    relevant = {u: d for u, d in decisions.items() if u in set(approver_ids)}
    if "reject" in relevant.values():
        return REJECTED
    approvals = [u for u, d in relevant.items() if d == "approve"]
    if mode == "any" and approvals:
        return APPROVED
    if mode == "all" and approver_ids and set(approvals) == set(approver_ids):
        return APPROVED
    return PENDING


def next_position(steps, after: int) -> int | None:
    """The position of the first step after ``after`` that is not skipped, or None (all passed)."""
    for step in steps:
        if step.position > after and not step.skipped:
            return step.position
    return None


@dataclass(frozen=True)
class PreviousRound:
    """The subject's last request, as a resubmission needs it."""
    request_id: str
    flow_id: str | None
    state: str
    rejected_position: int | None = None
    flow_version: int | None = None


def restart_position(previous: PreviousRound | None, flow: Flow) -> int:
    """How many leading steps of the new request are carried from the rejected one (``restart:
    rejected``, the same flow at the same version): the steps before the rejected one; else 0 (start from the first)."""
    if (previous is None or previous.state != REJECTED or flow.id is None or previous.flow_id != flow.id
            or previous.flow_version != flow.version or flow.restart != "rejected"
            or previous.rejected_position is None):
        return 0
    return previous.rejected_position


@dataclass(frozen=True)
class Plan:
    """What a submission starts: its steps, the number carried from the previous request, the first
    step to decide (None: nothing to decide: approved at once), the cc users."""
    flow: Flow
    steps: tuple[ResolvedStep, ...]
    carried: int
    current: int | None
    cc_user_ids: tuple[str, ...] = field(default_factory=tuple)

    @property
    def state(self) -> str:
        return PENDING if self.current is not None else APPROVED


def plan_submission(flows, facts: Facts, org: OrgChart, approver_id: str | None = None,
                    previous: PreviousRound | None = None) -> Plan:
    """The whole decision of a submission: the flow, its steps, where it starts, who is copied."""
    flow = flow_for(flows, facts, approver_id)
    steps = resolve_steps(flow, facts, org)
    carried = min(restart_position(previous, flow), len(steps))
    current = next_position(steps, carried - 1)
    return Plan(flow, tuple(steps), carried, current, tuple(cc_for(flow, org, facts)))
