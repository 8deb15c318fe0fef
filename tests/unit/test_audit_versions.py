"""Audit trail contents, versioned updates and deletes, mass assignment, manual customers
and contacts, and the API schemas every service publishes."""
from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from crm_kit.context import Principal, principal_var, request_id_var
from crm_kit.errors import Duplicate, InvalidState, NotFound, StaleVersion, ValidationFailed
from crm_kit.runtime.service import schemas_as_json
from services.customers import application as customers
from services.customers.events import LeadConverted
from services.customers.models import Base as CustomersBase
from services.customers.models import Contact, Customer
from services.leads import application as leads
from services.leads.models import Base as LeadsBase
from services.leads.models import Lead

SERVER_MSG = "This field is set by the server and cannot be written."
OWNER = Principal("owner-1", "member", "d1a", ("d1a",))
MANAGER = Principal("mgr-d1", "manager", "d1", ("d1", "d1a"))


@pytest.fixture
def ldb(make_db):
    return make_db(LeadsBase, "leads")


@pytest.fixture
def cdb(make_db):
    return make_db(CustomersBase, "customers")


def acting(principal, request_id):
    principal_var.set(principal)
    request_id_var.set(request_id)


def new_lead(ldb, **data):
    acting(OWNER, "req-create")
    return leads.create_lead(ldb.uow(), OWNER, {"name": "Li Lei", "company": "Acme", "phone": "13900000001",
                                                 **data})


def history(ldb, lead_id, principal=OWNER, **query):
    return leads.lead_history(ldb.uow(), principal, lead_id, query)["items"]


# -- audit -------------------------------------------------------------------------
def test_create_is_audited_with_actor_request_and_values(ldb):
    lead = new_lead(ldb)
    [entry] = history(ldb, lead["id"])
    assert entry["entity"] == "lead" and entry["entity_id"] == lead["id"]
    assert entry["action"] == "create"
    assert entry["actor_id"] == "owner-1" and entry["request_id"] == "req-create"
    assert entry["changes"]["name"] == [None, "Li Lei"]
    assert entry["changes"]["status"] == [None, "pending"]
    assert "phone_key" not in entry["changes"] and "version" not in entry["changes"]


def test_update_records_before_and_after_of_changed_fields_only(ldb):
    lead = new_lead(ldb)
    acting(MANAGER, "req-update")
    updated = leads.update_lead(ldb.uow(), MANAGER, lead["id"], {"company": "Acme Ltd", "name": "Li Lei"}, 1)
    assert updated["version"] == 2 and updated["company"] == "Acme Ltd"
    entry = history(ldb, lead["id"])[0]
    assert entry["action"] == "update"
    assert entry["actor_id"] == "mgr-d1" and entry["request_id"] == "req-update"
    assert entry["changes"] == {"company": ["Acme", "Acme Ltd"]}
    [event] = ldb.outbox("lead_updated")
    assert event.body["payload"]["changed"] == ["company"] and event.body["payload"]["version"] == 2


def test_update_without_change_writes_nothing(ldb):
    lead = new_lead(ldb)
    assert leads.update_lead(ldb.uow(), OWNER, lead["id"], {"name": "Li Lei"}, 1)["version"] == 1
    assert len(history(ldb, lead["id"])) == 1 and ldb.outbox("lead_updated") == []


def test_convert_is_labelled(ldb):
    lead = new_lead(ldb)
    acting(OWNER, "req-convert")
    leads.convert_lead(ldb.uow(), OWNER, lead["id"], None)
    entry = history(ldb, lead["id"])[0]
    assert entry["action"] == "convert" and entry["request_id"] == "req-convert"
    assert entry["changes"]["status"] == ["pending", "converted"]
    assert entry["changes"]["converted_at"][0] is None and entry["changes"]["converted_at"][1].endswith("+00:00")


