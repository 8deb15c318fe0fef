"""The entrypoints of opportunities and pipelines: RPC (thin: each hands the unit of work and the
caller to ``application``) and the lead conversion handlers."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import event_handler, rpc
from services.sales.application import lead_conversion, opportunities, opportunity_queries, pipelines
from services.sales.events.consumed import CustomerConvertedFromLead, LeadConverted


class OpportunitiesEntrypoints:
    """(``SalesService`` derives from it: its methods are the service's entrypoints.)"""

    # -- pipelines and settings ----------------------------------------------
    @rpc
    def list_pipelines(self, query=None):
        return pipelines.pipelines_page(self.db, self.principal, query)

    @rpc
    def get_pipeline(self, pipeline_id):
        return pipelines.get_pipeline(self.db, self.principal, pipeline_id)

    @rpc
    def create_pipeline(self, data):
        return pipelines.create_pipeline(self.db, self.principal, data)

    @rpc
    def update_pipeline(self, pipeline_id, data, expected_version=None):
        return pipelines.update_pipeline(self.db, self.principal, pipeline_id, data, expected_version)

    @rpc
    def get_opportunity_settings(self):
        return pipelines.get_opportunity_settings(self.db, self.principal)

    @rpc
    def set_opportunity_settings(self, data, expected_version=None):
        return pipelines.set_opportunity_settings(self.db, self.principal, data, expected_version)

    # -- opportunities -----------------------------------------------------------
    @rpc
    def list_opportunities(self, query=None):
        return opportunity_queries.list_opportunities(self.db, self.principal, query)

    @rpc
    def opportunity_kanban(self, query=None):
        return opportunity_queries.opportunity_kanban(self.db, self.principal, query)

    @rpc
    def customer_opportunities(self, customer_id, limit=10):
        return opportunity_queries.customer_opportunities(self.db, self.principal, customer_id, limit)

    @rpc
    def create_opportunity(self, data):
        return opportunities.create_opportunity(self.db, self.principal, data)

    @rpc
    def get_opportunity(self, opportunity_id):
        return opportunities.get_opportunity(self.db, self.principal, opportunity_id)

    @rpc
    def update_opportunity(self, opportunity_id, data, expected_version=None):
        return opportunities.update_opportunity(self.db, self.principal, opportunity_id, data, expected_version)

    @rpc
    def change_opportunity_stage(self, opportunity_id, data, expected_version=None):
        return opportunities.change_opportunity_stage(self.db, self.principal, opportunity_id, data,
                                                      expected_version)

    @rpc
    def reopen_opportunity(self, opportunity_id, data, expected_version=None):
        return opportunities.reopen_opportunity(self.db, self.principal, self.org(), opportunity_id, data,
                                                expected_version)

    @rpc
    def list_opportunity_stages(self, opportunity_id):
        return opportunity_queries.list_opportunity_stages(self.db, self.principal, opportunity_id)

    @rpc
    def list_opportunity_team(self, opportunity_id):
        return opportunities.list_opportunity_team(self.db, self.principal, opportunity_id)

    @rpc
    def set_opportunity_team_member(self, opportunity_id, user_id, access):
        return opportunities.set_opportunity_team_member(self.db, self.principal, opportunity_id, user_id, access)

    @rpc
    def remove_opportunity_team_member(self, opportunity_id, user_id):
        return opportunities.remove_opportunity_team_member(self.db, self.principal, opportunity_id, user_id)

    @rpc
    def opportunity_history(self, opportunity_id, query=None):
        return opportunities.opportunity_history(self.db, self.principal, opportunity_id, query)

    # -- lead conversions ----------------------------------------------------------
    @event_handler("leads", "lead_converted", payload=LeadConverted)
    def handle_lead_converted(self, event):
        lead_conversion.on_lead_converted(self.db, event)

    @event_handler("customers", "customer_converted_from_lead", payload=CustomerConvertedFromLead)
    def handle_customer_converted_from_lead(self, event):
        lead_conversion.on_customer_converted_from_lead(self.db, event)
