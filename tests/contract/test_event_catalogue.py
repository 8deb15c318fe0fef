"""Contract tests for the event catalogue (docs/events/), without a broker.

- the committed catalogue is what the code says (``python -m crm_kit.ops.catalogue --write``);
- every example validates against its JSON Schema, and broken variants do not;
- each producer's real code path writes outbox events that validate against the catalogue;
- each consumer's real application handler accepts the catalogue example.

A new event or handler fails here until it has a producer or consumer scenario below.
"""
from __future__ import annotations

import copy
import datetime as dt
import importlib
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from crm_kit.context import Principal, principal_var, request_id_var
from crm_kit.ops import catalogue as cat
from crm_kit.ops.topology import event_handlers, service_class
from crm_kit.records.db import make_engine
from crm_kit.runtime.events import EnvelopeSchema
from crm_kit.runtime.uow import UnitOfWork
from services.customers import application as customers_app
from services.customers.models import Customer
from services.leads import application as leads_app
from services.leads.models import Lead
from services.sales import application as sales_app
from services.sales.models import OpportunityRequest

pytestmark = pytest.mark.contract

CATALOGUE = cat.build()
ADMIN = Principal(user_id="u1", role="admin")

FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _rfc3339_date_time(value) -> bool:
    # jsonschema only checks date-time with an optional extra installed; RFC 3339 needs the offset.
    return not isinstance(value, str) or dt.datetime.fromisoformat(value).tzinfo is not None


def validator(schema: dict) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=FORMATS)


def assert_valid(schema: dict, instance: dict) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
              for e in validator(schema).iter_errors(instance)]
    assert not errors, f"{instance.get('producer')}.{instance.get('event_type')} breaks its contract:\n" + \
        "\n".join(errors)


def entry_id(entry: dict) -> str:
    return f"{entry['producer']}.{entry['name']}"


# -- a service's database, as its unit of work sees it ------------------------
class ServiceDb:
    def __init__(self, service: str, directory):
        self.service = service
        self.metadata = importlib.import_module(f"services.{service}.models").Base.metadata
        self.engine = make_engine(f"sqlite:///{directory / (service + '.db')}")
        self.metadata.create_all(self.engine)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)

    def uow(self, inbox_key: tuple[str, str] | None = None) -> UnitOfWork:
        return UnitOfWork(self.session_factory, self.service, self.metadata, inbox_key=inbox_key)

    def outbox(self) -> list[dict]:
        table = self.metadata.tables["outbox"]
        with self.engine.connect() as conn:
            return [row.body for row in conn.execute(select(table).order_by(table.c.id))]

    def processed(self, handler: str, event_id: str) -> bool:
        table = self.metadata.tables["processed_events"]
        with self.engine.connect() as conn:
            return conn.execute(select(table).where(
                table.c.handler == handler, table.c.event_id == event_id)).first() is not None

    def get(self, model, key):
        with self.session_factory() as session:
            return session.get(model, key)


@pytest.fixture
def dbs(tmp_path):
    """``dbs("leads")``: that service's database (one fresh SQLite file per test)."""
    opened: dict[str, ServiceDb] = {}

    def get(service: str) -> ServiceDb:
        if service not in opened:
            opened[service] = ServiceDb(service, tmp_path)
        return opened[service]

    yield get
    for db in opened.values():
        db.engine.dispose()


@contextmanager
def acting_as(principal: Principal, request_id: str | None):
    tokens = principal_var.set(principal), request_id_var.set(request_id)
    try:
        yield
    finally:
        principal_var.reset(tokens[0])
        request_id_var.reset(tokens[1])


# -- the committed catalogue -------------------------------------------------
def test_committed_catalogue_is_up_to_date():
    stale = [str(p.relative_to(cat.REPO_ROOT)) for p in cat.stale_files(cat.rendered(CATALOGUE))]
    assert not stale, f"{', '.join(stale)} out of date: run `{cat.WRITE_COMMAND}` and commit the result"


def test_every_example_file_belongs_to_an_event():
    known = {cat.example_path(e["producer"], e["name"]) for e in CATALOGUE["events"]}
    orphans = [str(p.relative_to(cat.REPO_ROOT)) for p in cat.EXAMPLES_DIR.rglob("*.json") if p not in known]
    assert not orphans, f"examples for events nobody publishes: {orphans}"


@pytest.mark.parametrize("entry", CATALOGUE["events"], ids=entry_id)
def test_schemas_are_valid_json_schema_2020_12(entry):
    Draft202012Validator.check_schema(entry["payload_schema"])
    Draft202012Validator.check_schema(entry["envelope_schema"])


@pytest.mark.parametrize("entry", CATALOGUE["events"], ids=entry_id)
def test_example_validates_against_its_schema(entry):
    assert_valid(entry["envelope_schema"], entry["example"])
    assert EnvelopeSchema().validate(entry["example"]) == {}  # what every consumer checks first


