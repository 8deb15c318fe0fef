"""The entrypoints of follow-ups, reminders (due follow-ups, recycle warnings, birthdays), and the
pools' recycle rules run now or on their periodic job."""
from __future__ import annotations

import os

from crm_kit.config import env_float
from crm_kit.runtime.entrypoints import rpc
from crm_kit.runtime.jobs import periodic
from services.customers import application

# How often the recycle rules run over every pool (seconds): once a period across every replica.
RECYCLE_INTERVAL = env_float("CUSTOMERS_RECYCLE_INTERVAL_SECONDS", 3600.0)
# Customers per transaction of a recycle run, and batches in flight at once.
RECYCLE_BATCH_SIZE = max(1, int(os.environ.get("CUSTOMERS_RECYCLE_BATCH_SIZE", "")
                                or application.recycling.BATCH_SIZE))
RECYCLE_WORKERS = max(1, int(os.environ.get("CUSTOMERS_RECYCLE_WORKERS", "") or application.recycling.WORKERS))


class FollowUpsEntrypoints:
    """(``CustomersService`` derives from it: its methods are the service's entrypoints.)"""

    @rpc
    def add_customer_follow_up(self, customer_id, data):
        return application.add_customer_follow_up(self.db, self.principal, customer_id, data)

    @rpc
    def list_customer_follow_ups(self, customer_id, query=None):
        return application.list_customer_follow_ups(self.db, self.principal, customer_id, query)

    @rpc
    def get_customer_follow_up(self, customer_id, follow_up_id):
        return application.get_customer_follow_up(self.db, self.principal, customer_id, follow_up_id)

    @rpc
    def customer_reminders(self, query=None):
        return application.customer_reminders(self.db, self.principal, query)

    @rpc
    def recycle_customer_pool(self, pool_id, as_of=None, dry_run=None):
        return application.recycle_customer_pool(self.db, self.principal, pool_id, as_of, dry_run)

    @periodic("recycle_customers", every=RECYCLE_INTERVAL)
    def recycle_customers_periodically(self, as_of):
        """Every pool's recycle rules as of ``as_of``, once per ``CUSTOMERS_RECYCLE_INTERVAL_SECONDS``
        across the replicas, as the platform (audit and event actor ``customers``, request id
        ``job:recycle_customers:<run id>``); ``run_job("recycle_customers", as_of, dry_run)`` runs it now."""
        return application.recycle_all_pools(self.db, as_of, RECYCLE_BATCH_SIZE, RECYCLE_WORKERS)
