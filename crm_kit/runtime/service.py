"""The base every bounded context's nameko service class derives from.

    class LeadsService(CrmService):
        name = "leads"
        db = Database(Base)
        api_schemas = {"Lead": LeadOut, "LeadCreate": LeadCreate, ...}

        @rpc
        def get_lead(self, lead_id):
            return application.get_lead(self.db, self.principal, lead_id)

Entrypoints stay thin: they hand ``self.db`` (a unit of work) and
``self.principal`` to the service's plain-Python ``application`` module.

A service with periodic jobs (``@periodic``, ``crm_kit.runtime.jobs``) also answers ``run_job``
and ``list_jobs``: the class gets them when it is defined (``__init_subclass__``).

``api_schemas`` names the marshmallow schemas of the service's RPC inputs and
outputs; ``api_schemas_json()`` (an RPC every service answers) returns them as
JSON Schema 2020-12 (the OpenAPI 3.1 dialect), keyed ``"<service>.<Name>"``
(e.g. ``"leads.Lead"``), ready to be merged into an OpenAPI document's
``components/schemas``. Nested schemas are inlined, so each is self-contained
(no ``$ref``).
"""
from crm_kit.records.jsonschema import json_schema
from crm_kit.runtime.dependencies import RequestContext
from crm_kit.runtime.entrypoints import rpc
from crm_kit.runtime.jobs import JobControl, check_job_names
from crm_kit.runtime.observability import Observability
from crm_kit.runtime.tracing import Tracing


class CrmService:
    name: str
    api_schemas: dict = {}
    principal = RequestContext()
    observability = Observability()
    tracing = Tracing()            # OpenTelemetry spans when OTEL_EXPORTER_OTLP_ENDPOINT is set (runtime/tracing.py)
    crm_jobs = JobControl()        # the service's periodic jobs (crm_kit.runtime.jobs), for the job RPCs

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        check_job_names(cls)       # two jobs of one name would share their job_runs rows

    @rpc(principal=False)
    def run_job(self, name, as_of=None, dry_run=False):
        """Run the periodic job ``name`` now, as of ``as_of`` (ISO 8601, default now); ``dry_run``:
        preview it, changing nothing (an operator's call: ``crm jobs run``)."""
        return self.crm_jobs.run(name, as_of, dry_run)

    @rpc(principal=False)
    def list_jobs(self, limit=5):
        """The service's periodic jobs, each with its last ``limit`` runs (``crm jobs list``)."""
        return self.crm_jobs.list(limit)

    @rpc(principal=False)
    def ping(self):
        """Liveness over the bus: the gateway's readiness and smoke tests call it."""
        return {"service": self.name, "status": "ok"}

    @rpc(principal=False)
    def api_schemas_json(self):
        """JSON Schemas of this service's RPC inputs and outputs (the gateway's OpenAPI)."""
        return schemas_as_json(self.name, self.api_schemas)


def schemas_as_json(name: str, schemas: dict) -> dict:
    """``{"<name>.<Public>": JSON Schema}`` for a service's ``api_schemas``."""
    out = {}
    for public, schema in sorted(schemas.items()):
        converted = json_schema(schema)
        doc = (schema.__doc__ or "").strip() if isinstance(schema, type) else ""
        if doc and "description" not in converted:
            converted = {"description": " ".join(doc.split()), **converted}
        out[f"{name}.{public}"] = {"title": public, **converted}
    return out