def _broken_variants(entry: dict) -> dict[str, dict]:
    schema, example = entry["payload_schema"], entry["example"]
    required = schema["required"][0]
    string_field = next(name for name, prop in schema["properties"].items() if prop.get("type") == "string")
    variants = {
        f"missing payload.{required}": {k: v for k, v in example["payload"].items() if k != required},
        f"payload.{string_field} not a string": {**example["payload"], string_field: 12345},
        "undeclared payload field": {**example["payload"], "surprise": True},
    }
    out = {name: {**example, "payload": payload} for name, payload in variants.items()}
    out["wrong event_type"] = {**example, "event_type": example["event_type"] + "_v2"}
    out["occurred_at without offset"] = {**example, "occurred_at": "2024-11-25T14:03:11"}
    out["missing envelope field"] = {k: v for k, v in example.items() if k != "event_id"}
    return out


@pytest.mark.parametrize("entry", CATALOGUE["events"], ids=entry_id)
def test_broken_examples_are_rejected(entry):
    check = validator(entry["envelope_schema"])
    accepted = [name for name, instance in _broken_variants(entry).items() if check.is_valid(instance)]
    assert not accepted, f"the schema of {entry_id(entry)} accepts broken events: {accepted}"


def test_every_consumer_listens_to_a_published_event():
    published = {(producer, event.name) for producer, event in cat.produced_events()}
    dangling = [hq.handler + f" <- {hq.source}.{hq.event_type}" for hq in cat.consumed_events()
                if (hq.source, hq.event_type) not in published]
    assert not dangling, f"handlers for events no service publishes: {dangling}"


# -- producers: run the real code path, validate the outbox -------------------
LEAD = {"name": "Maria Keller", "company": "Keller Logistik GmbH", "phone": "+49 30 1234567",
        "email": "maria.keller@keller-logistik.example", "source": "trade_show",
        "region": "Berlin", "industry": "Logistics"}


def create_lead(dbs, **fields) -> dict:
    return leads_app.create_lead(dbs("leads").uow(), ADMIN, {**LEAD, **fields})


def convert_with_opportunity(dbs):
    lead = create_lead(dbs)
    leads_app.convert_lead(dbs("leads").uow(), ADMIN, lead["id"], {"opportunity": {
        "name": "Fleet tracking rollout", "amount": "48000", "expected_close_date": "2025-01-31"}})


def convert_person_without_opportunity(dbs):
    lead = create_lead(dbs, company=None, phone=None, email=None, region=None, industry=None)
    leads_app.convert_lead(dbs("leads").uow(), ADMIN, lead["id"], None)


def deliver(dbs, handler: str, use_case, envelope: dict) -> None:
    """``envelope`` to a handler's use case as its service does: what the entrypoint makes of it (the
    payload, loaded with the schema it declares), the envelope's actor the audit's, as the platform."""
    consumer, method = handler.split(".")
    entrypoint = next(ep for queue, ep in event_handlers(service_class(consumer)) if queue.method == method)
    uow = dbs(consumer).uow(inbox_key=(handler, envelope["event_id"]))
    uow.default_actor = envelope.get("actor")
    with acting_as(Principal.system(consumer), envelope["correlation_id"]):
        use_case(uow, entrypoint.argument(envelope))


def handle_lead_converted(dbs, envelope: dict) -> None:
    deliver(dbs, "customers.handle_lead_converted", customers_app.on_lead_converted, envelope)


def customer_created_from_lead(dbs):
    handle_lead_converted(dbs, cat.find(CATALOGUE, "leads", "lead_converted")["example"])


def customer_linked_by_name(dbs):
    first = cat.find(CATALOGUE, "leads", "lead_converted")["example"]
    second = copy.deepcopy(first)
    second["event_id"] = second["payload"]["lead_id"] = "01933d00-0000-7000-8000-000000000002"
    second["payload"]["company"] = "  keller logistik gmbh "  # same customer by normalised name
    handle_lead_converted(dbs, first)
    handle_lead_converted(dbs, second)


def update_and_delete_lead(dbs):
    lead = create_lead(dbs)
    updated = leads_app.update_lead(dbs("leads").uow(), ADMIN, lead["id"],
                                    {"company": "Keller Logistik GmbH & Co. KG", "source": "referral"}, 1)
    leads_app.delete_lead(dbs("leads").uow(), ADMIN, lead["id"], updated["version"])


