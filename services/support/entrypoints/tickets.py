"""The entrypoints of tickets: open, read, list, update, the status machine's actions, assignment,
the arrival, comments and history (thin: each hands the unit of work and the caller to ``application``)."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import rpc
from services.support.application import actions, comments, tickets


class TicketsEntrypoints:
    """(``SupportService`` derives from it: its methods are the service's entrypoints.)"""

    @rpc
    def create_ticket(self, data):
        return tickets.create_ticket(self.db, self.principal, data)

    @rpc
    def get_ticket(self, ticket_id):
        return tickets.get_ticket(self.db, self.principal, ticket_id)

    @rpc
    def list_tickets(self, query=None):
        return tickets.list_tickets(self.db, self.principal, query)

    @rpc
    def update_ticket(self, ticket_id, data, expected_version=None):
        return tickets.update_ticket(self.db, self.principal, ticket_id, data, expected_version)

    @rpc
    def ticket_history(self, ticket_id, query=None):
        return tickets.ticket_history(self.db, self.principal, ticket_id, query)

    @rpc
    def assign_ticket(self, ticket_id, data=None):
        return actions.assign_ticket(self.db, self.principal, ticket_id, data)

    @rpc
    def start_ticket(self, ticket_id, data=None):
        return actions.start_ticket(self.db, self.principal, ticket_id, data)

    @rpc
    def wait_on_customer(self, ticket_id, data=None):
        return actions.wait_on_customer(self.db, self.principal, ticket_id, data)

    @rpc
    def resume_ticket(self, ticket_id, data=None):
        return actions.resume_ticket(self.db, self.principal, ticket_id, data)

    @rpc
    def resolve_ticket(self, ticket_id, data=None):
        return actions.resolve_ticket(self.db, self.principal, ticket_id, data)

    @rpc
    def close_ticket(self, ticket_id, data=None):
        return actions.close_ticket(self.db, self.principal, ticket_id, data)

    @rpc
    def reopen_ticket(self, ticket_id, data=None):
        return actions.reopen_ticket(self.db, self.principal, ticket_id, data)

    @rpc
    def record_arrival(self, ticket_id, data=None):
        return actions.record_arrival(self.db, self.principal, ticket_id, data)

    @rpc
    def add_ticket_comment(self, ticket_id, data):
        return comments.add_ticket_comment(self.db, self.principal, ticket_id, data)

    @rpc
    def list_ticket_comments(self, ticket_id, query=None):
        return comments.list_ticket_comments(self.db, self.principal, ticket_id, query)
