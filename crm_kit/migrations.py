"""Alembic, driven per service: ``crm migrate <service>``.

Each service keeps its revisions in ``services/<name>/migrations/versions``;
its ``env.py`` is two lines that call :func:`run_env` with its metadata.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from crm_kit.config import REPO_ROOT, database_url

MIGRATION_LOCK_ID = 7_262_011  # any fixed number; each service has its own database


def migrations_dir(name: str) -> Path:
    if name == "gateway":
        return REPO_ROOT / "gateway" / "migrations"
    return REPO_ROOT / "services" / name / "migrations"


def alembic_config(name: str, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir(name)))
    cfg.set_main_option("sqlalchemy.url", (url or database_url(name)).replace("%", "%%"))
    cfg.attributes["service"] = name
    return cfg


def upgrade(name: str, url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(name, url), revision)


def revision(name: str, message: str) -> None:
    command.revision(alembic_config(name), message=message, autogenerate=True)


def run_env(target_metadata) -> None:
    """Body of every service's migrations/env.py."""
    from alembic import context
    from sqlalchemy import pool

    from crm_kit.db import make_engine

    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                          render_as_batch=url.startswith("sqlite"))
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
                          render_as_batch=url.startswith("sqlite"), compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
