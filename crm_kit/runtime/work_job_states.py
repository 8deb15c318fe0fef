"""A work job's states and limits (``crm_kit.runtime.work_jobs`` tells its life)."""
from __future__ import annotations

UPLOADING, QUEUED, RUNNING = "uploading", "queued", "running"
SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"
FINISHED = (SUCCEEDED, FAILED, CANCELLED)
STATES = (UPLOADING, QUEUED, RUNNING, *FINISHED)
INPUT_PART_CHARS = 1_000_000      # the gateway hands a file over in parts of at most this many characters
MAX_INPUT_PARTS = 2000
ERRORS_SHOWN = 20                 # a job's view shows the first errors (the report has them all)
MAX_ERROR = 2000
REPORT_COLUMNS = ("row", "outcome", "id", "existing_id", "errors")
