"""``crm import leads FILE.csv`` and ``crm export leads OUT.csv``: a client of the platform's HTTP
API (it needs nothing but the gateway's URL and a bearer token) that runs the import or export as a
job (``POST /api/v1/leads/import-jobs``, ``/export-jobs``), polls ``GET /api/v1/jobs/{id}`` and
draws a progress bar on stderr (done/total, rate, ETA; a plain line a poll when stderr is not a
terminal), then prints the counts and, asked to, saves the result (``--report``: the import's
per-row report; the export's file). Ctrl-C cancels the job (it stops at its next batch boundary).

Exit status: 0 the job succeeded; 1 it failed or was cancelled; 2 the request was refused (the
problem+json's detail and field errors are printed) or the platform could not be reached.
"""
from __future__ import annotations

import json
import sys
import time
import uuid

import requests

FINISHED = ("succeeded", "failed", "cancelled")
BAR_WIDTH = 30


class ClientError(Exception):
    pass


class Api:
    def __init__(self, url: str, token: str, timeout: float = 60.0):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        try:
            response = self.session.request(method, self.url + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise ClientError(f"cannot reach {self.url}: {exc}") from None
        if response.status_code >= 400:
            raise ClientError(_problem(response))
        return response


def _problem(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:500]}"
    text = f"HTTP {response.status_code}: {body.get('detail') or body.get('title')}"
    for name, messages in (body.get("errors") or {}).items():
        text += f"\n  {name}: {'; '.join(map(str, messages))}"
    return text


def bar(job: dict) -> str:
    """One line of progress: ``[#####.....]  12,000/20,000  60.0%  5,400 rows/s  ETA 1s  running``."""
    p = job.get("progress") or {}
    done, total = p.get("done") or 0, p.get("total")
    filled = int(BAR_WIDTH * done / total) if total else 0
    parts = [f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}]",
             f"{done:,}/{total:,}" if total is not None else f"{done:,}/?"]
    if p.get("percent") is not None:
        parts.append(f"{p['percent']:.1f}%")
    if p.get("rate_per_second"):
        parts.append(f"{p['rate_per_second']:,.0f} rows/s")
    if p.get("eta_seconds") is not None:
        parts.append(f"ETA {p['eta_seconds']:.0f}s")
    parts.append(job.get("state", "?"))
    return "  ".join(parts)


def follow(api: Api, job: dict, interval: float, out=sys.stderr) -> dict:
    """Poll the job until it finishes, drawing the bar; Ctrl-C asks for its cancel (and goes on
    polling until it has stopped)."""
    tty = out.isatty()
    last = None
    while True:
        line = bar(job)
        if tty:
            out.write("\r" + line.ljust(100)[:120])
        elif line != last:
            out.write(line + "\n")
        out.flush()
        last = line
        if job["state"] in FINISHED:
            if tty:
                out.write("\n")
            return job
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            out.write("\ncancelling (the job stops at its next batch boundary)...\n")
            api.call("POST", f"/api/v1/jobs/{job['id']}/cancel", headers={"Idempotency-Key": str(uuid.uuid4())})
        job = api.call("GET", f"/api/v1/jobs/{job['id']}").json()


def save_result(api: Api, job: dict, path: str) -> None:
    response = api.call("GET", f"/api/v1/jobs/{job['id']}/result", stream=True)
    with open(path, "wb") as f:
        for chunk in response.iter_content(64 * 1024):
            f.write(chunk)


def run(args) -> int:
    api = Api(args.url, args.token)
    try:
        if args.cmd == "import":
            with open(args.file, "rb") as f:
                body = f.read()
            job = api.call("POST", "/api/v1/leads/import-jobs", data=body, headers={
                "Content-Type": "text/csv", "Idempotency-Key": str(uuid.uuid4())}).json()
        else:
            job = api.call("POST", "/api/v1/leads/export-jobs", params=dict(args.filter or ()),
                           headers={"Idempotency-Key": str(uuid.uuid4())}).json()
        print(f"job {job['id']}: {args.url.rstrip('/')}/api/v1/jobs/{job['id']}", file=sys.stderr)
        job = follow(api, job, args.interval)
        target = args.report if args.cmd == "import" else args.file
        if target and job.get("result_url"):
            save_result(api, job, target)
    except ClientError as exc:
        print(f"crm {args.cmd}: {exc}", file=sys.stderr)
        return 2
    summary = {"id": job["id"], "state": job["state"], "counts": job.get("counts"), "error": job.get("error"),
               "errors": job.get("errors")[:5] if job.get("errors") else []}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        counts = ", ".join(f"{k} {v:,}" for k, v in (job.get("counts") or {}).items())
        print(f"{job['state']}: {counts or 'nothing done'}")
        for error in summary["errors"]:
            print(f"  row {error.get('row')}: {error.get('outcome')} {json.dumps(error.get('errors'))}")
        if job.get("error"):
            print(f"  error: {job['error']}")
    return 0 if job["state"] == "succeeded" else 1


def add_parsers(sub) -> None:
    for cmd, help_text in (("import", "import a CSV file as a job, with a progress bar"),
                           ("export", "export as a job to a CSV file, with a progress bar")):
        p = sub.add_parser(cmd, help=help_text)
        p.add_argument("what", choices=("leads",))
        p.add_argument("file", help="the CSV file to import" if cmd == "import" else "where to write the CSV")
        p.add_argument("--url", required=True, help="the gateway, e.g. http://127.0.0.1:8000")
        p.add_argument("--token", required=True, help="a bearer token (POST /api/v1/auth/token)")
        p.add_argument("--interval", type=float, default=0.5, help="seconds between polls (default 0.5)")
        p.add_argument("--json", action="store_true", help="print the summary as JSON")
        if cmd == "import":
            p.add_argument("--report", default=None, metavar="PATH", help="save the per-row report (CSV) here")
        else:
            p.add_argument("--filter", action="append", type=lambda s: tuple(s.split("=", 1)),
                           metavar="NAME=VALUE", help="an export filter (repeatable), e.g. status=new")
