"""The leads nameko service: thin adapters from RPC/events/timers to ``application``."""
from __future__ import annotations

import logging
import os

from nameko.timer import timer

from crm_kit.records.audit import AuditEntry, AuditList
from crm_kit.context import Principal, principal_var
from crm_kit.runtime.dependencies import Database
from crm_kit.runtime.entrypoints import event_handler, rpc
from crm_kit.runtime.service import CrmService
from crm_kit.records.team_members import TeamList, TeamMember, TeamMemberSet
from services.leads import application
from services.leads.models import Base
from services.leads.schemas import (
    AssignRequest, ConvertRequest, FollowUpCreate, FollowUpList, FollowUpListQuery, FollowUpOut, HistoryQuery,
    ImportReport, LeadCreate, LeadExportQuery, LeadList, LeadListQuery, LeadOut, LeadPoolCreate, LeadPoolList,
    LeadPoolListQuery, LeadPoolOut, LeadPoolUpdate, LeadUpdate, RecycleRequest, RecycleResult, ReminderList,
    ReminderQuery, ReturnRequest)

log = logging.getLogger(__name__)

# How often the recycle rule runs over every pool (seconds).
RECYCLE_INTERVAL = float(os.environ.get("LEADS_RECYCLE_INTERVAL_SECONDS", "3600") or 3600)
# Rows per page of the CSV export (each page is one RPC reply).
EXPORT_PAGE_SIZE = max(1, int(os.environ.get("LEADS_EXPORT_PAGE_SIZE", "") or application.EXPORT_PAGE_SIZE))


