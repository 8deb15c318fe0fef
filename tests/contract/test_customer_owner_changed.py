"""``customer_owner_changed`` tells who owns a customer now and why -- and nothing that would let a
consumer reset an opportunity's stage (domain.md: "A change of owner never loses anything:
follow-ups, contacts, opportunities and their stages stay as they were").

The catalogue's payload is closed (``additionalProperties: false``) and names no opportunity, stage,
status, deal or amount; every path that changes an owner (claim, assign, return, transfer, lead
conversion into a pooled customer) writes exactly those fields, none of them such a thing. A field
added to the payload fails here until this contract is looked at again."""
from __future__ import annotations

import re

import pytest

from crm_kit.ids import new_id
from crm_kit.ops import catalogue as cat
from services.customers import application as customers_app
from tests.contract.scenarios.customers_pools import MEMBER
from tests.contract.support import ADMIN, CATALOGUE, acting_as, assert_valid, deliver, open_dbs

pytestmark = pytest.mark.contract

ENTRY = cat.find(CATALOGUE, "customers", "customer_owner_changed")
FIELDS = {"customer_id", "owner_id", "department_id", "previous_owner_id", "pool_id", "kind", "reason", "changed_at"}
# what would let a consumer touch an opportunity: its id, stage, status, probability, amount, a deal flag...
RESETTING = re.compile(r"opportunit|stage|status|deal|order|amount|probab|won|lost|pipeline|reset", re.I)


@pytest.fixture
def dbs(tmp_path):
    yield from open_dbs(tmp_path)


def test_the_payload_is_closed_and_names_only_ownership():
    schema = ENTRY["payload_schema"]
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == FIELDS
    assert set(schema["required"]) == FIELDS
    assert not [name for name in schema["properties"] if RESETTING.search(name)]
    assert not [k for k in schema["properties"]["kind"]["enum"] if RESETTING.search(k)]
    assert not RESETTING.search(ENTRY["example"]["payload"]["kind"])


def _every_path(dbs) -> None:
    uow = lambda: dbs("customers").uow()                      # noqa: E731
    pool = customers_app.create_customer_pool(uow(), ADMIN, {"name": "Pool", "member_ids": [MEMBER.user_id]},
                                              {MEMBER.user_id: MEMBER.department_id})
    first = customers_app.create_customer(uow(), ADMIN, {"name": "Initech"})["id"]
    customers_app.return_customer(uow(), ADMIN, first, "No budget", pool["id"])                 # return
    customers_app.claim_customer(uow(), MEMBER, first)                                           # claim
    customers_app.transfer_customer(uow(), MEMBER, first, ADMIN.user_id, "read", reason="Cover")  # transfer
    customers_app.assign_customer(uow(), ADMIN, first, MEMBER.user_id, MEMBER.department_id)     # assign
    customers_app.return_customer(uow(), MEMBER, first, "Moving on", pool["id"])
    lead = dict(cat.find(CATALOGUE, "leads", "lead_converted")["example"], event_id=new_id())
    lead["payload"] = dict(lead["payload"], lead_id=new_id(), company="Initech")                  # convert
    deliver(dbs, "customers.handle_lead_converted", customers_app.on_lead_converted, lead)


def test_no_owner_change_carries_a_field_that_could_reset_a_stage(dbs):
    with acting_as(ADMIN, "req-owner-changed"):
        _every_path(dbs)
    bodies = [b for b in dbs("customers").outbox() if b["event_type"] == "customer_owner_changed"]
    assert [b["payload"]["kind"] for b in bodies] == ["return", "claim", "transfer", "assign", "return", "convert"]
    for body in bodies:
        assert_valid(ENTRY["envelope_schema"], body)
        assert set(body["payload"]) == FIELDS
        assert not [k for k in body["payload"] if RESETTING.search(k)]
