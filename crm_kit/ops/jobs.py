"""``crm jobs``: the running services' periodic jobs (``crm_kit.runtime.jobs``), over RPC.

    crm jobs list [<service> ...] [--limit N] [--json]
    crm jobs run <service> <job> [--as-of T] [--dry-run] [--json]

Both ask the service itself (``list_jobs``, ``run_job``: platform RPCs, no principal), so they
need only the broker (``AMQP_URI``), as ``crm dead-letters`` does, never a service's database.
``run`` waits for the run to finish (``--timeout``); a run outlives a caller that gave up, and
``crm jobs list`` shows how it ended.
"""
from __future__ import annotations

import json

from crm_kit.config import SERVICES, amqp_uri
from crm_kit.errors import CrmError

DEFAULT_TIMEOUT = 300.0


def services_with_jobs() -> list[str]:
    from crm_kit.ops.topology import service_class
    from crm_kit.runtime.jobs import periodic_jobs
    return [name for name in SERVICES if periodic_jobs(service_class(name))]


def call(service: str, method: str, timeout: float, **kwargs):
    """One RPC to a service; its typed errors (``crm_kit.errors``) come back as themselves."""
    from nameko.exceptions import RpcTimeout, UnknownService
    from nameko.standalone.rpc import ClusterRpcProxy
    try:
        with ClusterRpcProxy({"AMQP_URI": amqp_uri(), "serializer": "json"}, timeout=timeout) as cluster:
            return getattr(getattr(cluster, service), method)(**kwargs)
    except UnknownService:
        raise SystemExit(f"{service} is not running (no replica consumes its RPC queue)") from None
    except RpcTimeout:
        raise SystemExit(f"{service}.{method} did not answer within {timeout:g}s (a run goes on; "
                         "see `crm jobs list`)") from None


def list_jobs(services: list[str], limit: int = 5, timeout: float = 30.0) -> list[dict]:
    out = []
    for service in services or services_with_jobs():
        reply = call(service, "list_jobs", timeout, limit=limit)
        out.extend(dict(item, service=service) for item in reply["items"])
    return out


def run_job(service: str, job: str, as_of: str | None = None, dry_run: bool = False,
            timeout: float = DEFAULT_TIMEOUT) -> dict:
    return call(service, "run_job", timeout, name=job, as_of=as_of, dry_run=dry_run)


def main(args) -> int:
    """``crm jobs ...`` (arguments parsed by ``crm_kit.ops.cli``)."""
    try:
        if args.action == "list":
            unknown = sorted(set(args.services) - set(SERVICES))
            if unknown:
                raise SystemExit(f"unknown service(s) {unknown}; choose from {', '.join(SERVICES)}")
            items = list_jobs(args.services, args.limit)
            print(json.dumps(items, indent=2) if args.json else format_list(items))
        else:
            reply = run_job(args.service, args.job, args.as_of, args.dry_run, args.timeout)
            print(json.dumps(reply, indent=2) if args.json else format_run(args.service, reply))
    except CrmError as exc:
        extra = {k: v for k, v in exc.extra.items() if k != "errors"}
        details = "; ".join(f"{k}: {', '.join(v)}" for k, v in exc.extra.get("errors", {}).items())
        raise SystemExit(f"{type(exc).__name__}: {exc}" + (f" ({details})" if details else "")
                         + (f" {extra}" if extra else "")) from None
    return 0


def format_list(items: list[dict]) -> str:
    if not items:
        return "no periodic jobs"
    lines = []
    for item in items:
        lines.append(f"{item['service']}.{item['job']}  every {item['every_seconds']:g}s  "
                     f"last success {item['last_success_at'] or 'never'}  "
                     f"late {item['lateness_seconds']:g}s")
        for run in item["runs"]:
            lines.append(f"    {run['started_at']}  {run['trigger']:<8} {run['outcome']:<9} "
                         f"as_of {run['as_of']}  attempts {run['attempts']}  by {run['claimed_by']}"
                         + (f"  {run['error']}" if run.get("error") else ""))
    return "\n".join(lines)


def format_run(service: str, reply: dict) -> str:
    head = (f"{service}.{reply['job']} {reply['outcome']} as of {reply['as_of']}"
            + (f" (run {reply['run_id']})" if reply.get("run_id") else " (dry run: nothing changed)"))
    body = [json.dumps(reply["result"], indent=2)]
    if reply.get("events") is not None:
        body.append(f"events it would raise: {reply['events'] or 'none'}")
    return "\n".join([head] + body)
