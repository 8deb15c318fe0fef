"""Long work as jobs (``gateway.jobs``, ``crm_kit.runtime.work_jobs``): starting an import or an
export as a job (202 with the job's URL), and ``/api/v1/jobs``: read one (state, progress, rate,
ETA, errors so far), list mine, cancel, download the result."""
from __future__ import annotations

from gateway.routes.model import Route, body, csv, cursor, query, query_param, users

_JOB_DOC = ("The job runs on the service that owns the work, in batches of 1,000 rows, each committed with its "
            "progress and per-row report: poll `GET /api/v1/jobs/{id}` (state, progress done/total, rate, ETA, "
            "the first errors), cancel with `POST /api/v1/jobs/{id}/cancel` (it stops at the next batch "
            "boundary; what was done stays), download `GET /api/v1/jobs/{id}/result` once it has finished. A "
            "restart of the service resumes it after its last committed batch, applying no row twice.")

ROUTES = (
    Route("POST", "/api/v1/leads/import-jobs", "gateway", "leads_import_job",
          "Import leads from CSV of any size as a job (202: poll the job's URL)", "jobs", (csv(),),
          status=202, location="/api/v1/jobs/{id}", response="gateway.Job", description=(
              "The same file and per-row report as `POST /api/v1/leads/import` (which stays, for files of at "
              "most 5,000 rows), without a size limit but the service's (1,000,000 rows). A bad header is a "
              "422 here, before the job is queued. Pool imports (`pool_id`) are synchronous only. " + _JOB_DOC)),
    Route("POST", "/api/v1/leads/export-jobs", "gateway", "leads_export_job",
          "Export leads as CSV as a job (202: poll the job's URL, then download its result)", "jobs", (query(),),
          status=202, location="/api/v1/jobs/{id}", response="gateway.Job",
          query_schema="leads.LeadExportQuery", description=(
              "The filters of `GET /api/v1/leads/export`; the file, judged as of the job's start, is the "
              "result. " + _JOB_DOC)),
    Route("POST", "/api/v1/customers/import-jobs", "gateway", "customers_import_job",
          "Import customers with their contacts from CSV of any size as a job (202: poll the job's URL)", "jobs",
          (csv(), query_param("pool_id", doc="Put the customers in this pool (you manage it), without an owner."),
           query_param("mapping", doc="JSON object {\"source column\": \"our field\" or null (skip it)}.")),
          status=202, location="/api/v1/jobs/{id}", response="gateway.Job", description=(
              "The same file, columns and per-row report as `POST /api/v1/customers/import` (which stays, for "
              "files of at most 5,000 rows), up to 1,000,000 rows. A bad header or mapping is a 422 here; a pool "
              "you may not manage fails the job before any row. " + _JOB_DOC)),
    Route("POST", "/api/v1/customers/export-jobs", "gateway", "customers_export_job",
          "Export customers as CSV as a job (202: poll the job's URL, then download its result)", "jobs",
          (query(),), status=202, location="/api/v1/jobs/{id}", response="gateway.Job",
          query_schema="customers.CustomerExportQuery", description=(
              "The views and filters of `GET /api/v1/customers/export`; the file is the result. " + _JOB_DOC)),
    Route("POST", "/api/v1/customers/bulk-jobs/assign", "gateway", "customers_bulk_assign_job",
          "Assign many customers to a user as a job (202: poll the job's URL)", "jobs", (body(),),
          users("owner_id", departments="owner_department_id"), status=202, location="/api/v1/jobs/{id}",
          response="gateway.Job", description=(
              "`{\"customer_ids\": [...], \"owner_id\"}`: up to 20,000 customers (`POST "
              "/api/v1/customers/bulk/assign` stays, for at most 200), in batches of 200, each customer the "
              "single assign in its own transaction, recorded so that a batch redone after a restart never "
              "assigns one twice; the result has a line per customer (`assigned`, or `refused` with the "
              "problem+json the single action would have answered). " + _JOB_DOC)),
    Route("POST", "/api/v1/products/import-jobs", "gateway", "products_import_job",
          "Import products from CSV of any size as a job (admins; 202: poll the job's URL)", "jobs",
          (csv(), query_param("mode", doc="`create` (default) or `upsert`, as `POST /api/v1/products/import`.")),
          status=202, location="/api/v1/jobs/{id}", response="gateway.Job", description=(
              "The same file, columns, modes and per-row report as `POST /api/v1/products/import` (which stays, "
              "for files of at most 5,000 rows), up to 1,000,000 rows. A bad header or mode is a 422 here, "
              "before the job is queued; a caller who is not an admin fails the job before any row. " + _JOB_DOC)),
    Route("POST", "/api/v1/products/export-jobs", "gateway", "products_export_job",
          "Export products as CSV as a job (202: poll the job's URL, then download its result)", "jobs",
          (query(),), status=202, location="/api/v1/jobs/{id}", response="gateway.Job",
          query_schema="sales.ProductExportQuery", description=(
              "The filters of `GET /api/v1/products/export`; the file, judged as of the job's start, is the "
              "result. " + _JOB_DOC)),
    Route("GET", "/api/v1/jobs", "gateway", "list_jobs", "List my jobs (an admin: everyone's), newest first",
          "jobs", (query(),), response="gateway.JobList", query_schema="gateway.JobListQuery"),
    Route("GET", "/api/v1/jobs/<job_id>", "gateway", "get_job",
          "Read a job: state, progress (done/total), rate, ETA, errors so far, its result's URL", "jobs",
          response="gateway.Job"),
    Route("POST", "/api/v1/jobs/<job_id>/cancel", "gateway", "cancel_job",
          "Cancel a job: at once if it has not started, else at its next batch boundary", "jobs",
          response="gateway.Job"),
    Route("GET", "/api/v1/jobs/<job_id>/result", "gateway", "job_result_page",
          "Download a finished job's result: an import's per-row report, an export's file (CSV, streamed)",
          "jobs", (cursor(),), download="job-result.csv", description=(
              "An import: `row,outcome,id,existing_id,errors` (errors as JSON), a line per CSV row; an export: "
              "the exported file. A failed or cancelled job's result is what it did before it stopped; a job "
              "not finished is a 409.")),
)
