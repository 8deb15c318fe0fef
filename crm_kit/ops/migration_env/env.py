"""The one Alembic environment of every service: migrations of the service named in the config
(``crm_kit.ops.migrations.alembic_config``) against its own models' metadata. A service keeps only
its revisions (``migrations/versions/``); this directory holds the environment and the template
new revisions are written from (``crm makemigrations``)."""
from alembic import context

from crm_kit.ops.migrations import run_env, service_metadata

run_env(service_metadata(context.config.attributes["service"]))
