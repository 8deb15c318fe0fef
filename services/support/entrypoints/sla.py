"""The entrypoints of the SLA timer: run now (``as_of``, ``dry_run``) and the periodic job."""
from __future__ import annotations

from crm_kit.config import env_float
from crm_kit.runtime.entrypoints import rpc
from crm_kit.runtime.jobs import periodic
from services.support.application import sla_run

# How often the SLA rule runs (seconds): once a period across replicas.
SLA_INTERVAL = env_float("SUPPORT_SLA_INTERVAL_SECONDS", 60.0)


class SlaEntrypoints:
    """(``SupportService`` derives from it: its methods are the service's entrypoints.)"""

    @rpc
    def run_sla(self, as_of=None, dry_run=None):
        return sla_run.run_sla(self.db, self.principal, as_of, dry_run)

    @periodic("flag_sla", every=SLA_INTERVAL)
    def flag_sla_periodically(self, as_of):
        """Each SLA clock's warning and breach due as of ``as_of``, once (``ticket_sla_warning``,
        ``ticket_sla_breached`` with the rule and its inputs); ``run_job("flag_sla", as_of, dry_run)``."""
        return sla_run.flag_sla(self.db, as_of)
