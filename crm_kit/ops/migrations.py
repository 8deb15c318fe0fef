"""Alembic, driven per service: ``crm migrate <service>``.

Each service keeps only its revisions, in ``services/<name>/migrations/versions``; the Alembic
environment and the template new revisions are written from are the kit's, one for all
(``crm_kit/ops/migration_env/``), and run against the named service's models.

The kit's own tables (outbox, processed_events, handled_requests, job_runs, audit_log) have their
revisions once, in ``crm_kit/ops/kit_migrations`` (the Alembic branch ``kit``), which every
service's database also runs: a service's first revision ``depends_on`` the kit's first one, and
``upgrade`` takes every head (the service's and the kit's).
"""
from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config

from crm_kit.config import REPO_ROOT, database_url

MIGRATION_LOCK_ID = 7_262_011  # any fixed number; each service has its own database
KIT_VERSIONS = Path(__file__).resolve().parent / "kit_migrations"
ENVIRONMENT = Path(__file__).resolve().parent / "migration_env"


def migrations_dir(name: str) -> Path:
    if name == "gateway":
        return REPO_ROOT / "gateway" / "migrations"
    return REPO_ROOT / "services" / name / "migrations"


def alembic_config(name: str, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ENVIRONMENT))
    cfg.set_main_option("version_path_separator", "os")
    cfg.set_main_option("version_locations",
                        os.pathsep.join([str(migrations_dir(name) / "versions"), str(KIT_VERSIONS)]))
    cfg.set_main_option("sqlalchemy.url", (url or database_url(name)).replace("%", "%%"))
    cfg.attributes["service"] = name
    return cfg


def upgrade(name: str, url: str | None = None, revision: str = "heads") -> None:
    command.upgrade(alembic_config(name, url), revision)


def revision(name: str, message: str) -> None:
    """A new revision of the service's own tables, after its own head (not the kit's)."""
    from alembic.script import ScriptDirectory
    cfg = alembic_config(name)
    own = migrations_dir(name) / "versions"
    heads = [r for r in ScriptDirectory.from_config(cfg).get_revisions("heads")
             if Path(r.path).parent == own]
    command.revision(cfg, message=message, autogenerate=True, head=heads[0].revision if heads else "base",
                     version_path=str(own))


def service_metadata(name: str):
    """The metadata of a service's models (its tables, and the kit's that come with its base)."""
    import importlib
    module = importlib.import_module("gateway.models" if name == "gateway" else f"services.{name}.models")
    return module.Base.metadata


def include_object(metadata):
    """Alembic's ``include_object`` leaving alone what only one dialect has, created beside the models'
    tables (``metadata.info["dialect_objects"]``: full-text indexes, ``crm_kit.records.fulltext``)."""
    from crm_kit.records.fulltext import DIALECT_OBJECTS
    ignored = metadata.info.get(DIALECT_OBJECTS, set())

    def include(obj, name, type_, reflected, compare_to):
        if type_ == "column":
            return f"{obj.table.name}.{name}" not in ignored
        return name not in ignored
    return include


def run_env(target_metadata) -> None:
    """The body of the kit's migration environment (``migration_env/env.py``)."""
    from alembic import context
    from sqlalchemy import pool

    from crm_kit.records.db import make_engine

    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                          render_as_batch=url.startswith("sqlite"), include_object=include_object(target_metadata))
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url) if url.startswith("sqlite") else __import__("sqlalchemy").create_engine(
        url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Every replica's init container may migrate at once: one at a time.
            # (The lock is on this session; it is released when the connection closes.)
            connection.exec_driver_sql("SELECT pg_advisory_lock(%s)" % MIGRATION_LOCK_ID)
            connection.commit()
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=url.startswith("sqlite"), compare_type=True,
                          include_object=include_object(target_metadata))
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
