"""The entrypoints of customers and contacts as records: CRUD, team, history, and the
``lead_converted`` handler (thin: each hands the unit of work and the caller to ``application``)."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import event_handler, rpc
from services.customers import application
from services.customers.events import LeadConverted


class RecordsEntrypoints:
    # -- customers -----------------------------------------------------------
    @rpc
    def create_customer(self, data):
        return application.create_customer(self.db, self.principal, data)

    @rpc
    def get_customer(self, customer_id):
        return application.get_customer(self.db, self.principal, customer_id)

    @rpc
    def list_customers(self, query):
        return application.list_customers(self.db, self.principal, query)

    @rpc
    def update_customer(self, customer_id, data, expected_version=None):
        return application.update_customer(self.db, self.principal, customer_id, data, expected_version)

    @rpc
    def delete_customer(self, customer_id, expected_version=None):
        return application.delete_customer(self.db, self.principal, customer_id, expected_version)

    @rpc
    def list_customer_contacts(self, customer_id):
        return application.list_contacts_of(self.db, self.principal, customer_id)

    @rpc
    def list_customer_team(self, customer_id):
        return application.list_customer_team(self.db, self.principal, customer_id)

    @rpc
    def set_customer_team_member(self, customer_id, user_id, access):
        return application.set_customer_team_member(self.db, self.principal, customer_id, user_id, access)

    @rpc
    def remove_customer_team_member(self, customer_id, user_id):
        return application.remove_customer_team_member(self.db, self.principal, customer_id, user_id)

    @rpc
    def customer_history(self, customer_id, query=None):
        return application.customer_history(self.db, self.principal, customer_id, query)

    # -- contacts --------------------------------------------------------------
    @rpc
    def create_contact(self, data):
        return application.create_contact(self.db, self.principal, data)

    @rpc
    def get_contact(self, contact_id):
        return application.get_contact(self.db, self.principal, contact_id)

    @rpc
    def list_contacts(self, query):
        return application.list_contacts(self.db, self.principal, query)

    @rpc
    def update_contact(self, contact_id, data, expected_version=None):
        return application.update_contact(self.db, self.principal, contact_id, data, expected_version)

    @rpc
    def delete_contact(self, contact_id, expected_version=None):
        return application.delete_contact(self.db, self.principal, contact_id, expected_version)

    @rpc
    def contact_history(self, contact_id, query=None):
        return application.contact_history(self.db, self.principal, contact_id, query)

    @event_handler("leads", "lead_converted", payload=LeadConverted)
    def handle_lead_converted(self, lead):
        application.on_lead_converted(self.db, lead)
