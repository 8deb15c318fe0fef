"""The sales nameko service: its dependencies and API schemas (here), and its entrypoints, by
subject, in ``entrypoints/`` (thin adapters from RPC / events / jobs to ``application``)."""
from __future__ import annotations

from crm_kit.records import audit, team_members
from crm_kit.records.schemas import api_schemas
from crm_kit.runtime.dependencies import Database
from crm_kit.runtime.service import CrmService
from crm_kit.runtime.work_job_runner import WorkJobService
from services.sales import entrypoints, schemas
from services.sales.dependencies import OrgDirectory
from services.sales.models import Base


class SalesService(*entrypoints.classes(), WorkJobService, CrmService):
    name = "sales"
    db = Database(Base)
    org = OrgDirectory()    # self.org(): the organisation (gateway.org_chart), for approvals and reopen rights
    # every schema of schemas/ (public names: OrderOut -> Order), and the kit's history and team schemas
    api_schemas = api_schemas(*schemas.modules(), audit, team_members)
