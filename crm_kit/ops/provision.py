"""Bring a service up to date where it runs: its database migrated to head, its queues declared
(``crm migrate <name>``, ``make run``, an init container). Idempotent."""
from __future__ import annotations

import sys


def migrate(name: str) -> None:
    """Bring ``name``'s database to head and declare its queues (idempotent)."""
    from kombu import Connection

    from crm_kit.config import amqp_uri
    from crm_kit.ops.migrations import migrations_dir, upgrade
    from crm_kit.ops.topology import handler_queues, service_class

    if migrations_dir(name).is_dir():
        upgrade(name)
    cls = service_class(name)
    if hasattr(cls, "post_migrate"):  # e.g. the gateway's first administrator
        cls.post_migrate()
    specs = handler_queues(cls)
    if specs:
        with Connection(amqp_uri(), connect_timeout=10) as conn:
            conn.ensure_connection(max_retries=3)
            for spec in specs:
                spec.declare(conn)
    print(f"migrated {name}" + (f" (+{len(specs)} queue(s))" if specs else ""), file=sys.stderr)
