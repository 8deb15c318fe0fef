"""The gateway's side of long work as jobs (``crm_kit.runtime.work_jobs``): starting a job on the
service that owns the work, and ``/api/v1/jobs`` (read, list, cancel, the result).

**Where a job lives.** The owning service runs it and keeps it in its own database: the job row,
the uploaded file, each batch's progress and report. The gateway stores nothing: an import's file
(the request body) is handed over to the service in parts of at most
``crm_kit.runtime.work_jobs.INPUT_PART_CHARS`` characters (one RPC each, ``append_work_job_input``,
idempotent per part), then submitted (``submit_work_job``: the service checks the header and
queues the job). So a job survives a restart of the gateway and of its service, and any replica of
the service (a pod of its own) can run or resume it. A gateway killed mid-upload leaves a job
``uploading``: it is listed and can be cancelled, and the service's rule ``upload_timeout``
(``crm_kit.runtime.work_job_housekeeping``) fails it an hour later.

**Which service owns a job**: its id says (``<service>-<uuid>``, :func:`job_service`); an id naming
no service that runs jobs is 404. ``GET /api/v1/jobs`` asks every such service (``JOB_SERVICES``)
in parallel and merges their lists, newest first. A user sees their own jobs, an admin everyone's
(the services decide, from the principal).
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_kit.context import Principal
from crm_kit.errors import NotFound, ServiceUnavailable
from crm_kit.records.schemas import load
from crm_kit.runtime.work_jobs import INPUT_PART_CHARS, STATES, job_service

JOB_SERVICES = ("leads", "customers", "sales")          # the services that run jobs (a @work_job kind)
LIST_DEADLINE_SECONDS = 5.0


def _owner(job_id: str) -> str:
    service = job_service(job_id)
    if service not in JOB_SERVICES:
        raise NotFound.of("job", str(job_id)[:80])
    return service


def start_with_file(services, service: str, kind: str, csv_text: str, params: dict | None = None) -> dict:
    """A job whose input is the uploaded file: created, the file handed over in parts, submitted."""
    rpc = getattr(services, service)
    job = rpc.start_work_job(kind=kind, params=params or {}, with_input=True)
    parts = [csv_text[i:i + INPUT_PART_CHARS] for i in range(0, len(csv_text), INPUT_PART_CHARS)] or [""]
    for seq, text in enumerate(parts):
        rpc.append_work_job_input(job_id=job["id"], seq=seq, text=text)
    return rpc.submit_work_job(job_id=job["id"], parts=len(parts))


def leads_import_job(services, principal: Principal, csv_text: str) -> dict:
    return start_with_file(services, "leads", "import_leads", csv_text)


def leads_export_job(services, principal: Principal, query: dict) -> dict:
    return services.leads.start_work_job(kind="export_leads", params={"query": query}, with_input=False)


def customers_import_job(services, principal: Principal, csv_text: str, pool_id: str | None = None,
                         mapping: str | None = None) -> dict:
    params = {k: v for k, v in (("pool_id", pool_id), ("mapping", mapping)) if v is not None}
    return start_with_file(services, "customers", "import_customers", csv_text, params)


def customers_export_job(services, principal: Principal, query: dict) -> dict:
    return services.customers.start_work_job(kind="export_customers", params={"query": query}, with_input=False)


def customers_bulk_assign_job(services, principal: Principal, data: dict, owner_department_id=None) -> dict:
    params = {"customer_ids": data.get("customer_ids"), "owner_id": data.get("owner_id"),
              "owner_department_id": owner_department_id}
    return services.customers.start_work_job(kind="bulk_assign_customers", params=params, with_input=False)


def products_import_job(services, principal: Principal, csv_text: str, mode: str | None = None) -> dict:
    return start_with_file(services, "sales", "import_products", csv_text, {"mode": mode} if mode else {})


def products_export_job(services, principal: Principal, query: dict) -> dict:
    return services.sales.start_work_job(kind="export_products", params={"query": query}, with_input=False)


def get_job(services, principal: Principal, job_id: str) -> dict:
    return getattr(services, _owner(job_id)).get_work_job(job_id=job_id)


def cancel_job(services, principal: Principal, job_id: str) -> dict:
    return getattr(services, _owner(job_id)).cancel_work_job(job_id=job_id)


def job_result_page(services, principal: Principal, job_id: str, cursor: str | None = None) -> dict:
    return getattr(services, _owner(job_id)).work_job_result_page(job_id=job_id, cursor=cursor)


def list_jobs(services, principal: Principal, query: dict) -> dict:
    """The caller's jobs (an admin: everyone's) from every service that runs jobs, newest first; a
    service that does not answer in time makes the list a 503 (a partial list would hide jobs)."""
    params = load(JobListQuery(), query or {})
    calls = {service: (lambda s: lambda: getattr(services, s).list_work_jobs(
        limit=params["limit"], state=params.get("state")))(service) for service in JOB_SERVICES}
    outcomes = services.fanout(calls, LIST_DEADLINE_SECONDS)
    items = []
    for service, outcome in outcomes.items():
        if not outcome.available:
            raise ServiceUnavailable(f"The {service} service did not list its jobs.", {"service": service})
        items.extend(outcome.value["items"])
    items.sort(key=lambda job: job["created_at"], reverse=True)
    return {"items": items[:params["limit"]], "next_cursor": None}


class JobListQuery(Schema):
    """The list's filters: ``state``, and ``limit`` (the newest jobs, at most 200)."""
    state = fields.String(validate=validate.OneOf(STATES), metadata={"description": "Only jobs in this state."})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200),
                           metadata={"description": "The newest jobs, at most this many (default 50)."})


