"""The customers routes of merging duplicates and of the customer's overview (gathered by the
gateway from customers and, in parallel within a deadline, the services owning its other parts:
``gateway.overview``)."""
from __future__ import annotations

from gateway.routes.model import Route, field

ROUTES = (
    Route("POST", "/api/v1/customers/<customer_id>/merge", "customers", "merge_customers",
          "Merge a duplicate customer into this one (nothing of it is lost)", "customers", (field("duplicate_id"),),
          request="customers.MergeRequest", response="customers.MergeResult", description=(
              "This customer stays (its id, name, owner, pool and every field it has); from `duplicate_id` it "
              "takes the fields it has left blank, the tags and team members it lacks (the duplicate's owner "
              "as a `read_write` member), and all of its contacts (same ids), follow-ups, owner history and "
              "business (opportunities, orders, payments: the summary is recomputed; a deal customer if "
              "either was). The duplicate is deleted; a request for its id answers 404 naming this one. "
              "`customers_merged` tells every context holding the duplicate's id to move it here. Whoever "
              "may change both customers may merge them (admins; managers for customers owned in their "
              "department subtree; owners and `read_write` team members).")),
    Route("GET", "/api/v1/customers/<customer_id>/overview", "gateway", "customer_overview",
          "The customer's whole picture: contacts, follow-ups, summary, source lead, opportunities, orders, "
          "receivables, tickets", "customers", response="gateway.CustomerOverview", description=(
              "The customer's own part (the customer with its contacts, recent follow-ups, deal status and "
              "summary) comes from customers: its 404 or 403 is this page's. The other parts are fetched in "
              "parallel within `GATEWAY_OVERVIEW_DEADLINE_SECONDS` (default 2 s), each "
              "`{available, data | items, reason, detail}`: a part whose service does not answer in time is "
              "`available: false` with `reason: not_answered` instead of failing the page, and `unavailable` "
              "lists them. Sales, billing and support do not provide their parts yet (`not_provided`).")),
)
