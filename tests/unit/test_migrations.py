"""Each service's Alembic revisions build exactly the schema its models declare.

A model changed without a migration (or a migration edited by hand that drifts
from the model) would pass every test that creates tables from the models and
then fail on the first ``crm migrate`` in production. Here every service's
migrations run on a fresh database and Alembic's autogenerate comparison must
find nothing left to do: tables, columns, types, indexes (partial ones
included) and constraints.
"""
from __future__ import annotations

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex

from crm_kit.config import ALL_PROCESSES
from crm_kit.ops.migrations import alembic_config, include_object, upgrade

SERVICES = ALL_PROCESSES      # every process with a database (crm_kit.config: the one list)


def _metadata(name: str):
    module = importlib.import_module("gateway.models" if name == "gateway" else f"services.{name}.models")
    return module.Base.metadata


@pytest.mark.parametrize("name", SERVICES)
def test_migrations_build_the_schema_the_models_declare(name, tmp_path):
    url = f"sqlite:///{tmp_path / (name + '.db')}"
    upgrade(name, url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            # what only one dialect has (full-text indexes) is the models' too, but Alembic cannot compare it
            context = MigrationContext.configure(connection, opts={
                "compare_type": True, "include_object": include_object(_metadata(name))})
            diff = compare_metadata(context, _metadata(name))
            built = dict(connection.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")).all())
    finally:
        engine.dispose()
    assert diff == [], f"{name}: models and migrations differ (run `crm makemigrations {name}`):\n{diff}"
    # Autogenerate does not compare an index's WHERE (a partial index): compare the DDL itself.
    declared = {index.name: _ddl(str(CreateIndex(index).compile(dialect=sqlite.dialect())))
                for table in _metadata(name).tables.values() for index in table.indexes}
    assert {k: _ddl(v) for k, v in built.items()} == declared


def _ddl(sql: str) -> str:
    return " ".join(sql.replace('"', "").replace("IF NOT EXISTS ", "").split())


def test_a_database_built_before_the_kit_branch_upgrades_in_place(tmp_path):
    """Databases built when each service's first revision still created the kit's tables: the
    kit's first revision finds them and leaves them alone, the later ones are applied."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade("customers", url)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:     # as such a database looks: its service's revision only
            connection.execute(text("DROP TABLE handled_requests"))
            connection.execute(text("DELETE FROM alembic_version WHERE version_num LIKE 'kit%'"))
            connection.execute(text("INSERT INTO outbox (id, event_type, exchange, body, headers, created_at, "
                                    "attempts) VALUES ('e1', 't', 'x', '{}', '{}', '2026-01-01', 0)"))
        upgrade("customers", url)
        with engine.connect() as connection:
            versions = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
            kept = connection.execute(text("SELECT count(*) FROM outbox")).scalar()
            diff = compare_metadata(MigrationContext.configure(connection), _metadata("customers"))
    finally:
        engine.dispose()
    kit_heads = {r.revision for r in ScriptDirectory.from_config(alembic_config("customers", url))
                 .get_revisions("kit@head")}
    assert kit_heads <= versions and kept == 1 and diff == []
