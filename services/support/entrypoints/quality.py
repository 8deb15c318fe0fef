"""The entrypoint of the quality report per agent and group (``application.quality``)."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import rpc
from services.support.application import quality


class QualityEntrypoints:
    """(``SupportService`` derives from it: its methods are the service's entrypoints.)"""

    @rpc
    def quality_report(self, query=None):
        return quality.quality_report(self.db, self.principal, query)
