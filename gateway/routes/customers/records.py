"""The customers service's routes for customers and contacts as records (CRUD, team, history)."""
from __future__ import annotations

from dataclasses import replace  # noqa: F401

from gateway.routes.model import (  # noqa: F401
                                  Route,
                                  body,
                                  crud,
                                  csv,
                                  cursor,
                                  field,
                                  query,
                                  query_param,
                                  record_extras,
                                  user_lists,
                                  users,
                                  version,
)

ROUTES = (
    *crud("customers", "/api/v1/customers", "customer_id", "customers", "customer", "customers", "Customer",
           delete=True),
    Route("GET", "/api/v1/customers/<customer_id>/contacts", "customers", "list_customer_contacts",
          "List a customer's contacts", "customers", response="customers.ContactList"),
    *record_extras("customers", "/api/v1/customers/<customer_id>", "customer"),
    *crud("customers", "/api/v1/contacts", "contact_id", "customers", "contact", "contacts", "Contact",
           delete=True),
    Route("GET", "/api/v1/contacts/<contact_id>/history", "customers", "contact_history",
          "Who changed this contact, when, and what", "customers", (query(),), response="customers.AuditList",
          query_schema="customers.HistoryQuery"),
)
