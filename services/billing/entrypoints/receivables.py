"""The entrypoints of receivables: reads, the plan, the write-off, the overdue rule run now, sales'
order events (approved, cancelled, owner changed), and the timers (thin: each hands the unit of work
and the caller to ``application``)."""
from __future__ import annotations

from crm_kit.config import env_float
from crm_kit.runtime.entrypoints import event_handler, rpc
from crm_kit.runtime.jobs import periodic
from services.billing.application import order_events, overdue, plans, receivables, reminders
from services.billing.events.consumed_orders import OrderApproved, OrderCancelled, OrderOwnerChanged

# How often the overdue rule and the instalment reminders run (seconds): once a period across replicas.
OVERDUE_INTERVAL = env_float("BILLING_OVERDUE_INTERVAL_SECONDS", 3600.0)
REMINDER_INTERVAL = env_float("BILLING_REMINDER_INTERVAL_SECONDS", 3600.0)


class ReceivablesEntrypoints:
    """(``BillingService`` derives from it: its methods are the service's entrypoints.)"""

    @rpc
    def get_receivable(self, receivable_id):
        return receivables.get_receivable(self.db, self.principal, receivable_id)

    @rpc
    def list_receivables(self, query):
        return receivables.list_receivables(self.db, self.principal, query)

    @rpc
    def write_off_receivable(self, receivable_id, reason=None):
        return receivables.write_off_receivable(self.db, self.principal, receivable_id, reason)

    @rpc
    def receivable_history(self, receivable_id, query=None):
        return receivables.receivable_history(self.db, self.principal, receivable_id, query)

    @rpc
    def get_receivable_plan(self, receivable_id):
        return plans.get_receivable_plan(self.db, self.principal, receivable_id)

    @rpc
    def set_receivable_plan(self, receivable_id, data):
        return plans.set_receivable_plan(self.db, self.principal, receivable_id, data)

    @rpc
    def run_overdue(self, as_of=None, dry_run=None):
        return overdue.run_overdue(self.db, self.principal, as_of, dry_run)

    @event_handler("sales", "order_approved", payload=OrderApproved)
    def handle_order_approved(self, order):
        receivables.open_receivable(self.db, order)

    @event_handler("sales", "order_cancelled", payload=OrderCancelled)
    def handle_order_cancelled(self, order):
        receivables.close_for_cancelled_order(self.db, order)

    @event_handler("sales", "order_owner_changed", payload=OrderOwnerChanged)
    def handle_order_owner_changed(self, changed):
        order_events.record_order_owner_changed(self.db, changed)

    @periodic("mark_overdue_receivables", every=OVERDUE_INTERVAL)
    def mark_overdue_periodically(self, as_of):
        """Receivables and instalments past due as of ``as_of``, each once (``receivable_overdue``
        with the rule and its inputs); ``run_job("mark_overdue_receivables", as_of, dry_run)``."""
        return overdue.mark_overdue_receivables(self.db, as_of)

    @periodic("remind_instalments", every=REMINDER_INTERVAL)
    def remind_instalments_periodically(self, as_of):
        """Instalments whose reminder day has come, each once (``instalment_due``)."""
        return reminders.remind_instalments(self.db, as_of)
