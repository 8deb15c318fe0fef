"""The entrypoints of the customers' portal: what a customer does through a signed one-time link
(no principal: the link is the authority, checked by ``application.portal``), and the links staff
hand out."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import rpc
from services.support.application import portal


class PortalEntrypoints:
    """(``SupportService`` derives from it: its methods are the service's entrypoints.)"""

    # A customer's calls: nobody is signed in; the token is checked (forged 401, wrong purpose or
    # record 403, expired or used 410) before anything is read or written.
    @rpc(principal=False)
    def portal_ticket(self, token):
        return portal.portal_ticket(self.db, token)

    @rpc(principal=False)
    def portal_reply(self, token, data):
        return portal.portal_reply(self.db, token, data)

    @rpc(principal=False)
    def portal_open_ticket(self, token, data):
        return portal.portal_open_ticket(self.db, token, data)

    @rpc(principal=False)
    def portal_survey(self, token, data):
        return portal.portal_survey(self.db, token, data)

    @rpc
    def create_ticket_link(self, ticket_id, data):
        return portal.create_ticket_link(self.db, self.principal, ticket_id, data)

    @rpc
    def create_portal_link(self, data):
        return portal.create_portal_link(self.db, self.principal, data)
