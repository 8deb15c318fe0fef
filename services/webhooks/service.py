"""The webhooks nameko service: its dependencies and API schemas (here), and its entrypoints, by
subject, in ``entrypoints/`` (thin adapters from RPC / events / jobs to ``application``).
Webhooks: signed deliveries of every event to subscribed receivers outside the cluster."""
from __future__ import annotations

from crm_kit.records import audit
from crm_kit.records.schemas import api_schemas
from crm_kit.runtime.dependencies import Database
from crm_kit.runtime.service import CrmService
from services.webhooks import entrypoints, schemas
from services.webhooks.models import Base


class WebhooksService(*entrypoints.classes(), CrmService):
    name = "webhooks"
    db = Database(Base)
    api_schemas = api_schemas(*schemas.modules(), audit)
