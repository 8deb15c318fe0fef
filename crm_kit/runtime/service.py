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
from crm_kit.runtime.observability import Observability


class CrmService:
    name: str
    api_schemas: dict = {}
    principal = RequestContext()
    observability = Observability()

    @rpc
    def ping(self):
        """Liveness over the bus: the gateway's readiness and smoke tests call it."""
        return {"service": self.name, "status": "ok"}

    @rpc
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