def test_team_changes_are_audited_on_the_record(ldb):
    lead = new_lead(ldb)
    acting(OWNER, "req-team")
    leads.set_lead_team_member(ldb.uow(), OWNER, lead["id"], "user-7", "read")
    leads.set_lead_team_member(ldb.uow(), OWNER, lead["id"], "user-7", "read_write")
    leads.set_lead_team_member(ldb.uow(), OWNER, lead["id"], "user-7", "read_write")   # no change: no entry
    leads.remove_lead_team_member(ldb.uow(), OWNER, lead["id"], "user-7")
    entries = history(ldb, lead["id"])
    assert [(e["action"], e["changes"]) for e in entries[:3]] == [
        ("team_member_removed", {"team.user-7": ["read_write", None]}),
        ("team_member_set", {"team.user-7": ["read", "read_write"]}),
        ("team_member_set", {"team.user-7": [None, "read"]}),
    ]
    assert {e["actor_id"] for e in entries[:3]} == {"owner-1"} and entries[0]["request_id"] == "req-team"
    assert leads.list_lead_team(ldb.uow(), OWNER, lead["id"]) == {"items": [], "next_cursor": None}


def test_team_member_input_is_validated(ldb):
    lead = new_lead(ldb)
    with pytest.raises(ValidationFailed) as exc:
        leads.set_lead_team_member(ldb.uow(), OWNER, lead["id"], "", "owner")
    assert set(exc.value.errors) == {"user_id", "access"}
    with pytest.raises(NotFound):
        leads.remove_lead_team_member(ldb.uow(), OWNER, lead["id"], "not-a-member")


def test_history_is_newest_first_and_paginated(ldb):
    lead = new_lead(ldb)
    for version, notes in enumerate(("a", "b", "c"), start=1):
        leads.update_lead(ldb.uow(), OWNER, lead["id"], {"notes": notes}, version)
    page1 = leads.lead_history(ldb.uow(), OWNER, lead["id"], {"limit": 2})
    page2 = leads.lead_history(ldb.uow(), OWNER, lead["id"], {"limit": 2, "cursor": page1["next_cursor"]})
    assert [e["changes"].get("notes") for e in page1["items"]] == [["b", "c"], ["a", "b"]]
    assert [e["action"] for e in page2["items"]] == ["update", "create"] and page2["next_cursor"] is None
    with pytest.raises(ValidationFailed):
        leads.lead_history(ldb.uow(), OWNER, lead["id"], {"limit": 500})


def test_money_and_lists_are_json_safe_in_the_audit(cdb):
    acting(OWNER, "req-c")
    customer = customers.create_customer(cdb.uow(), OWNER, {"name": "Initech", "tags": ["vip"]})
    [entry] = customers.customer_history(cdb.uow(), OWNER, customer["id"])["items"]
    assert entry["changes"]["tags"] == [None, ["vip"]]
    assert entry["changes"]["paid_total"] == [None, "0.00"]


def test_event_handler_changes_are_audited_for_the_user_who_caused_them(ldb, cdb):
    lead = new_lead(ldb)
    acting(OWNER, "req-conv")
    leads.convert_lead(ldb.uow(), OWNER, lead["id"], None)
    [row] = ldb.outbox("lead_converted")
    acting(Principal.system("customers"), "req-conv")
    cdb.handle(customers.on_lead_converted, row.body, LeadConverted, "h")
    [customer] = cdb.all(Customer)
    [entry] = customers.customer_history(cdb.uow(), OWNER, customer.id)["items"]
    assert (entry["action"], entry["actor_id"], entry["request_id"]) == ("create", "owner-1", "req-conv")


def test_delete_is_audited_and_history_then_answers_404(ldb):
    lead = new_lead(ldb)
    leads.delete_lead(ldb.uow(), OWNER, lead["id"], 1)
    table = LeadsBase.metadata.tables["audit_log"]
    with ldb.session() as s:
        actions = [r.action for r in s.execute(select(table).order_by(table.c.id))]
    assert actions == ["create", "delete"]
    with pytest.raises(NotFound):
        history(ldb, lead["id"])
    [event] = ldb.outbox("lead_deleted")
    assert event.body["payload"]["lead_id"] == lead["id"] and event.body["payload"]["status"] == "pending"


# -- versions ----------------------------------------------------------------------
def test_stale_expected_version_is_409_with_the_current_version(ldb):
    lead = new_lead(ldb)
    leads.update_lead(ldb.uow(), OWNER, lead["id"], {"notes": "x"}, 1)
    with pytest.raises(StaleVersion) as exc:
        leads.update_lead(ldb.uow(), OWNER, lead["id"], {"notes": "y"}, 1)
    assert exc.value.status == 409 and exc.value.extra["current_version"] == 2
    with pytest.raises(StaleVersion):
        leads.delete_lead(ldb.uow(), OWNER, lead["id"], 1)
    assert leads.update_lead(ldb.uow(), OWNER, lead["id"], {"notes": "y"}, None)["version"] == 3
    assert leads.update_lead(ldb.uow(), OWNER, lead["id"], {"notes": "z"}, "3")["version"] == 4


