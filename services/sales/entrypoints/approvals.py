"""The entrypoints of the approval engine (审批): flows administration, what waits for the caller,
one approval request. (Approving is done on the subject's own route -- orders, quotes, contracts --
whose use cases call ``services.sales.application.approvals``.)"""
from __future__ import annotations

from crm_kit.runtime.entrypoints import rpc
from services.sales.application import approval_flows


class ApprovalsEntrypoints:
    """(``SalesService`` derives from it: its methods are the service's entrypoints.)"""

    # ``self.org()``: the organisation (``SalesService.org``, an ``OrgDirectory``: gateway.org_chart, cached)
    @rpc
    def list_approval_flows(self, query=None):
        return approval_flows.list_approval_flows(self.db, self.principal, query)

    @rpc
    def get_approval_flow(self, flow_id):
        return approval_flows.get_approval_flow(self.db, self.principal, flow_id)

    @rpc
    def create_approval_flow(self, data):
        return approval_flows.create_approval_flow(self.db, self.principal, self.org(), data)

    @rpc
    def update_approval_flow(self, flow_id, data, expected_version=None):
        return approval_flows.update_approval_flow(self.db, self.principal, self.org(), flow_id, data,
                                                   expected_version)

    @rpc
    def delete_approval_flow(self, flow_id, expected_version=None):
        return approval_flows.delete_approval_flow(self.db, self.principal, flow_id, expected_version)

    @rpc
    def list_my_approvals(self, query=None):
        return approval_flows.list_my_approvals(self.db, self.principal, query)

    @rpc
    def get_approval_request(self, request_id):
        return approval_flows.get_approval_request(self.db, self.principal, request_id)
