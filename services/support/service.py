"""The support nameko service: its dependencies and API schemas (here), and its entrypoints, by
subject, in ``entrypoints/`` (thin adapters from RPC / events / jobs to ``application``).
Support: tickets, routing to agents, SLA clocks and their timer."""
from __future__ import annotations

from crm_kit.records import audit
from crm_kit.records.schemas import api_schemas
from crm_kit.runtime.dependencies import Database
from crm_kit.runtime.service import CrmService
from services.support import entrypoints, schemas
from services.support.models import Base


class SupportService(*entrypoints.classes(), CrmService):
    name = "support"
    db = Database(Base)
    # every schema of schemas/ (public names: TicketOut -> Ticket), and the kit's history schemas
    api_schemas = api_schemas(*schemas.modules(), audit)
