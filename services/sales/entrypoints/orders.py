"""The entrypoints of orders: CRUD, the approval actions (through the approval engine, with the
organisation ``self.org()``), copy, transfer, cancel, fulfilment, team and history, and the
late-delivery timer (thin: each hands the unit of work and the caller to ``application``)."""
from __future__ import annotations

from crm_kit.config import env_float
from crm_kit.runtime.entrypoints import rpc
from crm_kit.runtime.jobs import periodic
from services.sales.application import order_approval, order_lateness, orders

# How often the late-delivery rule runs (seconds): once a period across every replica.
LATE_DELIVERY_INTERVAL = env_float("SALES_LATE_DELIVERY_INTERVAL_SECONDS", 3600.0)


class OrdersEntrypoints:
    """(``SalesService`` derives from it: its methods are the service's entrypoints.)"""

    @rpc
    def create_order(self, data):
        return orders.create_order(self.db, self.principal, data)

    @rpc
    def get_order(self, order_id):
        return orders.get_order(self.db, self.principal, order_id)

    @rpc
    def list_orders(self, query):
        return orders.list_orders(self.db, self.principal, query)

    @rpc
    def list_orders_to_ship(self, query=None):
        return orders.list_orders_to_ship(self.db, self.principal, query)

    @rpc
    def update_order(self, order_id, data, expected_version=None):
        return orders.update_order(self.db, self.principal, order_id, data, expected_version)

    @rpc
    def submit_order(self, order_id, approver_id=None):
        return order_approval.submit_order(self.db, self.principal, self.org(), order_id, approver_id)

    @rpc
    def approve_order(self, order_id, comment=None):
        return order_approval.approve_order(self.db, self.principal, self.org(), order_id, comment)

    @rpc
    def reject_order(self, order_id, reason=None):
        return order_approval.reject_order(self.db, self.principal, self.org(), order_id, reason)

    @rpc
    def withdraw_order(self, order_id):
        return order_approval.withdraw_order(self.db, self.principal, order_id)

    @rpc
    def cancel_order(self, order_id, reason=None):
        return orders.cancel_order(self.db, self.principal, order_id, reason)

    @rpc
    def copy_order(self, order_id):
        return orders.copy_order(self.db, self.principal, order_id)

    @rpc
    def transfer_order(self, order_id, owner_id, department_id=None):
        return orders.transfer_order(self.db, self.principal, order_id, owner_id, department_id)

    @rpc
    def ship_order(self, order_id, shipped_at=None):
        return orders.ship_order(self.db, self.principal, order_id, shipped_at)

    @rpc
    def deliver_order(self, order_id, delivered_at=None):
        return orders.deliver_order(self.db, self.principal, order_id, delivered_at)

    @rpc
    def order_history(self, order_id, query=None):
        return orders.order_history(self.db, self.principal, order_id, query)

    @rpc
    def list_order_team(self, order_id):
        return orders.list_order_team(self.db, self.principal, order_id)

    @rpc
    def set_order_team_member(self, order_id, user_id, access):
        return orders.set_order_team_member(self.db, self.principal, order_id, user_id, access)

    @rpc
    def remove_order_team_member(self, order_id, user_id):
        return orders.remove_order_team_member(self.db, self.principal, order_id, user_id)

    @periodic("mark_late_deliveries", every=LATE_DELIVERY_INTERVAL)
    def mark_late_deliveries_periodically(self, as_of):
        """Approved orders past their promised date without delivery, as of ``as_of``: each once,
        ``order_delivery_late`` with the rule and its inputs; ``run_job("mark_late_deliveries",
        as_of, dry_run)`` runs it now."""
        return order_lateness.mark_late_deliveries(self.db, as_of)
