"""Every RPC from the gateway has a deadline: a service that does not answer is a 503.

Two ways a service fails to answer: it is not running at all (its queue has no
consumer, or does not exist), or it is hung (SIGSTOP: it holds the request and
says nothing, like a pod stuck in a long GC pause). Either way the client gets a
problem+json 503 naming the service once ``RPC_TIMEOUT_SECONDS`` have passed,
never a hang and never a stack trace; other routes keep working, and the hung
service answers again once it resumes.
"""
from __future__ import annotations

import signal
import time

import pytest

from tests.integration.harness import Platform

TIMEOUT = 2.0


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    # customers is deliberately not started
    plat = Platform(tmp_path_factory.mktemp("deadlines"), services=("leads", "gateway"),
                    extra_env={"RPC_TIMEOUT_SECONDS": str(TIMEOUT)})
    try:
        plat.start()
        yield plat
    finally:
        plat.destroy()


def _assert_503(resp, service: str, elapsed: float, waited: bool) -> None:
    assert resp.status_code == 503, resp.text
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == 503 and service in body["detail"]
    assert "Traceback" not in resp.text
    assert elapsed < TIMEOUT + 3, elapsed                     # never longer than the deadline
    if waited:
        assert elapsed >= TIMEOUT * 0.9, elapsed               # it did wait for the service


def test_a_service_that_is_not_running_is_a_503_after_the_deadline(platform):
    started = time.monotonic()
    resp = platform.get("/api/v1/customers")
    # (RPC requests are published without confirms, so "no queue at all" is not told apart from
    # "nobody consuming": both are the deadline; under Kubernetes the queues always exist.)
    _assert_503(resp, "customers", time.monotonic() - started, waited=False)
    assert platform.get("/api/v1/leads").status_code == 200          # the others still answer


def test_a_hung_service_is_a_503_after_the_deadline_and_answers_again_once_resumed(platform):
    assert platform.get("/api/v1/leads").status_code == 200
    leads = platform.procs["leads"][0]
    leads.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        resp = platform.get("/api/v1/leads")
        _assert_503(resp, "leads", time.monotonic() - started, waited=True)
    finally:
        leads.send_signal(signal.SIGCONT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if platform.get("/api/v1/leads").status_code == 200:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("leads did not answer again after SIGCONT")
