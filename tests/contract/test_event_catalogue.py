"""Contract tests for the event catalogue (docs/events/), without a broker.

- the committed catalogue is what the code says (``python -m crm_kit.ops.catalogue --write``);
- every example validates against its JSON Schema, and broken variants do not;
- each producer's real code path writes outbox events that validate against the catalogue;
- each consumer's real application handler accepts the catalogue example.

A new event or handler fails here until it has a producer or consumer scenario in
``tests/contract/scenarios/`` (a module per producer or subject).
"""
from __future__ import annotations

import copy

import pytest
from jsonschema import Draft202012Validator  # noqa: F401  (the dialect of the catalogue)

from crm_kit.ops import catalogue as cat
from crm_kit.runtime.events import EnvelopeSchema
from tests.contract.scenarios import all_consumers, all_producers
from tests.contract.support import ADMIN, CATALOGUE, acting_as, assert_valid, deliver, entry_id, open_dbs, validator

pytestmark = pytest.mark.contract

PRODUCER_SCENARIOS = all_producers()
CONSUMER_SCENARIOS = all_consumers()


@pytest.fixture
def dbs(tmp_path):
    yield from open_dbs(tmp_path)


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


@pytest.mark.parametrize("entry", CATALOGUE["events"], ids=entry_id)
def test_an_envelope_with_a_traceparent_is_the_same_contract(entry):
    """A producer that traces adds ``traceparent`` (crm_kit.runtime.tracing); it is optional, and
    a value that is not a valid traceparent never makes a consumer park the event."""
    assert "traceparent" not in entry["envelope_schema"]["required"]
    for value in ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "not a traceparent"):
        traced = dict(entry["example"], traceparent=value)
        assert_valid(entry["envelope_schema"], traced)
        assert EnvelopeSchema().validate(traced) == {}


@pytest.mark.parametrize("entry", CATALOGUE["events"][:3], ids=entry_id)
def test_a_field_added_to_the_envelope_later_is_ignored_by_readers(entry):
    """Forward compatibility: a producer on a newer kit may add an envelope field; a consumer on this
    kit must take the event, not park it (the envelope schema admits further properties)."""
    newer = dict(entry["example"], tracestate="vendor=1", baggage={"tenant": "t1"})
    assert EnvelopeSchema().validate(newer) == {}
    assert_valid(entry["envelope_schema"], newer)


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
def test_every_event_has_a_producer_scenario():
    covered = {(s.producer, name) for s in PRODUCER_SCENARIOS for name in s.emits}
    missing = [entry_id(e) for e in CATALOGUE["events"] if (e["producer"], e["name"]) not in covered]
    assert not missing, f"events without a producer scenario in tests/contract/scenarios/: {missing}"


@pytest.mark.parametrize("scenario", PRODUCER_SCENARIOS, ids=lambda s: f"{s.producer}-{s.run.__name__}")
def test_producer_emits_what_the_catalogue_says(scenario, dbs):
    with acting_as(ADMIN, "req-contract-1"):
        scenario.run(dbs)
    bodies = dbs(scenario.producer).outbox()
    assert {b["event_type"] for b in bodies} == scenario.emits
    for body in bodies:
        assert_valid(cat.find(CATALOGUE, scenario.producer, body["event_type"])["envelope_schema"], body)


# -- consumers: feed the catalogue example to the real handler ----------------
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


def test_the_webhooks_service_consumes_every_published_event():
    """``services/webhooks/events/subscribed.json`` is the catalogue's list (``--write`` makes it)."""
    published = sorted((e["producer"], e["name"]) for e in CATALOGUE["events"])
    consumed = sorted((hq.source, hq.event_type) for hq in cat.consumed_events() if hq.consumer == "webhooks")
    assert consumed == published, f"run `{cat.WRITE_COMMAND}`"
