"""The webhooks service's routes: subscriptions of receivers outside the cluster (admins only), their
delivery log and replays. The secret is in the answer of the create and of the rotation only."""
from __future__ import annotations

from gateway.routes.model import Route, body, query, version

BASE = "/api/v1/webhooks"
ONE = f"{BASE}/<subscription_id>"
TAG = "webhooks"

ROUTES = (
    Route("GET", BASE, "webhooks", "list_webhook_subscriptions", "List webhook subscriptions (admins)", TAG,
          (query(),), response="webhooks.WebhookSubscriptionList",
          query_schema="webhooks.WebhookSubscriptionListQuery"),
    Route("POST", BASE, "webhooks", "create_webhook_subscription",
          "Subscribe a receiver to events (admins; the signing secret is shown in this answer only)", TAG,
          (body(),), status=201, location=f"{BASE}/{{id}}", request="webhooks.WebhookSubscriptionCreate",
          response="webhooks.WebhookSubscriptionWithSecret",
          description="Deliveries are POSTs of the event envelope (docs/events), signed as the Standard "
                      "Webhooks specification says: `webhook-id` (the event id: dedupe on it), "
                      "`webhook-timestamp`, `webhook-signature` (`v1,<base64 HMAC-SHA256 of "
                      "\"{id}.{timestamp}.{body}\">` keyed with the base64 key after `whsec_`). URLs whose "
                      "host resolves to a private, loopback or link-local address are refused (422) unless "
                      "the operator allows them."),
    Route("GET", ONE, "webhooks", "get_webhook_subscription", "Read a webhook subscription (admins)", TAG,
          response="webhooks.WebhookSubscription"),
    Route("PATCH", ONE, "webhooks", "update_webhook_subscription",
          "Update a webhook subscription (admins; If-Match: version); active again clears its failures", TAG,
          (body(), version()), request="webhooks.WebhookSubscriptionUpdate", response="webhooks.WebhookSubscription"),
    Route("DELETE", ONE, "webhooks", "delete_webhook_subscription",
          "Delete a webhook subscription and its pending deliveries (admins; If-Match: version)", TAG,
          (version(),), status=204),
    Route("POST", f"{ONE}/rotate-secret", "webhooks", "rotate_webhook_secret",
          "A new signing secret, shown in this answer only; the old one signs beside it for a day (admins)", TAG,
          (version(),), response="webhooks.WebhookSubscriptionWithSecret"),
    Route("GET", f"{ONE}/deliveries", "webhooks", "list_webhook_deliveries",
          "The delivery log: deliveries newest first, each with its attempts (status, response time)", TAG,
          (query(),), response="webhooks.WebhookDeliveryList", query_schema="webhooks.WebhookDeliveryListQuery"),
    Route("POST", f"{ONE}/replay", "webhooks", "replay_webhook_events",
          "Deliver again every stored event of the subscription's types that occurred in [from, to) (admins)",
          TAG, (body(),), status=202, request="webhooks.WebhookReplayRequest", response="webhooks.WebhookReplay"),
)
