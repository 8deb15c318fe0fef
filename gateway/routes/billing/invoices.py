"""The billing service's routes for invoices (发票): request one against a receivable or a confirmed
payment, read and list them, finance's review (approve, reject), issue (number and date), void (红冲),
its history."""
from __future__ import annotations

from gateway.routes.model import Route, body, field, query

INVOICE = "/api/v1/invoices/<invoice_id>"


def _action(action: str, rpc: str, summary: str, args=(), request=None, description=None) -> Route:
    return Route("POST", f"{INVOICE}/{action}", "billing", rpc, summary, "billing", args, request=request,
                 response="billing.Invoice", description=description)


ROUTES = (
    Route("GET", "/api/v1/invoices", "billing", "list_invoices", "List invoices (finance: its departments')",
          "billing", (query(),), response="billing.InvoiceList", query_schema="billing.InvoiceListQuery"),
    Route("POST", "/api/v1/invoices", "billing", "request_invoice",
          "Request an invoice against a receivable or a confirmed payment, for finance to review", "billing",
          (body(),), status=201, location="/api/v1/invoices/{id}", request="billing.InvoiceCreate",
          response="billing.Invoice", description=(
              "By whoever may change the receivable. `amount` is gross (tax included); the server derives "
              "`tax_amount` = amount × rate / (100 + rate), rounded once to the cent half up, and `net_amount`. "
              "Above what the order still allows (its amount less the invoices requested, approved or issued; "
              "against a payment, also that payment's amount less its invoices) is refused: 409 "
              "`limit-exceeded`, `max` the amount still invoiceable.")),
    Route("GET", INVOICE, "billing", "get_invoice", "Read an invoice", "billing", response="billing.Invoice"),
    _action("approve", "approve_invoice", "Approve a requested invoice (finance)",
            description="Billing's own finance review: finance in scope and admins (403 otherwise)."),
    _action("reject", "reject_invoice", "Reject a requested invoice, with a reason (finance)",
            (field("reason"),), "billing.InvoiceReject", description="Its amount may be invoiced again."),
    _action("issue", "issue_invoice", "Issue an approved invoice: its number and issue date (finance)",
            description="Numbered `INV-<year>-<counter>`, dated today; `invoice_issued`."),
    _action("void", "void_invoice", "Void an issued invoice (红冲), with a reason (finance)",
            (field("reason"),), "billing.InvoiceVoid", description="Its amount may be invoiced again."),
    Route("GET", f"{INVOICE}/history", "billing", "invoice_history",
          "Who changed this invoice, when, and what (newest first)", "billing", (query(),),
          response="billing.AuditList"),
)
