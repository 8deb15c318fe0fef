"""The sales service's routes of the approval engine (审批): flows (admins), what waits for the caller,
one approval request. Deciding is on the subject's route (``/orders/{id}/approve``, ``/quotes/...``,
``/contracts/...``)."""
from __future__ import annotations

from dataclasses import replace

from gateway.routes.model import Route, crud, query

_FLOW_NOTE = (
    "Admins only. The highest `priority` flow whose conditions all hold is chosen for a submission "
    "(`subject_kind`, `kind`, `currency`, `min_amount` <= amount < `max_amount`, discount >= "
    "`min_discount_percent`, the owner's department in `department_ids`; empty conditions hold for all). "
    "Steps: `approver` `user` (`user_ids`), `role` (`role`), or `managers` (`levels` up the owner's "
    "chain, each level its own step); `mode` `any` (或签) or `all` (会签). A step resolving to nobody goes "
    "to `fallback_approver_id`, else the admins; the submitter is never their own approver (a step left "
    "empty is skipped). No flow applies: the owner's manager (fallback: the admins), or the "
    "`approver_id` the submission names.")

ROUTES = (
    *[replace(r, description=_FLOW_NOTE)
      for r in crud("sales", "/api/v1/approval-flows", "flow_id", "sales", "approval_flow", "approval_flows",
                    "ApprovalFlow", delete=True)],
    Route("GET", "/api/v1/me/approvals", "sales", "list_my_approvals",
          "What waits for the caller: approval steps to decide, and requests they are copied on", "sales",
          (query(),), response="sales.MyApprovalList", query_schema="sales.MyApprovalQuery", description=(
              "`kind: approve`: a pending step of an order, quote or contract where the caller is an approver "
              "and has not decided (decide it on the subject's `/approve` or `/reject` route); `kind: cc`: a "
              "request the caller is copied on, in any state. Newest request first.")),
    Route("GET", "/api/v1/approvals/<request_id>", "sales", "get_approval_request",
          "An approval request with its steps and every decision", "sales", response="sales.ApprovalRequest",
          description="For its submitter, the subject's owner, its approvers, the people copied and admins "
                      "(anyone else: 404)."),
)
