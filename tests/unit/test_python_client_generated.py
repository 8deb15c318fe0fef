"""The Python client's generated modules are what clients/python/generate.py writes from the
gateway's OpenAPI document now (the CI check: change a route or a schema, regenerate, commit);
its names do not depend on the operations' tags, and every operation has a method."""
from __future__ import annotations

import copy
import importlib.util
import inspect
import typing
from pathlib import Path

import crm_client
import pytest
from crm_client.pages import Pages

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "clients" / "python" / "generate.py"


def _generator():
    spec = importlib.util.spec_from_file_location("crm_client_generate", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator():
    return _generator()


@pytest.fixture(scope="module")
def document(generator):
    return generator.build_document()


def test_the_committed_client_is_what_the_generator_writes_from_the_document_now(generator, document):
    rendered = generator.render(document)
    for name, text in rendered.items():
        committed = (generator.PACKAGE / name).read_text()
        assert committed == text, f"crm_client/{name} is out of date: run python clients/python/generate.py"


def test_names_do_not_depend_on_tags(generator, document):
    untagged = copy.deepcopy(document)
    for operations in untagged["paths"].values():
        for op in operations.values():
            op.pop("tags", None)
            op["tags"] = ["Something else"] if op.get("summary", "").startswith("List") else []
    assert generator.render(untagged) == generator.render(document)


def test_every_api_operation_has_a_method_and_lists_answer_pages(generator, document):
    client = crm_client.Client("http://crm.test", "t")
    components = document["components"]["schemas"]
    count = 0
    for path, operations in document["paths"].items():
        resource = generator.resource_of(path)
        if resource is None:
            continue
        for verb, op in operations.items():
            operation = generator.Operation(path, verb, op, None, components)
            name = generator.method_name(resource, path, verb, op, operation.is_page)
            method = getattr(getattr(client, resource), name)
            assert f"``{verb.upper()} {path}``" in " ".join(method.__doc__.split()), (path, verb, name)
            hints = typing.get_type_hints(method)     # every annotation names something that exists
            if operation.is_page:
                assert typing.get_origin(hints["return"]) is Pages, (path, verb)
            count += 1
    assert count > 150
    from crm_client import models
    assert all(typing.get_type_hints(getattr(models, name)) for name in models.__all__)
    assert typing.get_type_hints(models.Lead)["phone"] == str | None
    assert isinstance(client.leads.list(), Pages) and isinstance(client.customers.list(), Pages)
    params = inspect.signature(client.leads.create).parameters
    assert "idempotency_key" in params and params["body"].kind is inspect.Parameter.VAR_KEYWORD


def test_the_naming_rules(generator):
    name = generator.method_name
    op = {"operationId": "leads_convert_lead", "responses": {"200": {}}}
    assert name("leads", "/api/v1/leads/{lead_id}/convert", "post", op, False) == "convert"
    op = {"operationId": "leads_add_lead_follow_up", "responses": {"201": {}}}
    assert name("leads", "/api/v1/leads/{lead_id}/follow-ups", "post", op, False) == "add_follow_up"
    op = {"operationId": "leads_recycle_pool", "responses": {"200": {}}}
    assert name("lead_pools", "/api/v1/lead-pools/{pool_id}/recycle", "post", op, False) == "recycle"
    op = {"operationId": "billing_request_invoice", "responses": {"201": {}}}
    assert name("invoices", "/api/v1/invoices", "post", op, False) == "create"
    op = {"operationId": "leads_return_lead", "responses": {"200": {}}}
    assert name("leads", "/api/v1/leads/{lead_id}/return", "post", op, False) == "return_"
    op = {"operationId": "leads_import_leads", "responses": {"200": {}},
          "requestBody": {"content": {"text/csv": {}}}}
    assert name("leads", "/api/v1/leads/import", "post", op, False) == "import_csv"
    op = {"operationId": "leads_export_leads_page", "responses": {"200": {"content": {"text/csv": {}}}}}
    assert name("leads", "/api/v1/leads/export", "get", op, False) == "export"
