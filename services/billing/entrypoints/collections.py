"""The entrypoints of collections: the dunning rule run now and its timer, the aging report, the
overdue receivables and their summary per owner."""
from __future__ import annotations

from crm_kit.config import env_float
from crm_kit.runtime.entrypoints import rpc
from crm_kit.runtime.jobs import periodic
from services.billing.application import aging, dunning

# How often the dunning rule runs (seconds): once a period across replicas.
DUNNING_INTERVAL = env_float("BILLING_DUNNING_INTERVAL_SECONDS", 3600.0)
# The ladder, checked when the service starts (a bad BILLING_DUNNING_LEVELS fails it, not a run).
dunning.configured_policy()


class CollectionsEntrypoints:
    """(``BillingService`` derives from it: its methods are the service's entrypoints.)"""

    @rpc
    def run_dunning(self, as_of=None, dry_run=None):
        return dunning.run_dunning(self.db, self.principal, as_of, dry_run)

    @rpc
    def receivables_aging(self, query):
        return aging.receivables_aging(self.db, self.principal, query)

    @rpc
    def list_overdue_receivables(self, query):
        return aging.list_overdue_receivables(self.db, self.principal, query)

    @rpc
    def overdue_by_owner(self, query):
        return aging.overdue_by_owner(self.db, self.principal, query)

    @periodic("dun_receivables", every=DUNNING_INTERVAL)
    def dun_receivables_periodically(self, as_of):
        """Each due the level of the dunning ladder it reached, once (``receivable_dunning``)."""
        return dunning.dun_receivables(self.db, as_of)
