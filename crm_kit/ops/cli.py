"""``crm``: the one command for running and operating the platform.

    crm serve <name>                 run one service (or the gateway)
    crm migrate <name>|all           database migrations + broker topology
    crm makemigrations <name> -m M   new Alembic revision from the models
    crm run [--port 8000]            the whole platform locally, one process each
    crm dead-letters list            parked messages, per handler
    crm dead-letters replay <dlq>    move parked messages back to their handler (or --all),
                                     then say how many went back and how many were parked again
    crm jobs list [<service> ...]    periodic jobs and their last runs (--limit N, --json)
    crm jobs run <service> <job>     run a periodic job now (--as-of T, --dry-run: change nothing)
    crm import leads FILE.csv --url U --token T   import as a job over HTTP, with a progress bar
    crm export leads OUT.csv --url U --token T    export as a job over HTTP, with a progress bar
"""
from __future__ import annotations

import argparse
import json
import sys


def main(argv=None) -> int:
    from crm_kit.ops.known_warnings import filter_known_warnings
    filter_known_warnings()  # before anything imports eventlet (nameko does)
    from crm_kit.config import ALL_PROCESSES, SERVICES
    parser = argparse.ArgumentParser(prog="crm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve", help="run one service")
    p.add_argument("name", choices=ALL_PROCESSES)
    p = sub.add_parser("migrate", help="apply migrations and declare queues")
    p.add_argument("name", choices=ALL_PROCESSES + ("all",))
    p = sub.add_parser("makemigrations", help="autogenerate an Alembic revision")
    p.add_argument("name", choices=ALL_PROCESSES)
    p.add_argument("-m", "--message", required=True)
    p = sub.add_parser("run", help="run the whole platform locally")
    p.add_argument("--port", type=int, default=None)
    p = sub.add_parser("dead-letters", help="inspect and replay parked messages")
    dl = p.add_subparsers(dest="action", required=True)
    q = dl.add_parser("list")
    q.add_argument("--json", action="store_true")
    q = dl.add_parser("replay")
    q.add_argument("queue", nargs="?", help="a .dlq queue name")
    q.add_argument("--all", action="store_true", help="replay every dead-letter queue")
    q.add_argument("--limit", type=int, default=None,
                   help="at most this many per queue (default: all it holds when the replay starts)")
    q.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                   help="how long to wait for the handlers before counting what was parked again "
                        "(default: the handlers' retry schedule plus 2 s; stops early once all are parked again)")
    q.add_argument("--json", action="store_true")
    p = sub.add_parser("jobs", help="periodic jobs: their last runs, or run one now")
    jobs = p.add_subparsers(dest="action", required=True)
    q = jobs.add_parser("list", help="each service's periodic jobs with their last runs")
    q.add_argument("services", nargs="*", metavar="service", help="default: every service with jobs")
    q.add_argument("--limit", type=int, default=5, help="runs per job (1-100, default 5)")
    q.add_argument("--json", action="store_true")
    q = jobs.add_parser("run", help="run a periodic job now, on the running service")
    q.add_argument("service", choices=SERVICES)
    q.add_argument("job")
    q.add_argument("--as-of", default=None, metavar="T",
                   help="ISO 8601 (no offset: UTC); default now")
    q.add_argument("--dry-run", action="store_true", help="preview: what it would do, nothing changed")
    q.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS")
    q.add_argument("--json", action="store_true")
    from crm_kit.ops import client_import
    client_import.add_parsers(sub)
    args = parser.parse_args(argv)

    if args.cmd == "serve":
        from crm_kit.ops.runner import serve
        serve(args.name)
    elif args.cmd == "migrate":
        from crm_kit.ops.provision import migrate
        names = ALL_PROCESSES if args.name == "all" else (args.name,)
        for name in names:
            migrate(name)
    elif args.cmd == "makemigrations":
        from crm_kit.ops.migrations import revision
        revision(args.name, args.message)
    elif args.cmd == "run":
        from crm_kit.ops.local import run_all
        return run_all(args.port)
    elif args.cmd == "dead-letters":
        from crm_kit.ops import dead_letters
        if args.action == "list":
            report = dead_letters.list_dead_letters()
            if args.json:
                print(json.dumps(report, indent=2, default=str))
            else:
                for row in report:
                    print(f"{row['messages']:>6}  {row['queue']}")
                    for sample in row["sample"]:
                        print(f"        {sample.get('message_id')}: {sample.get('x-crm-error')}")
        else:
            queues = ([s.dlq_name for s in dead_letters.all_handler_queues()] if args.all
                      else [args.queue] if args.queue else None)
            if not queues:
                parser.error("replay needs a queue name or --all")
            if args.limit is not None and args.limit < 0 or args.wait is not None and args.wait < 0:
                parser.error("--limit and --wait must not be negative")
            results = dead_letters.replay_many(queues, limit=args.limit, wait=args.wait, skip_missing=args.all)
            if args.json:
                print(json.dumps([r.to_dict() for r in results], indent=2))
            else:
                for result in results:
                    print(result.summary())
    elif args.cmd in ("import", "export"):
        return client_import.run(args)
    elif args.cmd == "jobs":
        from crm_kit.ops import jobs
        return jobs.main(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