def customer_by_hand_updated_and_deleted(dbs):
    customer = customers_app.create_customer(dbs("customers").uow(), ADMIN,
                                             {"name": "Keller Logistik GmbH", "industry": "Logistics"})
    customers_app.create_contact(dbs("customers").uow(), ADMIN,
                                 {"customer_id": customer["id"], "name": "Maria Keller", "is_primary": True})
    other = customers_app.create_contact(dbs("customers").uow(), ADMIN,
                                         {"customer_id": customer["id"], "name": "Jonas Keller"})
    customers_app.delete_contact(dbs("customers").uow(), ADMIN, other["id"], other["version"])
    updated = customers_app.update_customer(dbs("customers").uow(), ADMIN, customer["id"], {"level": "A"}, 1)
    customers_app.delete_customer(dbs("customers").uow(), ADMIN, customer["id"], updated["version"])


def lead_pool_lifecycle(dbs):
    """A pool lead: distributed, followed up, returned, claimed, recycled, then junk and restored."""
    uow = dbs("leads").uow
    member = Principal(user_id="u-member-1", role="member", department_id="d-sales")
    pool = leads_app.create_lead_pool(uow(), ADMIN, {
        "name": "Berlin leads", "admin_ids": ["u-pool-admin"], "member_ids": ["u-member-1", "u-member-2"],
        "distribution": "round_robin", "recycle_after_days": 14, "recycle_warning_days": 3,
        "first_response_hours": 24}, {"u-member-1": "d-sales", "u-member-2": "d-sales"})
    lead = create_lead(dbs, pool_id=pool["id"])                        # lead_created + lead_assigned
    leads_app.add_lead_follow_up(uow(), ADMIN, lead["id"], {
        "kind": "call", "content": "Interested in fleet tracking", "outcome": "callback",
        "next_contact_at": "2024-12-02T09:00:00+00:00"})               # lead_status_changed
    leads_app.return_lead(uow(), ADMIN, lead["id"], "Only buys through a distributor")   # lead_returned
    leads_app.claim_lead(uow(), member, lead["id"])                    # lead_assigned (claim)
    leads_app.recycle_pool(uow(), ADMIN, pool["id"],
                           (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).isoformat())  # lead_recycled
    leads_app.discard_lead(uow(), ADMIN, lead["id"])                   # lead_status_changed
    leads_app.restore_lead(uow(), ADMIN, lead["id"])                   # lead_status_changed
    leads_app.assign_lead(uow(), ADMIN, lead["id"], "u-member-2", "d-sales")   # lead_assigned (assign)
    leads_app.invalidate_lead(uow(), ADMIN, lead["id"])                # lead_status_changed


@dataclass(frozen=True)
class Producing:
    producer: str
    run: Callable          # (dbs) -> None, acting as ADMIN
    emits: frozenset       # event names the run writes to the producer's outbox


PRODUCER_SCENARIOS = [
    Producing("leads", create_lead, frozenset({"lead_created"})),
    Producing("leads", convert_with_opportunity, frozenset({"lead_created", "lead_converted"})),
    Producing("leads", convert_person_without_opportunity, frozenset({"lead_created", "lead_converted"})),
    Producing("customers", customer_created_from_lead,
              frozenset({"customer_created", "customer_converted_from_lead"})),
    Producing("customers", customer_linked_by_name,
              frozenset({"customer_created", "customer_converted_from_lead"})),
    Producing("leads", update_and_delete_lead, frozenset({"lead_created", "lead_updated", "lead_deleted"})),
    Producing("leads", lead_pool_lifecycle, frozenset({
        "lead_created", "lead_assigned", "lead_status_changed", "lead_returned", "lead_recycled"})),
    Producing("customers", customer_by_hand_updated_and_deleted,
              frozenset({"customer_created", "contact_deleted", "customer_updated", "customer_deleted"})),
]


def test_every_event_has_a_producer_scenario():
    covered = {(s.producer, name) for s in PRODUCER_SCENARIOS for name in s.emits}
    missing = [entry_id(e) for e in CATALOGUE["events"] if (e["producer"], e["name"]) not in covered]
    assert not missing, f"events without a producer scenario in {__name__}: {missing}"


@pytest.mark.parametrize("scenario", PRODUCER_SCENARIOS, ids=lambda s: f"{s.producer}-{s.run.__name__}")
def test_producer_emits_what_the_catalogue_says(scenario, dbs):
    with acting_as(ADMIN, "req-contract-1"):
        scenario.run(dbs)
    bodies = dbs(scenario.producer).outbox()
    assert {b["event_type"] for b in bodies} == scenario.emits
    for body in bodies:
        assert_valid(cat.find(CATALOGUE, scenario.producer, body["event_type"])["envelope_schema"], body)


# -- consumers: feed the catalogue example to the real handler ----------------
def lead_exists(dbs, envelope: dict) -> dict:
    """record_conversion updates a lead, so the lead the event names must exist."""
    lead = create_lead(dbs)
    envelope["payload"]["lead_id"] = lead["id"]
    return envelope


