"""The billing service's routes for payments (回款): record one against a receivable, read and list
them, finance's review (confirm, reject), the refund of a confirmed one, its history."""
from __future__ import annotations

from gateway.routes.model import Route, body, field, query, users

PAYMENT = "/api/v1/payments/<payment_id>"


def _action(action: str, rpc: str, summary: str, args=(), request=None, description=None) -> Route:
    return Route("POST", f"{PAYMENT}/{action}", "billing", rpc, summary, "billing", args, request=request,
                 response="billing.Payment", description=description)


ROUTES = (
    Route("GET", "/api/v1/payments", "billing", "list_payments", "List payments (finance: its departments')",
          "billing", (query(),), response="billing.PaymentList", query_schema="billing.PaymentListQuery"),
    Route("POST", "/api/v1/payments", "billing", "submit_payment",
          "Record a payment received, for finance to review", "billing", (body(),), users("reviewer_id"),
          status=201, location="/api/v1/payments/{id}", request="billing.PaymentCreate", response="billing.Payment",
          description=(
              "Against a receivable the caller may change (optionally one of its plan's instalments). A payment "
              "above the outstanding amount (less what already awaits review) is refused: 409 "
              "`limit-exceeded`, the detail stating the outstanding amount, `max` what may still be submitted. "
              "`reviewer_id`: the finance user asked to review it.")),
    Route("GET", PAYMENT, "billing", "get_payment", "Read a payment (with its refund, once reversed)", "billing",
          response="billing.Payment"),
    _action("confirm", "confirm_payment", "Confirm a payment awaiting review (finance)", description=(
        "Finance in scope and admins (403 otherwise). The receivable and its instalments count it; "
        "`payment_confirmed` (and `receivable_settled` when it is paid off).")),
    _action("reject", "reject_payment", "Reject a payment awaiting review, with a reason (finance)",
            (field("reason"),), "billing.PaymentReject"),
    _action("refund", "refund_payment", "Reverse a confirmed payment by a refund (finance), with a reason",
            (field("reason"),), "billing.PaymentRefund", description=(
                "A confirmed payment is never edited: the refund is a credit entry of its own (number, reason, "
                "reviewer); the payment becomes `reversed` and its amount outstanding again (`payment_reversed`).")),
    Route("GET", f"{PAYMENT}/history", "billing", "payment_history",
          "Who changed this payment, when, and what (newest first)", "billing", (query(),),
          response="billing.AuditList"),
)
