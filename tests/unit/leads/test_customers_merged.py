"""customers merged a duplicate into another (``customers_merged``): the converted leads pointing at
the merged customer point at the survivor, whatever the order in which the events arrive
(``application.customers_merged``). Delivered as the kit delivers them (``db.handle``)."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError

from crm_kit.errors import StaleVersion
from crm_kit.runtime.uow import DuplicateEvent
from services.leads import application as app
from services.leads.application import conversion, customers_merged
from services.leads.events import CustomerConvertedFromLead, CustomerDeleted, CustomersMerged
from services.leads.models import CustomerReference, Lead
from tests.unit.conftest import ADMIN, MEMBER_1
from tests.unit.leads.support import create

MERGED_HANDLER = "leads.handle_customers_merged"


def _merged(merged_id="cust-dup", survivor_id="cust-1", event_id="evt-cm-1", actor="user-7"):
    return {"event_id": event_id, "event_type": "customers_merged", "actor": actor, "payload": {
        "survivor_id": survivor_id, "merged_id": merged_id, "contact_ids": ["cont-dup"],
        "merged_at": "2024-12-11T15:00:00+00:00", "something_new": "ignored"}}


def merged(db, envelope):
    db.handle(app.record_customers_merged, envelope, CustomersMerged, MERGED_HANDLER)


def answered(db, lead_id, customer_id, contact_id="cont-dup", event_id=None):
    db.handle(app.record_conversion, {
        "event_id": event_id or f"ccfl-{lead_id}-{customer_id}", "actor": "user-1", "payload": {
            "lead_id": lead_id, "customer_id": customer_id, "contact_id": contact_id}},
        CustomerConvertedFromLead, "leads.handle_customer_converted_from_lead")


def deleted(db, customer_id, contact_ids=(), event_id=None):
    db.handle(app.record_customer_deleted, {
        "event_id": event_id or f"cd-{customer_id}", "actor": "user-9", "payload": {
            "customer_id": customer_id, "contact_ids": list(contact_ids), "deleted_at": "2024-12-12T09:00:00+00:00"}},
        CustomerDeleted, "leads.handle_customer_deleted")


def converted(db, phone, customer_id="cust-dup", contact_id="cont-dup", answer=True) -> str:
    lead = create(db, phone=phone)
    app.convert_lead(db.uow(), MEMBER_1, lead["id"], {})
    if answer:
        answered(db, lead["id"], customer_id, contact_id)
    return lead["id"]


def ids(db, lead_id):
    with db.session() as s:
        lead = s.get(Lead, lead_id)
        return lead.customer_id, lead.contact_id


def test_the_leads_of_the_merged_customer_point_at_the_survivor_audited(db):
    first = converted(db, "13800000001")
    second = converted(db, "13800000002", contact_id="cont-dup-2")
    survivors = converted(db, "13800000003", customer_id="cust-1", contact_id="cont-1")
    other = converted(db, "13800000004", customer_id="cust-9", contact_id="cont-9")
    events = len(db.outbox())

    merged(db, _merged())

    assert ids(db, first) == ("cust-1", "cont-dup")           # contacts keep their ids: now the survivor's
    assert ids(db, second) == ("cust-1", "cont-dup-2")
    assert ids(db, survivors) == ("cust-1", "cont-1") and ids(db, other) == ("cust-9", "cont-9")
    entry = app.lead_history(db.uow(), ADMIN, first, {})["items"][0]
    assert (entry["action"], entry["actor_id"], entry["changes"]) == (
        "customers_merged", "user-7", {"customer_id": ["cust-dup", "cust-1"]})
    assert app.lead_history(db.uow(), ADMIN, other, {})["items"][0]["action"] == "conversion_recorded"
    assert len(db.outbox()) == events                          # leads tells nobody: nothing of its own changed
    with db.session() as s:
        assert s.get(CustomerReference, ("customer", "cust-dup")).merged_into == "cust-1"


def test_a_merge_is_applied_once(db):
    lead = converted(db, "13800000001")
    merged(db, _merged())
    history = app.lead_history(db.uow(), ADMIN, lead, {})["items"]
    with pytest.raises(DuplicateEvent):                        # redelivered: nothing at all
        merged(db, _merged())
    merged(db, _merged(event_id="evt-cm-2"))                   # the same news again: nothing changes
    assert app.lead_history(db.uow(), ADMIN, lead, {})["items"] == history
    assert ids(db, lead) == ("cust-1", "cont-dup")


def test_a_conversion_answer_after_the_merge_records_the_survivor(db):
    lead = converted(db, "13800000001", answer=False)
    merged(db, _merged())
    answered(db, lead, "cust-dup")
    assert ids(db, lead) == ("cust-1", "cont-dup")


@pytest.mark.parametrize("order", ["in order", "reversed"])
def test_a_chain_of_merges_ends_at_its_last_survivor_in_either_order(db, order):
    """cust-a went into cust-b, then cust-b into cust-c: the events may arrive either way round."""
    on_a = converted(db, "13800000001", customer_id="cust-a")
    on_b = converted(db, "13800000002", customer_id="cust-b")
    late = converted(db, "13800000003", answer=False)
    first, second = _merged("cust-a", "cust-b", "evt-ab"), _merged("cust-b", "cust-c", "evt-bc")
    for envelope in ([first, second] if order == "in order" else [second, first]):
        merged(db, envelope)
    answered(db, late, "cust-a")
    assert ids(db, on_a)[0] == ids(db, on_b)[0] == ids(db, late)[0] == "cust-c"


def test_a_survivor_deleted_before_its_merge_is_heard_of_leaves_no_customer(db):
    lead = converted(db, "13800000001")
    late = converted(db, "13800000002", answer=False)
    deleted(db, "cust-1", ["cont-1", "cont-dup"])         # the survivor (with the merged contacts) is gone
    assert ids(db, lead) == ("cust-dup", None)
    merged(db, _merged())
    answered(db, late, "cust-dup")
    assert ids(db, lead) == (None, None) and ids(db, late) == (None, None)


def test_a_survivor_deleted_after_the_merge_takes_the_leads_with_it(db):
    lead = converted(db, "13800000001")
    merged(db, _merged())
    deleted(db, "cust-1", ["cont-dup"])
    assert ids(db, lead) == (None, None)


def test_a_conversion_answer_racing_the_merge_is_retried_and_records_the_survivor(db, monkeypatch):
    """The answer read 'not merged', then the merge committed (finding no lead pointing at the
    merged customer yet): the answer's commit meets the merge's write and fails; retried, it
    records the survivor."""
    lead = converted(db, "13800000001", answer=False)
    real, done = conversion.references, []

    def references(session, wanted):
        out = real(session, wanted)
        if not done:
            done.append(True)
            merged(db, _merged())
        return out
    monkeypatch.setattr(conversion, "references", references)
    with pytest.raises((StaleVersion, IntegrityError)):
        answered(db, lead, "cust-dup")
    answered(db, lead, "cust-dup")                       # the retry
    assert ids(db, lead) == ("cust-1", "cont-dup")


def test_a_merge_racing_the_deletion_of_its_survivor_is_retried_and_leaves_no_customer(db, monkeypatch):
    """The merge read the survivor 'not deleted', then its deletion committed (no lead pointing at
    it yet): the merge's commit meets the deletion's write and fails; retried, it clears the leads."""
    lead = converted(db, "13800000001")
    real, done = customers_merged.touch, []

    def touch(session, refs, chain, now):
        if not done:
            done.append(True)
            deleted(db, "cust-1")
        return real(session, refs, chain, now)
    monkeypatch.setattr(customers_merged, "touch", touch)
    with pytest.raises((StaleVersion, IntegrityError)):
        merged(db, _merged())
    assert ids(db, lead) == ("cust-dup", "cont-dup")
    merged(db, _merged())                                # the retry
    assert ids(db, lead) == (None, None)


@pytest.mark.parametrize("payload, field", [
    ({"merged_id": "d", "merged_at": "2024-12-11T15:00:00Z"}, "survivor_id"),
    ({"survivor_id": "s", "merged_id": None, "merged_at": "2024-12-11T15:00:00Z"}, "merged_id"),
    ({"survivor_id": "s", "merged_id": "d", "merged_at": "yesterday"}, "merged_at"),
])
def test_a_merge_with_an_invalid_payload_is_refused_before_any_work(db, payload, field):
    with pytest.raises(ValidationError) as info:
        merged(db, {"event_id": "e", "payload": payload})
    assert field in info.value.messages
    assert db.all(CustomerReference) == [] and db.inbox() == []