def conversion_recorded(dbs, payload: dict) -> None:
    lead = dbs("leads").get(Lead, payload["lead_id"])
    assert (lead.customer_id, lead.contact_id) == (payload["customer_id"], payload["contact_id"])


def lead_points_at(customer_id: Callable, contact_id: Callable):
    """customer_deleted / contact_deleted change the leads pointing at what they name: one does."""
    def prepare(dbs, envelope: dict) -> dict:
        payload = envelope["payload"]
        lead = create_lead(dbs)
        leads_app.record_conversion(dbs("leads").uow(), {          # customers' answer, as the kit loads it
            "lead_id": lead["id"], "customer_id": customer_id(payload), "contact_id": contact_id(payload)})
        stored = dbs("leads").get(Lead, lead["id"])
        assert (stored.customer_id, stored.contact_id) == (customer_id(payload), contact_id(payload))
        return envelope
    return prepare


def leads_lost(*fields):
    def check(dbs, payload: dict) -> None:
        with dbs("leads").session_factory() as session:
            leads = session.scalars(select(Lead)).all()
        assert leads and all(getattr(lead, field) is None for lead in leads for field in fields), fields
    return check


def customer_exists(dbs, payload: dict) -> None:
    with dbs("customers").session_factory() as session:
        customer = session.scalars(select(Customer).where(Customer.source_lead_id == payload["lead_id"])).one()
    assert customer.name == (payload["company"] or payload["name"])


@dataclass(frozen=True)
class Consuming:
    handle: Callable                        # the application function: (uow, loaded payload) -> None
    check: Callable                         # (dbs, payload) -> None: the handler's effect
    prepare: Callable = lambda dbs, envelope: envelope   # state the event refers to


def opportunity_recorded(dbs, payload: dict) -> None:
    with dbs("sales").session_factory() as session:
        rows = session.scalars(select(OpportunityRequest).where(OpportunityRequest.lead_id == payload["lead_id"])).all()
    wanted = 1 if payload.get("opportunity") else 0
    assert len(rows) == wanted
    if wanted:
        assert str(rows[0].amount) == payload["opportunity"]["amount"]


# (source, event_type, handler) -> scenario
CONSUMER_SCENARIOS = {
    ("leads", "lead_converted", "sales.handle_lead_converted"):
        Consuming(sales_app.on_lead_converted, opportunity_recorded),
    ("leads", "lead_converted", "customers.handle_lead_converted"):
        Consuming(customers_app.on_lead_converted, customer_exists),
    ("customers", "customer_converted_from_lead", "leads.handle_customer_converted_from_lead"):
        Consuming(leads_app.record_conversion, conversion_recorded, prepare=lead_exists),
    ("customers", "customer_deleted", "leads.handle_customer_deleted"):
        Consuming(leads_app.record_customer_deleted, leads_lost("customer_id", "contact_id"),
                  prepare=lead_points_at(lambda p: p["customer_id"], lambda p: p["contact_ids"][0])),
    ("customers", "contact_deleted", "leads.handle_contact_deleted"):
        Consuming(leads_app.record_contact_deleted, leads_lost("contact_id"),
                  prepare=lead_points_at(lambda p: p["customer_id"], lambda p: p["contact_id"])),
}
CONSUMER_PAIRS = [(e["producer"], e["name"], c["handler"]) for e in CATALOGUE["events"] for c in e["consumers"]]


def test_every_consumer_has_a_scenario():
    assert set(CONSUMER_SCENARIOS) == set(CONSUMER_PAIRS), (
        f"consumers without a scenario: {sorted(set(CONSUMER_PAIRS) - set(CONSUMER_SCENARIOS))}; "
        f"scenarios for handlers that are gone: {sorted(set(CONSUMER_SCENARIOS) - set(CONSUMER_PAIRS))}")


@pytest.mark.parametrize("source, event_type, handler", CONSUMER_PAIRS,
                         ids=[f"{s}.{e}->{h}" for s, e, h in CONSUMER_PAIRS])
def test_consumer_accepts_the_example(source, event_type, handler, dbs):
    scenario = CONSUMER_SCENARIOS.get((source, event_type, handler))
    assert scenario, f"no consumer scenario for {handler} <- {source}.{event_type} in {__name__}"
    envelope = scenario.prepare(dbs, copy.deepcopy(cat.find(CATALOGUE, source, event_type)["example"]))
    assert EnvelopeSchema().validate(envelope) == {}  # the entrypoint's own check
    consumer = handler.split(".")[0]
    deliver(dbs, handler, scenario.handle, envelope)
    assert dbs(consumer).processed(handler, envelope["event_id"]), f"{handler} did not commit"
    scenario.check(dbs, envelope["payload"])
