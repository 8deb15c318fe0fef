"""An RPC request is applied once and never after its deadline (``crm_kit.runtime.uow``).

The unit of work of an RPC worker records the request's key and reply in ``handled_requests`` in the
same transaction as the effect; a delivery that may be a repeat (redelivered, or a retry under the
client's Idempotency-Key) finds it and leaves with the first reply. Past the deadline nothing starts
and nothing commits. Both backends: the reply travels in the bulk insert on PostgreSQL.
"""
from __future__ import annotations

import time

import pytest
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.errors import Duplicate
from crm_kit.records.db import make_base
from crm_kit.runtime.uow import AlreadyHandled, DeadlineExceeded, RpcRequest

Base = make_base()


class Thing(Base):
    __tablename__ = "things"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(make_db, request):
    return make_db(Base, "test", backend=request.param)


def _create(uow, thing_id: str, name: str = None):
    """A writing use case in the platform's shape: it ends with ``return uow.commit(reply)``."""
    with uow:
        thing = Thing(id=thing_id, name=name or thing_id)
        uow.session.add(thing)
        return uow.commit(lambda: {"id": thing.id, "name": thing.name, "nested": [1, "two", None]})


def _replies(db) -> list:
    table = db.metadata.tables["handled_requests"]
    with db.session() as s:
        return s.execute(select(table.c.request_key, table.c.method, table.c.reply)).all()


def test_the_reply_is_recorded_with_the_effect(db):
    reply = _create(db.uow(request=RpcRequest("c:1", "create_thing")), "t1")
    assert reply == {"id": "t1", "name": "t1", "nested": [1, "two", None]}
    assert _replies(db) == [("c:1", "create_thing", reply)]
    assert db.count(Thing) == 1


def test_a_redelivered_request_is_answered_with_the_first_reply_and_not_applied_again(db):
    first = _create(db.uow(request=RpcRequest("c:1", "create_thing")), "t1")
    again = db.uow(request=RpcRequest("c:1", "create_thing", maybe_handled=True))
    with pytest.raises(AlreadyHandled) as caught:
        _create(again, "t2")              # the same request: the work it would do is not done
    assert caught.value.reply == first
    assert [t.id for t in db.all(Thing)] == ["t1"]
    assert again.session is None          # the session was closed on the way out


def test_a_request_not_known_as_a_repeat_does_not_look(db):
    """Only a redelivery or a retry pays the look-up; a new request meets the primary key only if
    it races a twin (next test)."""
    _create(db.uow(request=RpcRequest("c:1", "create_thing")), "t1")
    assert _create(db.uow(request=RpcRequest("c:2", "create_thing", maybe_handled=True)), "t2")["id"] == "t2"


def test_two_deliveries_racing_meet_at_the_key(db):
    """Both looked before either committed: the second commit meets the key and leaves with the
    first reply, its own change rolled back."""
    first, second = (db.uow(request=RpcRequest("k:same", "create_thing", maybe_handled=True)) for _ in range(2))
    with second:                          # looked: nothing yet
        reply = _create(first, "t1")      # meanwhile the twin commits
        other = Thing(id="t2", name="t2")
        second.session.add(other)
        with pytest.raises(AlreadyHandled) as caught:
            second.commit(lambda: {"id": other.id})
    assert caught.value.reply == reply
    assert [t.id for t in db.all(Thing)] == ["t1"]


def test_an_error_of_the_request_itself_is_raised_as_it_is(db):
    """A refused write whose key is not recorded is the request's own conflict (a duplicate name)."""
    _create(db.uow(request=RpcRequest("c:1", "create_thing")), "t1", name="same")
    with pytest.raises(Exception) as caught:
        _create(db.uow(request=RpcRequest("c:2", "create_thing")), "t2", name="same")
    assert not isinstance(caught.value, AlreadyHandled)
    assert [r[0] for r in _replies(db)] == ["c:1"]


def test_commits_without_a_reply_record_nothing(db):
    uow = db.uow(request=RpcRequest("c:1", "import_things"))
    with uow:
        uow.session.add(Thing(id="t1", name="t1"))
        uow.commit()                       # a chunk of a bigger job
    assert uow.committed and not uow.reply_recorded and _replies(db) == []
    with uow:
        assert uow.commit({"created": 1}) == {"created": 1}     # its last commit: the report
    assert uow.reply_recorded and _replies(db) == [("c:1", "import_things", {"created": 1})]


