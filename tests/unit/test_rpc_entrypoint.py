"""How an RPC request's deadline and key travel: the client's headers, the entrypoint's context.

``crm_kit.runtime.rpc_client`` puts the deadline (``x-crm-deadline`` and the AMQP expiration) and, under a
client's Idempotency-Key, a stable request key on each request, and passes none of the request's own
keys on to the calls a worker makes; ``crm_kit.runtime.entrypoints.CrmRpc`` drops a request that arrives
after its deadline and tells the unit of work the request's key and whether it may have been
handled before (redelivered, or a stable key). The broker-level behaviour is in
``tests/integration/test_deadlines.py`` and ``test_unavailable.py``; here the bookkeeping.
"""
from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from nameko.amqp.publish import Publisher

from crm_kit.context import DEADLINE, DEADLINE_HEADER, IDEMPOTENCY_KEY, MAYBE_HANDLED, REQUEST_KEY, REQUEST_KEY_HEADER
from crm_kit.errors import Forbidden
from crm_kit.runtime.entrypoints import CrmRpc
from crm_kit.runtime.rpc_client import REPLY_GRACE, _Method, _RequestPublisher


class _Service:
    def create_thing(self, data):
        return data


class _Container:
    service_name = "things"
    service_cls = _Service
    config = {}

    def __init__(self):
        self.spawned = []

    def spawn_worker(self, provider, args, kwargs, context_data=None, handle_result=None):
        self.spawned.append((args, kwargs, context_data))


PRINCIPAL = {"user_id": "u1", "role": "member", "department_id": None, "scope_department_ids": []}


class _Message:
    def __init__(self, headers=None, redelivered=False, correlation_id="corr-1", principal=PRINCIPAL):
        self.headers = dict(headers or {}, **({"nameko.principal": principal} if principal else {}))
        self.properties = {"correlation_id": correlation_id}
        self.delivery_info = {"redelivered": redelivered, "routing_key": "things.create_thing"}


@pytest.fixture
def entrypoint():
    acked = []
    rpc = CrmRpc()
    rpc.container = _Container()
    rpc.method_name = "create_thing"
    rpc.rpc_consumer = SimpleNamespace(queue_consumer=SimpleNamespace(ack_message=acked.append),
                                       requeue_message=lambda m: None)
    rpc.acked = acked
    return rpc


def _handle(entrypoint, message):
    entrypoint.handle_message({"args": [{"a": 1}], "kwargs": {}}, message)
    return entrypoint.container.spawned[-1][2] if entrypoint.container.spawned else None


@pytest.mark.parametrize("headers, redelivered, key, maybe", [
    ({}, False, "c:corr-1", False),                                    # a first delivery: no look-up
    ({}, True, "c:corr-1", True),                                      # redelivered: look for the reply
    ({REQUEST_KEY_HEADER: "k:abc"}, False, "k:abc", True),             # a client's retry may be a repeat
])
def test_the_request_key_and_whether_to_look_for_a_first_reply(entrypoint, headers, redelivered, key, maybe):
    context = _handle(entrypoint, _Message(headers, redelivered))
    assert (context[REQUEST_KEY], context[MAYBE_HANDLED]) == (key, maybe)


def test_the_deadline_reaches_the_worker(entrypoint):
    deadline = time.time() + 5
    assert _handle(entrypoint, _Message({DEADLINE_HEADER: deadline}))[DEADLINE] == deadline
    assert _handle(entrypoint, _Message({DEADLINE_HEADER: "garbage"}))[DEADLINE] is None


def test_a_call_without_a_principal_is_refused_before_any_work(entrypoint):
    with pytest.raises(Forbidden):         # (nameko's consumer answers it as the typed error)
        _handle(entrypoint, _Message(principal=None))
    assert entrypoint.container.spawned == []


def test_a_platform_call_says_it_needs_no_principal(entrypoint):
    entrypoint.requires_principal = False          # as @rpc(principal=False) declares it
    assert _handle(entrypoint, _Message(principal=None)) is not None
    assert CrmRpc(principal=False).requires_principal is False and CrmRpc().requires_principal is True