@pytest.mark.parametrize("bad", [0, -1, "v1", 1.5, True, [1]])
def test_expected_version_must_be_a_version(ldb, bad):
    lead = new_lead(ldb)
    with pytest.raises(ValidationFailed) as exc:
        leads.update_lead(ldb.uow(), OWNER, lead["id"], {"notes": "x"}, bad)
    assert "expected_version" in exc.value.errors


def test_concurrent_write_race_is_stale_version(ldb):
    """Two workers read version 1; the second UPDATE matches no row (version_id_col):
    the unit of work answers StaleVersion, not an internal error."""
    lead = new_lead(ldb)
    uow = ldb.uow()
    with pytest.raises(StaleVersion):
        with uow:
            mine = uow.session.get(Lead, lead["id"])
            leads.update_lead(ldb.uow(), OWNER, lead["id"], {"notes": "theirs"}, 1)   # someone else, meanwhile
            mine.notes = "mine"
            uow.commit()
    assert ldb.all(Lead)[0].notes == "theirs"


def test_converted_lead_cannot_be_edited_or_deleted(ldb):
    lead = new_lead(ldb)
    leads.convert_lead(ldb.uow(), OWNER, lead["id"], None)
    with pytest.raises(InvalidState) as exc:
        leads.update_lead(ldb.uow(), OWNER, lead["id"], {"notes": "x"}, None)
    assert exc.value.extra["current_state"] == "converted"
    with pytest.raises(InvalidState):
        leads.delete_lead(ldb.uow(), OWNER, lead["id"], None)


@pytest.mark.parametrize("status, deletable", [("unassigned", True), ("pending", True), ("invalid", True),
                                               ("discarded", True), ("following", False), ("converted", False)])
def test_lead_delete_by_status(ldb, status, deletable):
    lead = new_lead(ldb)
    with ldb.session() as s:
        s.get(Lead, lead["id"]).status = status
        s.commit()
    if deletable:
        leads.delete_lead(ldb.uow(), OWNER, lead["id"], None)
        assert ldb.count(Lead) == 0
    else:
        with pytest.raises(InvalidState):
            leads.delete_lead(ldb.uow(), OWNER, lead["id"], None)


def test_update_to_a_live_duplicate_phone_is_409(ldb):
    new_lead(ldb)
    other = new_lead(ldb, phone="13900000002")
    with pytest.raises(Duplicate) as exc:
        leads.update_lead(ldb.uow(), OWNER, other["id"], {"phone": "139 0000 0001"}, None)
    assert exc.value.extra["field"] == "phone"


# -- mass assignment -------------------------------------------------------------------
@pytest.mark.parametrize("field", ["id", "owner_id", "department_id", "status", "version", "created_at",
                                   "updated_at", "customer_id", "contact_id", "converted_at", "pool_id",
                                   "phone_key", "created_by"])
def test_lead_update_refuses_server_owned_fields(ldb, field):
    lead = new_lead(ldb)
    with pytest.raises(ValidationFailed) as exc:
        leads.update_lead(ldb.uow(), OWNER, lead["id"], {"notes": "x", field: "x"}, None)
    assert exc.value.errors == {field: [SERVER_MSG]}
    assert ldb.all(Lead)[0].notes is None


@pytest.mark.parametrize("field", ["id", "owner_id", "department_id", "version", "deal_status", "claim_count",
                                   "paid_total", "order_total", "opportunity_total", "source_lead_id",
                                   "pool_id", "summary", "name_key"])
def test_customer_writes_refuse_server_owned_fields(cdb, field):
    with pytest.raises(ValidationFailed) as exc:
        customers.create_customer(cdb.uow(), OWNER, {"name": "Initech", field: "x"})
    assert exc.value.errors == {field: [SERVER_MSG]}
    customer = customers.create_customer(cdb.uow(), OWNER, {"name": "Initech"})
    with pytest.raises(ValidationFailed) as exc:
        customers.update_customer(cdb.uow(), OWNER, customer["id"], {field: "x"}, None)
    assert exc.value.errors == {field: [SERVER_MSG]}


