"""The billing nameko service: its dependencies and API schemas (here), and its entrypoints, by
subject, in ``entrypoints/`` (thin adapters from RPC / events / jobs to ``application``).
Billing: receivables with payment plans, payments under finance review, refunds, invoices, dunning and
the aging report."""
from __future__ import annotations

from crm_kit.records import audit
from crm_kit.records.schemas import api_schemas
from crm_kit.runtime.dependencies import Database
from crm_kit.runtime.service import CrmService
from services.billing import entrypoints, schemas
from services.billing.models import Base


class BillingService(*entrypoints.classes(), CrmService):
    name = "billing"
    db = Database(Base)
    # every schema of schemas/ (public names: PaymentOut -> Payment), and the kit's history schemas
    api_schemas = api_schemas(*schemas.modules(), audit)
