"""The entrypoints of support groups and SLA policies (configuration: admins change it)."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import rpc
from services.support.application import groups


class GroupsEntrypoints:
    """(``SupportService`` derives from it: its methods are the service's entrypoints.)"""

    @rpc
    def create_support_group(self, data):
        return groups.create_support_group(self.db, self.principal, data)

    @rpc
    def update_support_group(self, group_id, data, expected_version=None):
        return groups.update_support_group(self.db, self.principal, group_id, data, expected_version)

    @rpc
    def get_support_group(self, group_id):
        return groups.get_support_group(self.db, self.principal, group_id)

    @rpc
    def list_support_groups(self, query=None):
        return groups.list_support_groups(self.db, self.principal, query)

    @rpc
    def list_sla_policies(self):
        return groups.list_sla_policies(self.db, self.principal)

    @rpc
    def set_sla_policy(self, data):
        return groups.set_sla_policy(self.db, self.principal, data)
