"""Prometheus metrics shared by every service (names are a contract with the
dashboards and alert rules in deploy/; change them together)."""
from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

RPC_REQUESTS = Counter(
    "crm_rpc_requests_total", "RPC calls handled, by outcome (success|client_error|server_error).",
    ["service", "method", "outcome"])
RPC_DURATION = Histogram(
    "crm_rpc_request_duration_seconds", "RPC handling time.", ["service", "method"],
    buckets=LATENCY_BUCKETS)

EVENT_MESSAGES = Counter(
    "crm_event_handler_messages_total",
    "Event deliveries handled, by outcome (processed|duplicate|retried|dead_lettered).",
    ["service", "handler", "event_type", "outcome"])
EVENT_DURATION = Histogram(
    "crm_event_handler_duration_seconds", "Event handler time per attempt.", ["service", "handler"],
    buckets=LATENCY_BUCKETS)
DEAD_LETTERED = Counter(
    "crm_dead_lettered_messages_total", "Messages parked in a dead-letter queue.",
    ["service", "handler"])

OUTBOX_PENDING = Gauge("crm_outbox_pending", "Outbox rows not yet confirmed by the broker.", ["service"])
OUTBOX_OLDEST_AGE = Gauge("crm_outbox_oldest_pending_age_seconds",
                          "Age of the oldest unpublished outbox row (0 when empty).", ["service"])
EVENTS_PUBLISHED = Counter("crm_events_published_total", "Events confirmed by the broker.",
                           ["service", "event_type"])
OUTBOX_FAILURES = Counter("crm_outbox_publish_failures_total", "Failed outbox publish attempts.",
                          ["service"])

QUEUE_MESSAGES = Gauge("crm_queue_messages", "Ready messages in a queue this service consumes (lag).",
                       ["service", "queue"])
DLQ_MESSAGES = Gauge("crm_dead_letter_queue_messages", "Messages parked in a dead-letter queue.",
                     ["service", "queue"])

# Periodic jobs (crm_kit.runtime.jobs). The label is job_name: `job` is Prometheus's scrape job.
JOB_RUNS = Counter("crm_periodic_job_runs_total",
                   "Periodic job runs by this process, by trigger (schedule|manual) and outcome (succeeded|failed).",
                   ["service", "job_name", "trigger", "outcome"])
JOB_DURATION = Histogram("crm_periodic_job_duration_seconds", "Periodic job run time.", ["service", "job_name"],
                         buckets=LATENCY_BUCKETS + (60, 300, 900))
JOB_LAST_SUCCESS = Gauge("crm_periodic_job_last_success_timestamp_seconds",
                         "When a run of the job last succeeded, on any replica (Unix time; absent until one has).",
                         ["service", "job_name"])
JOB_LATENESS = Gauge("crm_periodic_job_lateness_seconds",
                     "Seconds since the first scheduled period without a successful run began (0 while the "
                     "current period's run has succeeded).", ["service", "job_name"])

# Work jobs (crm_kit.runtime.work_jobs): long work a user asked for (imports, exports, bulk actions).
WORK_JOB_ATTEMPTS = Counter("crm_work_job_attempts_total",
                            "Work job attempts ended by this process, by kind and outcome "
                            "(succeeded|failed|cancelled|given_back).", ["service", "kind", "outcome"])
WORK_JOB_ROWS = Counter("crm_work_job_rows_total", "Rows (records) work jobs did in this process.", ["service", "kind"])
WORK_JOB_DURATION = Histogram("crm_work_job_attempt_duration_seconds", "Work job attempt run time.",
                              ["service", "kind"], buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 10800))
WORK_JOBS = Gauge("crm_work_jobs", "Work jobs in the service's table by state (read every few seconds).",
                  ["service", "state"])
WORK_JOB_OLDEST_QUEUED_AGE = Gauge("crm_work_job_oldest_queued_age_seconds",
                                   "Age of the oldest queued work job (0 when none waits): none of the "
                                   "service's replicas is taking jobs when it grows.", ["service"])

HTTP_REQUESTS = Counter("crm_http_requests_total", "Gateway HTTP requests.", ["route", "method", "status"])
HTTP_DURATION = Histogram("crm_http_request_duration_seconds", "Gateway HTTP request time.",
                          ["route", "method"], buckets=LATENCY_BUCKETS)
RPC_CLIENT_CALLS = Counter("crm_rpc_client_calls_total", "RPC calls made by the gateway, by outcome.",
                           ["target", "method", "outcome"])
