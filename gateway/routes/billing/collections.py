"""The billing service's routes for collections: the dunning rule run now (``as_of``, ``dry_run``), the
aging report (账龄), the overdue receivables and their summary per owner."""
from __future__ import annotations

from gateway.routes.model import Route, field, query

ROUTES = (
    Route("POST", "/api/v1/receivables/dunning-run", "billing", "run_dunning",
          "Run the dunning rule now (optionally as of a given time; dry_run: what would be sent)", "billing",
          (field("as_of"), field("dry_run")), request="billing.DunningRunRequest",
          response="billing.DunningRunResult", description=(
              "Sends, as of `as_of` (default now), each due -- an instalment of a plan, or a receivable without "
              "one -- the highest level of the dunning ladder it has reached and not been sent, once: "
              "`receivable_dunning` for its owner, naming the level and its inputs. `dry_run: true` answers "
              "the same without sending anything. Finance (its departments' receivables) and admins; the "
              "periodic job `dun_receivables` runs the same rule.")),
    Route("GET", "/api/v1/receivables/aging", "billing", "receivables_aging",
          "The aging report: outstanding amounts by days overdue, per currency (?as_of=&currency=&owner_id=)",
          "billing", (query(),), response="billing.AgingReport", query_schema="billing.AgingQuery",
          description=(
              "Buckets current, 1-30, 31-60, 61-90, 90+ days past due on `as_of` (default today), over the "
              "receivables in the caller's scope still being collected (a plan's instalments each from its own "
              "due date); currencies are never added together.")),
    Route("GET", "/api/v1/receivables/overdue", "billing", "list_overdue_receivables",
          "The overdue receivables in scope (?owner_id=: one owner's)", "billing", (query(),),
          response="billing.ReceivableList", query_schema="billing.OverdueListQuery"),
    Route("GET", "/api/v1/receivables/overdue/summary", "billing", "overdue_by_owner",
          "Overdue receivables per owner and currency: how many, how much outstanding (group_by=owner)",
          "billing", (query(),), response="billing.OverdueSummary", query_schema="billing.OverdueSummaryQuery"),
)
