"""The entrypoints of sales targets (``org``: the organisation: departments, people, the tree)."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import rpc
from services.sales.application import targets


class TargetsEntrypoints:
    """(``SalesService`` derives from it: its methods are the service's entrypoints.)"""

    @rpc
    def create_target(self, data):
        return targets.create_target(self.db, self.principal, self.org(knowing=_named(data)), data)

    @rpc
    def get_target(self, target_id):
        return targets.get_target(self.db, self.principal, self.org(), target_id)

    @rpc
    def list_targets(self, query=None):
        return targets.list_targets(self.db, self.principal, self.org(), query)

    @rpc
    def update_target(self, target_id, data, expected_version=None):
        return targets.update_target(self.db, self.principal, self.org(knowing=_named(data)), target_id, data,
                                     expected_version)

    @rpc
    def delete_target(self, target_id, expected_version=None):
        return targets.delete_target(self.db, self.principal, target_id, expected_version)


def _named(data) -> tuple:
    """The people and departments a target's fields name (the org chart must know them)."""
    data = data if isinstance(data, dict) else {}
    return tuple(v for v in (data.get("user_id"), data.get("department_id")) if isinstance(v, str))