@pytest.mark.parametrize("field", ["id", "owner_id", "department_id", "version", "customer_id", "phone_key"])
def test_contact_update_refuses_server_owned_fields(cdb, field):
    customer = customers.create_customer(cdb.uow(), OWNER, {"name": "Initech"})
    contact = customers.create_contact(cdb.uow(), OWNER, {"customer_id": customer["id"], "name": "Peter"})
    with pytest.raises(ValidationFailed) as exc:
        customers.update_contact(cdb.uow(), OWNER, contact["id"], {field: "x"}, None)
    assert exc.value.errors == {field: [SERVER_MSG]}


def test_unknown_fields_are_refused(ldb):
    lead = new_lead(ldb)
    with pytest.raises(ValidationFailed) as exc:
        leads.update_lead(ldb.uow(), OWNER, lead["id"], {"colour": "red"}, None)
    assert "colour" in exc.value.errors


# -- customers and contacts ---------------------------------------------------------------
def test_create_customer_owned_by_caller_and_announced(cdb):
    customer = customers.create_customer(cdb.uow(), OWNER, {"name": "Initech", "level": "A"})
    assert customer["owner_id"] == "owner-1" and customer["department_id"] == "d1a"
    assert customer["version"] == 1 and customer["contacts"] == []
    [event] = cdb.outbox("customer_created")
    assert event.body["payload"]["customer_id"] == customer["id"]
    assert event.body["payload"]["primary_contact_id"] is None


def test_duplicate_customer_name_is_409_with_existing_id(cdb):
    first = customers.create_customer(cdb.uow(), OWNER, {"name": "Initech GmbH"})
    with pytest.raises(Duplicate) as exc:
        customers.create_customer(cdb.uow(), MANAGER, {"name": "  initech gmbh"})
    assert exc.value.extra == {"existing_id": first["id"], "field": "name"}
    other = customers.create_customer(cdb.uow(), OWNER, {"name": "Globex"})
    with pytest.raises(Duplicate):
        customers.update_customer(cdb.uow(), OWNER, other["id"], {"name": "INITECH GMBH"}, 1)
    assert customers.update_customer(cdb.uow(), OWNER, first["id"], {"name": "Initech gmbh"}, 1)["version"] == 2


def test_customer_update_and_delete(cdb):
    customer = customers.create_customer(cdb.uow(), OWNER, {"name": "Initech"})
    updated = customers.update_customer(cdb.uow(), OWNER, customer["id"], {"level": "B", "tags": ["x"]}, 1)
    assert updated["level"] == "B" and updated["version"] == 2
    [event] = cdb.outbox("customer_updated")
    assert event.body["payload"]["changed"] == ["level", "tags"]
    contact = customers.create_contact(cdb.uow(), OWNER, {"customer_id": customer["id"], "name": "Peter"})
    with pytest.raises(StaleVersion):
        customers.delete_customer(cdb.uow(), OWNER, customer["id"], 1)
    customers.delete_customer(cdb.uow(), OWNER, customer["id"], 2)
    assert cdb.count(Customer) == 0 and cdb.count(Contact) == 0
    [event] = cdb.outbox("customer_deleted")
    assert event.body["payload"]["contact_ids"] == [contact["id"]]


def test_customer_with_business_cannot_be_deleted(cdb):
    customer = customers.create_customer(cdb.uow(), OWNER, {"name": "Initech"})
    with cdb.session() as s:
        s.get(Customer, customer["id"]).deal_status = "deal"
        s.commit()
    with pytest.raises(InvalidState):
        customers.delete_customer(cdb.uow(), OWNER, customer["id"], None)


def test_contacts_follow_their_customer(cdb):
    customer = customers.create_customer(cdb.uow(), OWNER, {"name": "Initech"})
    first = customers.create_contact(cdb.uow(), OWNER, {"customer_id": customer["id"], "name": "Peter",
                                                        "is_primary": True, "phone": "139-0000-0009"})
    second = customers.create_contact(cdb.uow(), OWNER, {"customer_id": customer["id"], "name": "Samir",
                                                         "is_primary": True})
    assert customers.get_contact(cdb.uow(), OWNER, first["id"])["is_primary"] is False
    assert second["owner_id"] == "owner-1"
    listed = customers.list_contacts(cdb.uow(), OWNER, {"customer_id": customer["id"]})
    assert [c["id"] for c in listed["items"]] == [second["id"], first["id"]]
    updated = customers.update_contact(cdb.uow(), OWNER, first["id"], {"title": "CTO"}, 2)
    assert updated["title"] == "CTO" and updated["version"] == 3
    entries = customers.contact_history(cdb.uow(), OWNER, first["id"])["items"]
    assert [e["action"] for e in entries] == ["update", "update", "create"]
    assert entries[1]["changes"] == {"is_primary": [True, False]}
    with pytest.raises(NotFound):
        customers.create_contact(cdb.uow(), OWNER, {"customer_id": "nope", "name": "X"})
    with pytest.raises(ValidationFailed) as exc:
        customers.create_contact(cdb.uow(), OWNER, {"name": "X"})
    assert "customer_id" in exc.value.errors