class JobProgress(Schema):
    done = fields.Integer(required=True, metadata={"description": "Rows (or records) done so far."})
    total = fields.Integer(allow_none=True, metadata={"description": "Rows to do, once known."})
    percent = fields.Float(allow_none=True)
    rate_per_second = fields.Float(allow_none=True, metadata={"description": "Rows a second since it started."})
    eta_seconds = fields.Float(allow_none=True, metadata={"description": "Seconds left at that rate (running)."})


class JobError(Schema):
    row = fields.Integer(metadata={"description": "The CSV line number."})
    outcome = fields.String()
    errors = fields.Dict()


class Job(Schema):
    """A long piece of work (an import, an export) run by the service that owns it, in batches."""
    id = fields.String(required=True, metadata={"description": "`<service>-<uuid>`."})
    kind = fields.String(required=True, metadata={"description": "import_leads, export_leads, import_customers, "
                                                                 "export_customers."})
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    owner_id = fields.String(required=True)
    params = fields.Dict()
    progress = fields.Nested(JobProgress, required=True)
    counts = fields.Dict(metadata={"description": "An import: created, duplicates, invalid; an export: exported."})
    errors = fields.List(fields.Nested(JobError), metadata={"description": "The first rows that failed (the "
                                                                          "result has them all)."})
    cancel_requested = fields.Boolean()
    attempts = fields.Integer(metadata={"description": "Runs so far (more than 1: resumed after a restart)."})
    summary = fields.Dict(allow_none=True)
    error = fields.String(allow_none=True, metadata={"description": "Why it failed (the batches done stay)."})
    created_at = fields.String(required=True)
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    result_url = fields.String(allow_none=True, metadata={"description": "Once finished: the per-row report "
                                                                         "or the exported file (CSV)."})


class JobList(Schema):
    items = fields.List(fields.Nested(Job), required=True)
    next_cursor = fields.String(allow_none=True)


GATHERED = {
    "leads_import_job": leads_import_job,
    "leads_export_job": leads_export_job,
    "customers_import_job": customers_import_job,
    "customers_export_job": customers_export_job,
    "customers_bulk_assign_job": customers_bulk_assign_job,
    "products_import_job": products_import_job,
    "products_export_job": products_export_job,
    "get_job": get_job,
    "list_jobs": list_jobs,
    "cancel_job": cancel_job,
    "job_result_page": job_result_page,
}
