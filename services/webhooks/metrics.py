"""The webhooks service's own Prometheus metrics (beside the kit's)."""
from prometheus_client import Counter, Histogram

ATTEMPTS = Counter("crm_webhook_attempts_total", "Delivery attempts, by outcome (succeeded|failed).", ["outcome"])
ATTEMPT_DURATION = Histogram(
    "crm_webhook_attempt_duration_seconds", "Time from connecting to the receiver's response.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
DELIVERY_LAG = Histogram(
    "crm_webhook_delivery_lag_seconds", "From the event's occurred_at to its delivery's success.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600, 86400))
DISABLED = Counter("crm_webhook_subscriptions_disabled_total", "Subscriptions disabled by a run of failures.")
