"""The customers service's routes for public pools (公海) and ownership: pools and their customers,
claim / assign / return / move / lock / unlock / transfer one by one and in bulk, the owner history,
and the customer settings (holding caps, deal triggers). (A pool's recycle run is the follow-ups
work's route.)"""
from __future__ import annotations

from dataclasses import replace

from gateway.routes.model import Route, body, crud, field, query, user_lists, users, version

C = "/api/v1/customers/<customer_id>"
_owner = users("owner_id", departments="owner_department_id")


def _action(action: str, rpc: str, summary: str, args=(), request=None, description=None, **kw) -> Route:
    return Route("POST", f"{C}/{action}", "customers", rpc, summary, "customers", args, request=request,
                 response="customers.Customer", description=description, **kw)


def _bulk(action: str, rpc: str, summary: str, request: str, **kw) -> Route:
    return Route("POST", f"/api/v1/customers/bulk/{action}", "customers", rpc, summary, "customers", (body(),),
                 request=request, response="customers.BulkResult", description=(
                     "Each customer id in turn (at most 200, each once), each its own transaction: `items` has "
                     "one result per id in the order given, `status` 200 with the `customer`, or the status and "
                     "`problem` (problem+json body) the single action would have answered. One refusal never "
                     "stops the others; a retry under the same Idempotency-Key does only what was not done."), **kw)


ROUTES = (
    *[replace(r, users=user_lists("admin_ids", "member_ids", departments="user_departments"))
      if r.method in ("POST", "PATCH") else r
      for r in crud("customers", "/api/v1/customer-pools", "pool_id", "customers", "customer_pool", "customer_pools",
                    "CustomerPool")],
    Route("GET", "/api/v1/customer-pools/<pool_id>/customers", "customers", "list_customer_pool_customers",
          "The customers in a pool (its hidden fields masked for its members)", "customers", (query(),),
          response="customers.CustomerList", query_schema="customers.PoolCustomerListQuery", description=(
              "For admins, the pool's admins and its members (else 404). For members, the fields the pool "
              "hides (`hidden_fields`) are null and named in each customer's `masked_fields` until they claim it.")),
    _action("claim", "claim_customer", "Claim a customer of a pool you are a member of (within its limits)",
            description="Refused with 409 `limit` (`protection_days`, `max_held`, `max_claims_per_day`, "
                        "`reclaim_cooldown_days`, `holding_cap`), `max`, `current` and, where a matter of time, "
                        "`available_at`."),
    _action("assign", "assign_customer", "Give a customer (in a pool, or owned) to a user (admin, pool admin, manager)",
            (field("owner_id"),), "customers.AssignRequest", users=_owner),
    _action("return", "return_customer", "Give an owned customer back to a pool, with a reason",
            (field("reason"), field("pool_id")), "customers.ReturnRequest",
            description="`pool_id` chooses among the pools it may go to (`GET .../return-options`); the reason "
                        "must be one of the pool's `return_reasons` (none: the platform's, in customer-settings) when "
                        "there are any."),
    Route("GET", f"{C}/return-options", "customers", "customer_return_options",
          "Where a customer may be returned, and with which reasons", "customers",
          response="customers.ReturnOptions"),
    _action("move", "move_customer", "Move a customer of a pool to another pool (admin, pool admin)",
            (field("pool_id"),), "customers.MoveRequest"),
    _action("lock", "lock_customer", "Lock an owned customer (never recycled; within the locked cap)"),
    _action("unlock", "unlock_customer", "Unlock a customer"),
    _action("transfer", "transfer_customer", "Give an owned customer to another user, optionally keeping the old "
                                             "owner as a team member (until a date)",
            (field("owner_id"), field("keep_old_owner"), field("until"), field("reason")),
            "customers.TransferRequest", users=_owner),
    Route("GET", f"{C}/owners", "customers", "list_customer_owners",
          "The owner history: who owned the customer, from, until, how and why (oldest first)", "customers",
          response="customers.CustomerOwnerList"),
    _bulk("claim", "bulk_claim_customers", "Claim several customers: a result per customer",
          "customers.BulkClaimRequest"),
    _bulk("assign", "bulk_assign_customers", "Assign several customers to a user: a result per customer",
          "customers.BulkAssignRequest", users=_owner),
    _bulk("return", "bulk_return_customers", "Return several customers to a pool: a result per customer",
          "customers.BulkReturnRequest"),
    _bulk("transfer", "bulk_transfer_customers", "Transfer several customers to a user: a result per customer",
          "customers.BulkTransferRequest", users=_owner),
    Route("GET", "/api/v1/customer-settings", "customers", "get_customer_settings",
          "The customer settings: holding caps, deal triggers, return reasons (admins)", "customers",
          response="customers.CustomerSettings"),
    Route("PATCH", "/api/v1/customer-settings", "customers", "update_customer_settings",
          "Change the customer settings (admins; If-Match: version)", "customers", (body(), version()),
          request="customers.CustomerSettingsUpdate", response="customers.CustomerSettings"),
)
