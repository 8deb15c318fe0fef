"""crm_kit: the shared service kit every bounded context builds on (no context's own business rules).

A service imports ``crm_kit`` and its own package, never another service. Where things are:

- ``crm_kit.config``, ``errors``, ``context``, ``ids``: what everything needs -- settings from the
  environment, the typed errors that cross RPC, who is asking and which request (and its
  deadline), ids.
- ``crm_kit.runtime``: how a service runs on nameko -- the service base (``service``), its
  entrypoints (``entrypoints``: RPC, event handlers), its dependencies (``dependencies``: the
  database and unit of work, the request context), the unit of work (``uow``), the transactional
  outbox (``outbox``), RabbitMQ topology and confirming publisher (``amqp``), the RPC client with
  deadlines (``rpc_client``), event types and envelopes (``events``), periodic jobs that run once
  per period across replicas (``jobs``, their claims ``job_runs``, dry runs ``preview``), long
  work a user asked for as jobs with progress, in batches that resume after a restart
  (``work_jobs``, run by ``work_job_runner``: not the periodic ones), what
  counts as an outage (``transient``), an import's overlapped CPU and database work
  (``pipeline``), metrics, JSON logs and health (``metrics``, ``logging``, ``observability``).
- ``crm_kit.records``: what use cases do with their records -- tables and column types (``db``),
  data scopes (``scopes``), teams (``teams``, and their use cases ``team_members``), the audit
  trail (``audit``), keyset pagination (``pagination``), optimistic versions (``versioning``),
  marshmallow helpers (``schemas``) and their JSON Schema (``jsonschema``), phone and name
  normalisation (``text``), CSV files in and out (``csv_files``) and rows validated in bulk
  (``text_rows``).
- ``crm_kit.rules``: the few rules several contexts' domains apply alike, as plain functions (a
  public pool's claim limits, ``pool_claims``: leads' pools and customers' 公海).
- ``crm_kit.ops``: what operators run -- the ``crm`` command (``cli``), serving one process
  (``runner``), the whole platform locally (``local``), migrations (``migrations``, the kit's own
  tables' revisions in ``kit_migrations/``), bringing a service up to date (``provision``),
  dead letters (``dead_letters``), periodic jobs run now or listed (``jobs``: ``crm jobs``), an
  import or export run as a job over HTTP with a progress bar (``client_import``: ``crm import``), the
  event catalogue (``catalogue``), what a service consumes (``topology``).
"""
