"""The run-once jobs: the sender of due deliveries and the purge of old ones."""
from __future__ import annotations

from crm_kit.config import env_float
from crm_kit.runtime.jobs import periodic
from services.webhooks.application import purge, sending

# How often the sender looks for due deliveries (seconds): once a period across replicas; a run
# sends until nothing is due, so this bounds the latency of a delivery, not the throughput.
SEND_INTERVAL = env_float("WEBHOOKS_SEND_INTERVAL_SECONDS", 1.0)
PURGE_INTERVAL = env_float("WEBHOOKS_PURGE_INTERVAL_SECONDS", 3600.0)


class SendingEntrypoints:
    """(``WebhooksService`` derives from it: its methods are the service's entrypoints.)"""

    @periodic("send_webhooks", every=SEND_INTERVAL, lease=120, previewable=False)
    def send_webhooks(self, as_of):
        """Every due delivery out (rounds until none is due); ``run_job("send_webhooks")``."""
        return sending.send_due(self.db, as_of)

    @periodic("purge_webhooks", every=PURGE_INTERVAL)
    def purge_webhooks(self, as_of):
        """Events and finished deliveries older than ``WEBHOOKS_RETENTION_DAYS`` removed."""
        return purge.purge(self.db, as_of)