def test_no_request_no_record(db):
    assert _create(db.uow(), "t1")["id"] == "t1"
    assert _replies(db) == []


def test_nothing_starts_after_the_deadline(db):
    uow = db.uow(request=RpcRequest("c:1", "create_thing", deadline=time.time() - 0.01))
    with pytest.raises(DeadlineExceeded) as caught:
        _create(uow, "t1")
    assert caught.value.status == 503 and caught.value.extra["service"] == "test"
    assert db.count(Thing) == 0


def test_nothing_commits_after_the_deadline(db):
    """The work began in time but ran past the deadline: its caller has answered 503, so the
    commit is refused and everything rolled back ("503" means "not done")."""
    uow = db.uow(request=RpcRequest("c:1", "create_thing", deadline=time.time() + 0.3))
    with pytest.raises(DeadlineExceeded):
        with uow:
            uow.session.add(Thing(id="t1", name="t1"))
            uow.session.flush()
            time.sleep(0.35)
            uow.commit({"id": "t1"})
    assert db.count(Thing) == 0 and _replies(db) == [] and db.outbox() == []


def test_a_sibling_keeps_the_deadline_and_records_no_reply(db):
    uow = db.uow(request=RpcRequest("c:1", "import_things", deadline=time.time() + 60))
    sibling = uow.sibling()
    assert sibling.request.deadline == uow.request.deadline and not sibling.request.maybe_handled
    with sibling:
        sibling.session.add(Thing(id="t1", name="t1"))
        sibling.commit()
        assert sibling.commit(lambda: {"a": "reply"}) == {"a": "reply"}   # made, returned, not recorded
    assert _replies(db) == [] and not uow.reply_recorded


def test_typed_errors_from_the_use_case_are_unchanged(db):
    uow = db.uow(request=RpcRequest("c:1", "create_thing"))
    with pytest.raises(Duplicate):
        with uow:
            raise Duplicate("already there", {"existing_id": "x"})
    assert _replies(db) == []


def test_a_twin_met_at_the_use_cases_own_flush_is_already_handled(db):
    """The twin committed first; this delivery's flush meets a unique key of the record itself (not
    the request's key at commit): still the first reply, not an error."""
    first = _create(db.uow(request=RpcRequest("k:twin", "create_thing")), "t1", name="unique-name")
    with pytest.raises(AlreadyHandled) as caught:
        uow = db.uow(request=RpcRequest("k:twin", "create_thing"))    # looked before the twin committed
        with uow:
            uow.session.add(Thing(id="t2", name="unique-name"))
            uow.session.flush()
    assert caught.value.reply == first


def test_a_twin_event_met_at_the_use_cases_own_flush_is_a_duplicate(db):
    """The same for an event handled twice at once: the second's flush meets the record's unique
    key; the kit sees the event id recorded and says duplicate, not a failure to retry and log."""
    from crm_kit.runtime.uow import DuplicateEvent
    second = db.uow(inbox_key=("things.on_made", "e1"))
    with pytest.raises(DuplicateEvent):
        with second:                                   # looked: not processed yet
            first = db.uow(inbox_key=("things.on_made", "e1"))
            with first:
                first.session.add(Thing(id="t1", name="made-once"))
                first.commit()
            second.session.add(Thing(id="t2", name="made-once"))
            second.session.flush()
    assert [t.id for t in db.all(Thing)] == ["t1"]


def test_a_request_that_committed_part_of_its_work_finishes_past_the_deadline(db):
    """An import commits chunk by chunk: once one chunk is in, stopping at the deadline would leave it
    half-written, so the later chunks (in siblings too) and the reply are committed."""
    uow = db.uow(request=RpcRequest("c:1", "import_things", deadline=time.time() + 0.2))
    with uow:
        uow.session.add(Thing(id="t1", name="t1"))
        uow.commit()
    time.sleep(0.25)
    sibling = uow.sibling()
    with sibling:
        sibling.session.add(Thing(id="t2", name="t2"))
        sibling.commit()
    with uow:
        uow.commit({"created": 2})
    assert db.count(Thing) == 2 and _replies(db) == [("c:1", "import_things", {"created": 2})]
