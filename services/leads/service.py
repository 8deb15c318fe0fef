"""The leads nameko service: thin adapters from RPC/events/timers to ``application``."""
from __future__ import annotations

import logging
import os

from crm_kit.records import audit, team_members
from crm_kit.records.schemas import api_schemas
from crm_kit.runtime.dependencies import Database
from crm_kit.runtime.entrypoints import event_handler, rpc
from crm_kit.runtime.jobs import periodic
from crm_kit.runtime.service import CrmService
from crm_kit.runtime.work_job_runner import WorkJobService, work_job
from services.leads import application, schemas
from services.leads.events import ContactDeleted, CustomerConvertedFromLead, CustomerDeleted, CustomersMerged
from services.leads.models import Base

log = logging.getLogger(__name__)

# How often the recycle rule runs over every pool (seconds): once a period across every replica.
RECYCLE_INTERVAL = float(os.environ.get("LEADS_RECYCLE_INTERVAL_SECONDS", "3600") or 3600)
# Rows per page of the CSV export (each page is one RPC reply).
EXPORT_PAGE_SIZE = max(1, int(os.environ.get("LEADS_EXPORT_PAGE_SIZE", "") or application.EXPORT_PAGE_SIZE))


class LeadsService(WorkJobService, CrmService):
    name = "leads"
    db = Database(Base)
    # every schema of schemas.py (public names: LeadOut -> Lead), and the kit's history and team schemas
    api_schemas = api_schemas(schemas, audit, team_members)

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

    @periodic("recycle_pools", every=RECYCLE_INTERVAL)
    def recycle_pools_periodically(self, as_of):
        """The recycle rule for every pool as of ``as_of``, once per ``LEADS_RECYCLE_INTERVAL_SECONDS``
        across the replicas, as the platform (audit and event actor ``leads``, request id
        ``job:recycle_pools:<run id>``); a failure is retried within the period (``crm_kit.runtime.jobs``;
        ``run_job("recycle_pools", as_of, dry_run)`` runs it now)."""
        return {"recycled": application.recycle_all_pools(self.db, as_of)}

    # -- import / export --
    @rpc
    def import_leads(self, csv_text, pool_id=None):
        return application.import_leads(self.db, self.principal, csv_text, pool_id)

    @rpc
    def export_leads_page(self, query=None, cursor=None):
        return application.export_leads_page(self.db, self.principal, query, cursor, EXPORT_PAGE_SIZE)

    # -- long work as jobs (crm_kit.runtime.work_jobs; the gateway's /api/v1/jobs) --
    @work_job("import_leads", check=application.check_import)
    def import_leads_job(self, job):
        return application.import_leads_job(self.db, self.principal, job)

    @work_job("export_leads", check=application.check_export)
    def export_leads_job(self, job):
        return application.export_leads_job(self.db, self.principal, job)

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

    @event_handler("customers", "customer_converted_from_lead", payload=CustomerConvertedFromLead)
    def handle_customer_converted_from_lead(self, answer):
        application.record_conversion(self.db, answer)

    @event_handler("customers", "customer_deleted", payload=CustomerDeleted)
    def handle_customer_deleted(self, deleted):
        application.record_customer_deleted(self.db, deleted)

    @event_handler("customers", "contact_deleted", payload=ContactDeleted)
    def handle_contact_deleted(self, deleted):
        application.record_contact_deleted(self.db, deleted)

    @event_handler("customers", "customers_merged", payload=CustomersMerged)
    def handle_customers_merged(self, merged):
        application.record_customers_merged(self.db, merged)