def test_a_request_arriving_after_its_deadline_is_dropped_unanswered(entrypoint):
    message = _Message({DEADLINE_HEADER: time.time() - 0.1})
    assert _handle(entrypoint, message) is None           # no worker
    assert entrypoint.acked == [message]                   # and not redelivered either


def _published(monkeypatch, worker_data: dict, timeout: float = 4.0) -> dict:
    """What ``_Method`` publishes for one call (the broker stood in for by Publisher.publish)."""
    seen = {}

    def publish(self, payload, **kwargs):
        seen.update(kwargs, expiration_seconds=kwargs["expiration"])
        raise _Stop()
    monkeypatch.setattr(Publisher, "publish", publish)
    worker_ctx = SimpleNamespace(data=worker_data, context_data={}, call_id_stack=[],
                                 container=SimpleNamespace(config={"AMQP_URI": "memory://"}))
    proxy = SimpleNamespace(worker_ctx=worker_ctx, service_name="things", reply_listener=_ReplyListener(),
                            options={"use_confirms": False})
    with pytest.raises(_Stop):
        _Method(proxy, "things", "create_thing", timeout)({"a": 1})
    return seen


class _Stop(Exception):
    pass


class _ReplyListener:
    routing_key = "reply-key"

    def get_reply_event(self, correlation_id):
        return None


def test_each_call_carries_its_own_deadline_and_no_key_of_the_request_it_is_made_from(monkeypatch):
    before = time.time()
    sent = _published(monkeypatch, {"request_id": "r1"})
    deadline = sent["extra_headers"][DEADLINE_HEADER]
    assert before + 4 <= deadline <= time.time() + 4
    assert 3.9 <= sent["expiration_seconds"] <= 4.0
    assert REQUEST_KEY_HEADER not in sent["extra_headers"]
    assert sent["retry_policy"]["max_retries"] == 1     # a broker that is away is a 503 now, not in seconds
    assert REPLY_GRACE < 1


def test_a_call_made_while_handling_a_request_keeps_within_its_deadline(monkeypatch):
    parent = time.time() + 1.5
    sent = _published(monkeypatch, {DEADLINE: parent, REQUEST_KEY: "c:parent", MAYBE_HANDLED: True}, timeout=10)
    assert sent["extra_headers"][DEADLINE_HEADER] == parent
    assert sent["expiration_seconds"] <= 1.5
    assert not any(k.startswith("nameko.crm_") for k in sent["extra_headers"])


def test_under_an_idempotency_key_the_request_key_is_stable_per_method(monkeypatch):
    one = _published(monkeypatch, {IDEMPOTENCY_KEY: "user+key+POST+/api/v1/things"})
    two = _published(monkeypatch, {IDEMPOTENCY_KEY: "user+key+POST+/api/v1/things"})
    other = _published(monkeypatch, {IDEMPOTENCY_KEY: "user+other-key+POST+/api/v1/things"})
    key = one["extra_headers"][REQUEST_KEY_HEADER]
    assert key.startswith("k:") and len(key) <= 100
    assert two["extra_headers"][REQUEST_KEY_HEADER] == key != other["extra_headers"][REQUEST_KEY_HEADER]


def test_the_request_publisher_drops_the_handled_requests_own_headers(monkeypatch):
    publisher = _RequestPublisher("memory://")
    publisher.call_headers = {DEADLINE_HEADER: 1.0}
    captured = {}
    monkeypatch.setattr(Publisher, "publish", lambda self, payload, **kw: captured.update(kw))
    publisher.publish({}, extra_headers={"nameko.request_id": "r1", "nameko.crm_request_key": "c:x",
                                         "nameko.crm_idempotency_key": "secret"})
    assert captured["extra_headers"] == {"nameko.request_id": "r1", DEADLINE_HEADER: 1.0}
    assert captured["mandatory"] is False