class LeadsService(CrmService):
    name = "leads"
    db = Database(Base)
    api_schemas = {
        "Lead": LeadOut, "LeadList": LeadList, "LeadCreate": LeadCreate, "LeadUpdate": LeadUpdate,
        "LeadListQuery": LeadListQuery, "LeadExportQuery": LeadExportQuery, "ConvertRequest": ConvertRequest,
        "AssignRequest": AssignRequest, "ReturnRequest": ReturnRequest,
        "FollowUp": FollowUpOut, "FollowUpCreate": FollowUpCreate, "FollowUpList": FollowUpList,
        "FollowUpListQuery": FollowUpListQuery, "ReminderList": ReminderList, "ReminderQuery": ReminderQuery,
        "LeadPool": LeadPoolOut, "LeadPoolCreate": LeadPoolCreate, "LeadPoolUpdate": LeadPoolUpdate,
        "LeadPoolList": LeadPoolList, "LeadPoolListQuery": LeadPoolListQuery,
        "RecycleRequest": RecycleRequest, "RecycleResult": RecycleResult, "ImportReport": ImportReport,
        "TeamMember": TeamMember, "TeamMemberSet": TeamMemberSet, "TeamList": TeamList,
        "AuditEntry": AuditEntry, "AuditList": AuditList, "HistoryQuery": HistoryQuery,
    }

    @rpc
    def create_lead(self, data):
        return application.create_lead(self.db, self.principal, data)

    @rpc
    def get_lead(self, lead_id):
        return application.get_lead(self.db, self.principal, lead_id)

    @rpc
    def list_leads(self, query):
        return application.list_leads(self.db, self.principal, query)

    @rpc
    def update_lead(self, lead_id, data, expected_version=None):
        return application.update_lead(self.db, self.principal, lead_id, data, expected_version)

    @rpc
    def delete_lead(self, lead_id, expected_version=None):
        return application.delete_lead(self.db, self.principal, lead_id, expected_version)

    @rpc
    def convert_lead(self, lead_id, data):
        return application.convert_lead(self.db, self.principal, lead_id, data)

    # -- pool actions and status changes --
    @rpc
    def assign_lead(self, lead_id, owner_id, owner_department_id=None):
        return application.assign_lead(self.db, self.principal, lead_id, owner_id, owner_department_id)

    @rpc
    def claim_lead(self, lead_id):
        return application.claim_lead(self.db, self.principal, lead_id)

    @rpc
    def return_lead(self, lead_id, reason):
        return application.return_lead(self.db, self.principal, lead_id, reason)

    @rpc
    def invalidate_lead(self, lead_id):
        return application.invalidate_lead(self.db, self.principal, lead_id)

    @rpc
    def discard_lead(self, lead_id):
        return application.discard_lead(self.db, self.principal, lead_id)

    @rpc
    def restore_lead(self, lead_id):
        return application.restore_lead(self.db, self.principal, lead_id)

    # -- follow-ups and reminders --
    @rpc
    def add_lead_follow_up(self, lead_id, data):
        return application.add_lead_follow_up(self.db, self.principal, lead_id, data)

    @rpc
    def list_lead_follow_ups(self, lead_id, query=None):
        return application.list_lead_follow_ups(self.db, self.principal, lead_id, query)

    @rpc
    def get_lead_follow_up(self, lead_id, follow_up_id):
        return application.get_lead_follow_up(self.db, self.principal, lead_id, follow_up_id)

    @rpc
    def lead_reminders(self, query=None):
        return application.lead_reminders(self.db, self.principal, query)

    # -- pools --
    @rpc
    def create_lead_pool(self, data, user_departments=None):
        return application.create_lead_pool(self.db, self.principal, data, user_departments)

    @rpc
    def get_lead_pool(self, pool_id):
        return application.get_lead_pool(self.db, self.principal, pool_id)

    @rpc
    def list_lead_pools(self, query=None):
        return application.list_lead_pools(self.db, self.principal, query)

    @rpc
    def update_lead_pool(self, pool_id, data, expected_version=None, user_departments=None):
        return application.update_lead_pool(self.db, self.principal, pool_id, data, expected_version,
                                            user_departments)

    @rpc
    def recycle_pool(self, pool_id, as_of=None):
        return application.recycle_pool(self.db, self.principal, pool_id, as_of)

    @timer(interval=RECYCLE_INTERVAL)
    def recycle_pools_periodically(self):
        """The recycle rule for every pool (``LEADS_RECYCLE_INTERVAL_SECONDS``), as the platform
        (the audit trail's and the events' actor is ``leads``)."""
        principal_var.set(Principal.system(self.name))
        try:
            done = application.recycle_all_pools(self.db)
        except Exception:  # the next tick tries again; never kill the timer
            log.exception("periodic lead recycling failed")
            return
        if done:
            log.info("recycled leads", extra={"recycled": {k: len(v) for k, v in done.items()}})

    # -- import / export --
    @rpc
    def import_leads(self, csv_text, pool_id=None):
        return application.import_leads(self.db, self.principal, csv_text, pool_id)

    @rpc
    def export_leads_page(self, query=None, cursor=None):
        return application.export_leads_page(self.db, self.principal, query, cursor, EXPORT_PAGE_SIZE)

    # -- team and history --
    @rpc
    def list_lead_team(self, lead_id):
        return application.list_lead_team(self.db, self.principal, lead_id)

    @rpc
    def set_lead_team_member(self, lead_id, user_id, access):
        return application.set_lead_team_member(self.db, self.principal, lead_id, user_id, access)

    @rpc
    def remove_lead_team_member(self, lead_id, user_id):
        return application.remove_lead_team_member(self.db, self.principal, lead_id, user_id)

    @rpc
    def lead_history(self, lead_id, query=None):
        return application.lead_history(self.db, self.principal, lead_id, query)

    @event_handler("customers", "customer_converted_from_lead")
    def handle_customer_converted_from_lead(self, envelope):
        application.record_conversion(self.db, envelope)

    @event_handler("customers", "customer_deleted")
    def handle_customer_deleted(self, envelope):
        application.record_customer_deleted(self.db, envelope)

    @event_handler("customers", "contact_deleted")
    def handle_contact_deleted(self, envelope):
        application.record_contact_deleted(self.db, envelope)
