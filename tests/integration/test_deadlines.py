"""Every RPC from the gateway has a deadline: a service that does not answer is a 503.

Two ways a service fails to answer: it is not running at all (its queue has no
consumer, or does not exist), or it is hung (SIGSTOP: it holds the request and
says nothing, like a pod stuck in a long GC pause). Either way the client gets a
problem+json 503 naming the service once ``RPC_TIMEOUT_SECONDS`` have passed,
never a hang and never a stack trace; other routes keep working, and the hung
service answers again once it resumes.
"""
from __future__ import annotations

import json
import signal
import time

import pytest
import requests

from crm_kit.ids import new_id
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


# the export streams its body: its first page is still fetched within the request, so a problem+json too
@pytest.mark.parametrize("path", ["/api/v1/leads", "/api/v1/leads/export"])
def test_a_hung_service_is_a_503_after_the_deadline_and_answers_again_once_resumed(platform, path):
    assert platform.get("/api/v1/leads").status_code == 200
    leads = platform.procs["leads"][0]
    leads.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        resp = platform.get(path)
        _assert_503(resp, "leads", time.monotonic() - started, waited=True)
    finally:
        leads.send_signal(signal.SIGCONT)
    _answers_again(platform)


def _answers_again(platform) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if platform.get("/api/v1/leads").status_code == 200:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("leads did not answer again after SIGCONT")


def test_an_export_cut_short_by_a_hung_service_is_an_incomplete_transfer_not_a_short_file(platform):
    """Once the first page is sent, the status cannot change: a later page that fails must leave the
    chunked body without its end (the client's HTTP library raises), never end it as if complete."""
    for part in range(3):              # 300 pages of 10: seconds of streaming (each import well within 2 s)
        rows = "name\n" + "".join(f"Bulk {part}-{i}\n" for i in range(1000))
        report = platform.post("/api/v1/leads/import", data=rows.encode(), headers={"Content-Type": "text/csv"},
                               timeout=120)
        assert report.status_code == 200 and report.json()["created"] == 1000, report.text
    leads = platform.procs["leads"][0]
    request_id = f"cut-{new_id()}"
    with platform.get("/api/v1/leads/export", stream=True, headers={"X-Request-ID": request_id}) as resp:
        assert resp.status_code == 200 and resp.headers["Transfer-Encoding"] == "chunked"
        chunks = resp.iter_content(chunk_size=None)
        received = next(chunks)
        leads.send_signal(signal.SIGSTOP)              # while the gateway is still fetching pages
        try:
            with pytest.raises(requests.exceptions.ChunkedEncodingError):
                for chunk in chunks:
                    received += chunk
        finally:
            leads.send_signal(signal.SIGCONT)
    assert received.startswith(b"id,name,") and received.count(b"\r\n") < 3001
    _answers_again(platform)

    def logged():
        lines = [json.loads(line) for line in platform.log("gateway").splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("request_id") == request_id and "broke" in line["message"]]
    assert "leads" in platform.eventually(logged)[0]["message"]


def _named(platform, name: str) -> list:
    resp = platform.get("/api/v1/leads", params={"q": name, "limit": 200})
    assert resp.status_code == 200, resp.text
    return [lead for lead in resp.json()["items"] if lead["name"] == name]


def _after_the_backlog(platform) -> None:
    """Once leads answers again, whatever waited for it has been taken (prefetched requests too)."""
    _answers_again(platform)
    marker = f"marker-{new_id()}"
    assert platform.post("/api/v1/leads", json={"name": marker}).status_code == 201
    assert _named(platform, marker)


def test_a_create_answered_503_at_its_deadline_is_not_carried_out_later(platform):
    """The request waited in the queue (or in the hung process) past its deadline: the gateway said
    503, so the service must not create the lead when it comes back (x-crm-deadline, expiration)."""
    name = f"late-{new_id()}"
    leads = platform.procs["leads"][0]
    leads.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        resp = platform.post("/api/v1/leads", json={"name": name})
        _assert_503(resp, "leads", time.monotonic() - started, waited=True)
        assert int(resp.headers["Retry-After"]) >= 1
    finally:
        leads.send_signal(signal.SIGCONT)
    _after_the_backlog(platform)
    assert _named(platform, name) == []


def test_a_retry_under_the_same_idempotency_key_after_a_503_creates_exactly_once(platform):
    name = f"retried-{new_id()}"
    key = {"Idempotency-Key": f"key-{new_id()}"}
    leads = platform.procs["leads"][0]
    leads.send_signal(signal.SIGSTOP)
    try:
        assert platform.post("/api/v1/leads", json={"name": name}, headers=key).status_code == 503
    finally:
        leads.send_signal(signal.SIGCONT)
    _answers_again(platform)
    retried = platform.post("/api/v1/leads", json={"name": name}, headers=key)
    assert retried.status_code == 201, retried.text
    again = platform.post("/api/v1/leads", json={"name": name}, headers=key)
    assert again.status_code == 201 and again.json()["id"] == retried.json()["id"]
    _after_the_backlog(platform)
    assert [lead["id"] for lead in _named(platform, name)] == [retried.json()["id"]]
