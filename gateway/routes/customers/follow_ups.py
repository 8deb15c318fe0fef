"""The customers service's routes for follow-ups and for running a pool's recycle rules now (its
reminders, ``customer_reminders``, are gathered with leads' by the gateway at
``GET /api/v1/me/reminders`` and ``.ics``: ``gateway/routes/me.py``, ``gateway/reminders.py``)."""
from __future__ import annotations

from gateway.routes.model import Route, body, field, query

ROUTES = (
    Route("GET", "/api/v1/customers/<customer_id>/follow-ups", "customers", "list_customer_follow_ups",
          "A customer's follow-up activities (newest first)", "customers", (query(),),
          response="customers.FollowUpList", query_schema="customers.FollowUpListQuery"),
    Route("POST", "/api/v1/customers/<customer_id>/follow-ups", "customers", "add_customer_follow_up",
          "Record a follow-up (call, email, visit, sms, meeting, event, other) and the next contact time",
          "customers", (body(),), status=201, location="/api/v1/customers/{customer_id}/follow-ups/{id}",
          request="customers.FollowUpCreate", response="customers.FollowUp"),
    Route("GET", "/api/v1/customers/<customer_id>/follow-ups/<follow_up_id>", "customers",
          "get_customer_follow_up", "Read one follow-up of a customer", "customers", response="customers.FollowUp"),
    Route("POST", "/api/v1/customer-pools/<pool_id>/recycle", "customers", "recycle_customer_pool",
          "Run the pool's recycle rules now (optionally as of a given time; dry_run: what would move)",
          "customers", (field("as_of"), field("dry_run")), request="customers.RecycleRequest",
          response="customers.RecycleResult", description=(
              "The pool's rules over the customers it takes (their owner's department among its "
              "`recycle_department_ids`, and no pool of higher priority taking them), as of `as_of` "
              "(default now). Each customer due goes back to the pool (`customer_recycled` names the rule, "
              "its clock and inputs). `dry_run: true` answers the same list without moving anything. "
              "`items` names the first 1000 customers in id order; `count` has them all. Admins and the "
              "pool's admins.")),
)
