"""The support service's routes for tickets (工单): open, read, list, update, the status machine's
actions, assignment (by hand or routed), the on-site arrival, comments, history, and the SLA rule
run now (``as_of``, ``dry_run``)."""
from __future__ import annotations

from gateway.routes.model import Route, body, field, query, version

TICKET = "/api/v1/tickets/<ticket_id>"
_ACTIONS = (
    ("start", "start_ticket", "Start work on the ticket (assigned -> in_progress)"),
    ("wait", "wait_on_customer", "Wait on the customer (in_progress -> waiting_on_customer: the SLA clocks pause)"),
    ("resume", "resume_ticket", "The customer answered (waiting_on_customer -> in_progress: the clocks run on)"),
    ("resolve", "resolve_ticket", "Resolve the ticket, with the resolution (the SLA clocks stop)"),
    ("close", "close_ticket", "Close a resolved ticket"),
    ("reopen", "reopen_ticket", "Reopen a resolved ticket (or a closed one within 7 days), with a reason"),
)


def _action(action: str, rpc: str, summary: str) -> Route:
    return Route("POST", f"{TICKET}/{action}", "support", rpc, summary, "support", (body(),),
                 request="support.TicketActionIn", response="support.Ticket",
                 description="409 `invalid-state` naming the ticket's state (and the actions allowed in it) when "
                             "the status machine does not allow it.")


ROUTES = (
    Route("POST", "/api/v1/tickets/sla-run", "support", "run_sla",
          "Run the SLA rule now (optionally as of a given time; dry_run: what would be flagged)", "support",
          (field("as_of"), field("dry_run")), request="support.SlaRunRequest", response="support.SlaRunResult",
          description=(
              "Raises, as of `as_of` (default now), each SLA clock's warning and breach once "
              "(`ticket_sla_warning`, `ticket_sla_breached`, with the rule and its inputs) over the tickets "
              "whose `next_sla_check_at` has come. `dry_run: true` answers the same without changing anything. "
              "Admins and support leads (their groups' tickets); the periodic job `flag_sla` runs the same rule.")),
    Route("GET", "/api/v1/tickets", "support", "list_tickets", "List tickets (in scope, newest first)", "support",
          (query(),), response="support.TicketList", query_schema="support.TicketListQuery"),
    Route("POST", "/api/v1/tickets", "support", "create_ticket", "Open a ticket (routed in its group unless "
          "an assignee is chosen)", "support", (body(),), status=201, location="/api/v1/tickets/{id}",
          request="support.TicketCreate", response="support.Ticket", description=(
              "Numbered `TK-<year>-<counter>`; its SLA policy is chosen by priority (and customer level) and "
              "runs in its group's business calendar. Without `assignee_id` it goes to the least-loaded agent "
              "of `group_id` skilled in its category (and product), round robin among equals; nobody: it "
              "waits `new` in the group's queue.")),
    Route("GET", TICKET, "support", "get_ticket", "Read a ticket, with its SLA clocks (`sla`)", "support",
          response="support.Ticket"),
    Route("PATCH", TICKET, "support", "update_ticket", "Update a ticket (If-Match: version)", "support",
          (body(), version()), request="support.TicketUpdate", response="support.Ticket"),
    Route("POST", f"{TICKET}/assign", "support", "assign_ticket",
          "Assign the ticket to someone, or route it (again) within its group or another", "support", (body(),),
          request="support.TicketAssign", response="support.Ticket", description=(
              "With `assignee_id`: to that user (rule `chosen`); without: routed in `group_id` (default the "
              "ticket's group) to the least-loaded skilled agent. Kept in the ticket's history with the rule "
              "and its inputs (`ticket_assigned`). 409 when nobody can take it (naming why).")),
    *(_action(a, r, s) for a, r, s in _ACTIONS),
    Route("POST", f"{TICKET}/arrival", "support", "record_arrival",
          "Record the technician's arrival on site (the arrival clock stops)", "support", (body(),),
          request="support.ArrivalRecord", response="support.Ticket"),
    Route("GET", f"{TICKET}/comments", "support", "list_ticket_comments", "The ticket's comments (newest first)",
          "support", (query(),), response="support.CommentList"),
    Route("POST", f"{TICKET}/comments", "support", "add_ticket_comment",
          "Add a public reply (the first stops the first-response clock) or an internal note", "support",
          (body(),), status=201, location="/api/v1/tickets/{ticket_id}/comments",   # comments are read as a list
          request="support.CommentCreate", response="support.Comment"),
    Route("GET", f"{TICKET}/history", "support", "ticket_history",
          "Who changed this ticket, when, and what (assignments and SLA flags with their rules)", "support",
          (query(),), response="support.AuditList"),
)
