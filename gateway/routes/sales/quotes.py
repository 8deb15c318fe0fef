"""The sales service's routes for quotes (报价): records, the approval actions (through the approval
engine), the customer's answer (accept: a draft order; decline), and the quote's history."""
from __future__ import annotations

from gateway.routes.model import Route, body, crud, query

Q = "/api/v1/quotes/<quote_id>"


def _action(action: str, rpc: str, summary: str, args=(), request=None, description=None) -> Route:
    return Route("POST", f"{Q}/{action}", "sales", rpc, summary, "sales", args, request=request,
                 response="sales.Quote", description=description)


ROUTES = (
    *crud("sales", "/api/v1/quotes", "quote_id", "sales", "quote", "quotes", "Quote"),
    Route("GET", f"{Q}/history", "sales", "quote_history", "Who changed this quote, when, and what (newest first)",
          "sales", (query(),), response="sales.AuditList", query_schema="sales.QuoteHistoryQuery"),
    _action("submit", "submit_quote", "Submit a draft or rejected quote for approval", (body(),),
            "sales.QuoteSubmit",
            "`approved` at once when no approval flow applies and no `approver_id` is given; else "
            "`pending_approval` until the approval engine's steps pass. Refused (422) once `valid_until` "
            "has passed."),
    _action("approve", "approve_quote", "Approve the current step of a pending quote (its approvers)",
            (body(),), "sales.QuoteApprove"),
    _action("reject", "reject_quote", "Reject a pending quote, with a reason (its approvers)", (body(),),
            "sales.QuoteReject"),
    _action("withdraw", "withdraw_quote", "Take a pending quote back to draft"),
    _action("accept", "accept_quote", "The customer accepted an approved quote: it becomes a draft order",
            description="Only an approved quote whose `valid_until` has not passed (else 409 with the state, "
                        "`expired`). The draft order has the quote's lines, price list and discounts "
                        "(`order_id`); `quote_accepted` is raised."),
    _action("decline", "decline_quote", "The customer declined an approved quote", (body(),),
            "sales.QuoteDecline"),
)
