"""The entrypoints of webhook subscriptions, their delivery log and replays (admins)."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import rpc
from services.webhooks.application import deliveries, subscriptions


class SubscriptionsEntrypoints:
    """(``WebhooksService`` derives from it: its methods are the service's entrypoints.)"""

    @rpc
    def create_webhook_subscription(self, data):
        return subscriptions.create_webhook_subscription(self.db, self.principal, data)

    @rpc
    def list_webhook_subscriptions(self, query=None):
        return subscriptions.list_webhook_subscriptions(self.db, self.principal, query)

    @rpc
    def get_webhook_subscription(self, subscription_id):
        return subscriptions.get_webhook_subscription(self.db, self.principal, subscription_id)

    @rpc
    def update_webhook_subscription(self, subscription_id, data, expected_version=None):
        return subscriptions.update_webhook_subscription(self.db, self.principal, subscription_id, data,
                                                         expected_version)

    @rpc
    def delete_webhook_subscription(self, subscription_id, expected_version=None):
        return subscriptions.delete_webhook_subscription(self.db, self.principal, subscription_id, expected_version)

    @rpc
    def rotate_webhook_secret(self, subscription_id, expected_version=None):
        return subscriptions.rotate_webhook_secret(self.db, self.principal, subscription_id, expected_version)

    @rpc
    def list_webhook_deliveries(self, subscription_id, query=None):
        return deliveries.list_webhook_deliveries(self.db, self.principal, subscription_id, query)

    @rpc
    def replay_webhook_events(self, subscription_id, data):
        return deliveries.replay_webhook_events(self.db, self.principal, subscription_id, data)
