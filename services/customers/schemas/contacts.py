"""A contact: what creating and editing one accepts. Defined with the customer's schemas
(``records``: a customer may be created with its contacts); here under their subject's name."""
from __future__ import annotations

from services.customers.schemas.records import ContactCreate, ContactUpdate  # noqa: F401