# -- API schemas -------------------------------------------------------------------------
def _service_classes():
    from crm_kit.config import SERVICES
    from crm_kit.ops.topology import service_class
    return [service_class(name) for name in SERVICES]


@pytest.mark.parametrize("cls", _service_classes(), ids=lambda c: c.name)
def test_api_schemas_are_valid_json_schema(cls):
    schemas = schemas_as_json(cls.name, cls.api_schemas)
    assert set(schemas) == {f"{cls.name}.{n}" for n in cls.api_schemas}
    for name, schema in schemas.items():
        Draft202012Validator.check_schema(schema)
        assert "$ref" not in repr(schema), f"{name} is not self-contained"


def test_api_schemas_json_rpc_and_the_contract_it_documents():
    from services.customers.service import CustomersService
    from services.leads.service import LeadsService
    schemas = LeadsService.api_schemas_json(LeadsService.__new__(LeadsService))
    assert {"leads.Lead", "leads.LeadCreate", "leads.LeadUpdate", "leads.ConvertRequest", "leads.LeadList",
            "leads.TeamMember", "leads.TeamMemberSet", "leads.AuditEntry", "leads.AuditList"} <= set(schemas)
    assert schemas["leads.LeadCreate"]["required"] == ["name"]
    assert "required" not in schemas["leads.LeadUpdate"]
    assert "status" not in schemas["leads.LeadUpdate"]["properties"]
    assert schemas["leads.LeadCreate"]["additionalProperties"] is False
    customers_schemas = CustomersService.api_schemas_json(CustomersService.__new__(CustomersService))
    assert {"customers.Customer", "customers.CustomerCreate", "customers.CustomerUpdate", "customers.Contact",
            "customers.ContactCreate", "customers.ContactUpdate"} <= set(customers_schemas)
    item = customers_schemas["customers.CustomerList"]["properties"]["items"]["items"]
    assert {"name", "tags", "owner_id"} <= set(item["properties"])      # the page's item schema, inlined
    contacts = customers_schemas["customers.Customer"]["properties"]["contacts"]["items"]   # nested, inlined
    assert {"name", "phone", "is_primary"} <= set(contacts["properties"])


@pytest.mark.parametrize("service", ["leads", "customers"])
def test_the_collected_api_schemas_hold_every_name_the_gateway_routes_use(service):
    """``api_schemas(schemas, audit, team_members)`` collects what was listed by hand: the public
    names the gateway's routes (and so its OpenAPI document) refer to are all there, and nothing
    internal (a ``_`` name, a nested item schema) is published."""
    from crm_kit.ops.topology import service_class
    from gateway.routes import ROUTES
    published = service_class(service).api_schemas
    used = {name.split(".", 1)[1] for route in ROUTES for name in (route.request, route.response, route.query_schema)
            if name and name.startswith(f"{service}.")}
    assert used and used <= set(published), sorted(used - set(published))
    assert not [name for name in published if name.startswith("_") or name.endswith("Out")]


def test_a_list_kept_as_rows_is_audited_as_one_field_of_its_owner(cdb):
    acting(OWNER, "req-t")
    customer = customers.create_customer(cdb.uow(), OWNER, {"name": "Initrode", "tags": ["vip", "north"]})
    customers.update_customer(cdb.uow(), OWNER, customer["id"], {"tags": ["north", "east"]}, 1)
    customers.update_customer(cdb.uow(), OWNER, customer["id"], {"tags": ["east", "north"]}, 2)  # same set
    entries = customers.customer_history(cdb.uow(), OWNER, customer["id"])["items"]
    tags = [e["changes"].get("tags") for e in reversed(entries)]
    assert tags[:2] == [[None, ["vip", "north"]], [["north", "vip"], ["north", "east"]]]
    assert all(t is None for t in tags[2:])
