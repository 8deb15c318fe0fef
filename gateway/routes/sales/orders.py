"""The sales service's routes for orders (销售订单): records, the approval actions (through the
approval engine), copy, owner transfer, cancel, fulfilment (to ship, ship, deliver), team and history."""
from __future__ import annotations

from gateway.routes.model import Route, crud, field, query, record_extras, users

ORDER = "/api/v1/orders/<order_id>"


def _action(action: str, rpc: str, summary: str, args=(), request=None, description=None, **kw) -> Route:
    return Route("POST", f"{ORDER}/{action}", "sales", rpc, summary, "sales", args, request=request,
                 response="sales.Order", description=description, **kw)


ROUTES = (
    Route("GET", "/api/v1/orders/to-ship", "sales", "list_orders_to_ship",
          "Approved orders not shipped yet (待发货), newest first", "sales", (query(),),
          response="sales.OrderList", query_schema="sales.OrderToShipQuery"),
    *crud("sales", "/api/v1/orders", "order_id", "sales", "order", "orders", "Order"),
    _action("submit", "submit_order", "Submit a draft or rejected order for approval", (field("approver_id"),),
            "sales.OrderSubmit",
            "`approved` at once when no approval flow applies and no `approver_id` is given (`order_submitted` "
            "then `order_approved`); else `pending_approval` until the approval engine's steps pass."),
    _action("approve", "approve_order", "Approve the current step of a pending order (its approvers)",
            (field("comment"),), "sales.OrderApprove",
            "Only the approval engine's approvers of the current step (403 otherwise); 409 when the order is "
            "not pending (an approval without a submission is refused)."),
    _action("reject", "reject_order", "Reject a pending order, with a reason (its approvers)", (field("reason"),),
            "sales.OrderReject"),
    _action("withdraw", "withdraw_order", "Take a pending order back to draft (its owner)"),
    _action("cancel", "cancel_order", "Cancel an order, with a reason", (field("reason"),), "sales.OrderCancel",
            "A draft or rejected order; an approved one only while nothing has been paid or shipped (409)."),
    _action("copy", "copy_order", "A new draft from this order, priced again now", status=201,
            location="/api/v1/orders/{id}"),
    _action("transfer", "transfer_order", "Give the order to another owner; nothing else changes",
            (field("owner_id"),), "sales.OrderTransfer", users=users("owner_id", departments="department_id")),
    _action("ship", "ship_order", "Mark an approved order shipped", (field("shipped_at"),), "sales.OrderShip"),
    _action("deliver", "deliver_order", "Mark a shipped order delivered", (field("delivered_at"),),
            "sales.OrderDeliver"),
    *record_extras("sales", ORDER, "order"),
)
