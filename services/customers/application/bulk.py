"""Bulk claim, assign, return and transfer: the single action on each customer id in turn, each its
own transaction, with a result per item -- the customer, or the problem that refused it (its
problem+json body: ``type``, ``title``, ``status``, ``detail`` and the error's public fields, as
the gateway would have answered the single action). One item's refusal never stops the others.

**Applied once, answered the same.** Each item runs on a unit of work of its own whose request key
is the bulk request's and the customer id: a bulk request delivered again (a client's retry under
the same ``Idempotency-Key``, a redelivery) answers the items it had done from their records
instead of doing them twice, and does the rest; once the whole result is recorded (the last, tiny
transaction) a retry is answered from it without running anything. An outage or the request's
deadline (503) ends the request; what was done stays done, and the retry carries on.
"""
from __future__ import annotations

import hashlib
from typing import Callable

from crm_kit.context import Principal
from crm_kit.errors import CrmError, ValidationFailed
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import AlreadyHandled, RpcRequest, UnitOfWork
from services.customers.application.owner_actions import transfer_customer
from services.customers.application.pool_actions import assign_customer, claim_customer, return_customer
from services.customers.domain import permissions
from services.customers.schemas.ownership import (
    BulkAssignRequest,
    BulkClaimRequest,
    BulkReturnRequest,
    BulkTransferRequest,
)

# the problem types' base, as the gateway's (gateway.problems.PROBLEM_BASE: the same URLs)
PROBLEM_BASE = "https://crm.example.org/problems/"

_claim, _assign = BulkClaimRequest(), BulkAssignRequest()
_return, _transfer = BulkReturnRequest(), BulkTransferRequest()


def problem_of(exc: CrmError) -> dict:
    """What the gateway would answer for ``exc`` (RFC 9457), as a dict."""
    return {"type": PROBLEM_BASE + exc.slug, "title": exc.title, "status": exc.status, "detail": exc.detail,
            **exc.public_extra()}


def item_uow(uow: UnitOfWork, customer_id: str) -> UnitOfWork:
    """The unit of work of one item: the request's (same deadline, same caller), with a request key
    of its own that records the item's reply."""
    item = uow.sibling()
    if uow.request is not None:
        digest = hashlib.sha256(uow.request.key.encode()).hexdigest()[:40]
        item.request = RpcRequest(f"{digest}:{customer_id}", uow.request.method, uow.request.deadline,
                                  uow.request.maybe_handled)
        item.records_reply = True
    return item


def run_bulk(uow: UnitOfWork, customer_ids: list[str], action: Callable[[UnitOfWork, str], dict]) -> dict:
    """``action(unit_of_work, customer_id)`` on each id (each once, in the order given)."""
    with uow:      # a retry of a finished request is answered from its record here, before any item
        pass
    items = []
    for customer_id in dict.fromkeys(customer_ids):
        try:
            items.append(_done(customer_id, action(item_uow(uow, customer_id), customer_id)))
        except AlreadyHandled as handled:
            items.append(_done(customer_id, handled.reply))
        except CrmError as exc:
            if exc.status >= 500:
                raise
            items.append({"customer_id": customer_id, "status": exc.status, "customer": None,
                          "problem": problem_of(exc)})
    succeeded = sum(1 for item in items if item["status"] == 200)
    result = {"items": items, "succeeded": succeeded, "failed": len(items) - succeeded}
    with uow:
        return uow.commit(result)


def _done(customer_id: str, customer: dict) -> dict:
    return {"customer_id": customer_id, "status": 200, "customer": customer, "problem": None}


def bulk_claim_customers(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    request = load(_claim, data)
    return run_bulk(uow, request["customer_ids"], lambda u, cid: claim_customer(u, principal, cid))


def bulk_assign_customers(uow: UnitOfWork, principal: Principal, data: dict,
                          owner_department_id: str | None = None) -> dict:
    request = load(_assign, data)
    return run_bulk(uow, request["customer_ids"], lambda u, cid: assign_customer(
        u, principal, cid, request["owner_id"], owner_department_id))


def bulk_return_customers(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    request = load(_return, data)
    return run_bulk(uow, request["customer_ids"], lambda u, cid: return_customer(
        u, principal, cid, request["reason"], request["pool_id"]))


def bulk_transfer_customers(uow: UnitOfWork, principal: Principal, data: dict,
                            owner_department_id: str | None = None) -> dict:
    request = load(_transfer, data)
    errors = permissions.transfer_errors(request["keep_old_owner"], request["until"], utcnow())
    if errors:
        raise ValidationFailed.from_messages(errors)
    until = data.get("until")      # as given: each item's transfer loads it again
    return run_bulk(uow, request["customer_ids"], lambda u, cid: transfer_customer(
        u, principal, cid, request["owner_id"], request["keep_old_owner"], until, request["reason"],
        owner_department_id))
