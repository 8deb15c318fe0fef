"""The customers nameko service: its dependencies and API schemas (here), and its entrypoints, by
subject, in ``entrypoints/`` (thin adapters from RPC / events / jobs to ``application``)."""
from __future__ import annotations

from crm_kit.records import audit, team_members
from crm_kit.records.schemas import api_schemas
from crm_kit.runtime.dependencies import Database
from crm_kit.runtime.service import CrmService
from crm_kit.runtime.work_job_runner import WorkJobService
from services.customers import schemas
from services.customers.entrypoints.billing_facts import BillingFactsEntrypoints
from services.customers.entrypoints.follow_ups import FollowUpsEntrypoints
from services.customers.entrypoints.imports import ImportsEntrypoints
from services.customers.entrypoints.merge import MergeEntrypoints
from services.customers.entrypoints.pools import PoolsEntrypoints
from services.customers.entrypoints.records import RecordsEntrypoints
from services.customers.entrypoints.sales_facts import SalesFactsEntrypoints
from services.customers.models import Base


class CustomersService(RecordsEntrypoints, PoolsEntrypoints, FollowUpsEntrypoints, MergeEntrypoints,
                       ImportsEntrypoints, SalesFactsEntrypoints, BillingFactsEntrypoints, WorkJobService, CrmService):
    name = "customers"
    db = Database(Base)
    # every schema of schemas/ (public names: CustomerOut -> Customer), and the kit's history and team schemas
    api_schemas = api_schemas(*schemas.modules(), audit, team_members)
