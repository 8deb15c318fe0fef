"""The billing service's routes for receivables (应收): the list and the record, the payment plan
(回款计划), the write-off, its history, and running the overdue rule now (``as_of``, ``dry_run``)."""
from __future__ import annotations

from gateway.routes.model import Route, body, field, query

RECEIVABLE = "/api/v1/receivables/<receivable_id>"

ROUTES = (
    Route("POST", "/api/v1/receivables/overdue-run", "billing", "run_overdue",
          "Run the overdue rule now (optionally as of a given time; dry_run: what would be marked)", "billing",
          (field("as_of"), field("dry_run")), request="billing.OverdueRunRequest", response="billing.OverdueRunResult",
          description=(
              "Marks, as of `as_of` (default now), each receivable still being collected past its due date (or "
              "with an instalment of its plan past its own) `overdue` -- once, with `receivable_overdue` naming "
              "the rule and its inputs -- and each such instalment. `dry_run: true` answers the same without "
              "changing anything (and the events it would raise). Finance (its departments' receivables) and "
              "admins; the periodic job `mark_overdue_receivables` runs the same rule.")),
    Route("GET", "/api/v1/receivables", "billing", "list_receivables",
          "List receivables (finance: every one of its departments; filter ?order_id=)", "billing", (query(),),
          response="billing.ReceivableList", query_schema="billing.ReceivableListQuery"),
    Route("GET", RECEIVABLE, "billing", "get_receivable", "Read a receivable: amount, paid, outstanding, its plan",
          "billing", response="billing.Receivable"),
    Route("GET", f"{RECEIVABLE}/plan", "billing", "get_receivable_plan", "The receivable's payment plan",
          "billing", response="billing.Plan"),
    Route("POST", f"{RECEIVABLE}/plan", "billing", "set_receivable_plan",
          "Set (replace) the receivable's payment plan", "billing", (body(),), request="billing.PlanSet",
          response="billing.Plan", description=(
              "The instalments must add up to the receivable's amount: otherwise 422, the message stating both "
              "sums and the difference. They are numbered by due date; the receivable is then due on the last "
              "one; what is paid is allocated again over the new plan (the old instalments become `void`).")),
    Route("POST", f"{RECEIVABLE}/write-off", "billing", "write_off_receivable",
          "Write off what is outstanding, with a reason (finance)", "billing", (field("reason"),),
          request="billing.ReceivableWriteOff", response="billing.Receivable",
          description="Finance in scope and admins (403 otherwise); 409 while payments await review."),
    Route("GET", f"{RECEIVABLE}/history", "billing", "receivable_history",
          "Who changed this receivable, when, and what (newest first; the timers' rules too)", "billing",
          (query(),), response="billing.AuditList"),
)
