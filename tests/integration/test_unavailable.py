"""What cannot be reached is a 503, never a 500, and costs no message.

Three real outages, each behind a TCP proxy the test unplugs (connections cut, new ones refused),
so that the shared servers every other test uses stay up:

- the gateway loses RabbitMQ: every API call is a problem+json 503 with ``Retry-After`` at once
  (not a kombu error after seconds), ``/readyz`` says not ready, and it all works again after;
- leads loses its PostgreSQL: its RPCs answer 503, not 500; so does the gateway's own (sign-in);
- customers loses its PostgreSQL while leads are converted: the ``lead_converted`` handler keeps
  the messages in its queue and tries again for as long as it lasts (nothing parked in the
  ``.dlq``), and once the database is back every converted lead gets its customer.
"""
from __future__ import annotations

import time

import pytest
from kombu import Connection

from crm_kit.ids import new_id
from crm_kit.runtime.amqp import queue_depth
from tests.integration.harness import ADMIN_PASSWORD, Platform, postgres_reachable
from tests.integration.tcp_proxy import TcpProxy

pytestmark = pytest.mark.skipif(not postgres_reachable(), reason="PostgreSQL is not reachable on 127.0.0.1:5432")

DEADLINE = 3.0
HANDLER_QUEUE = "evt-leads-lead_converted--customers.handle_lead_converted"


@pytest.fixture(scope="module")
def outage(tmp_path_factory):
    broker = TcpProxy().up()
    leads_db, customers_db, gateway_db = (TcpProxy(("127.0.0.1", 5432)).up() for _ in range(3))
    plat = Platform(tmp_path_factory.mktemp("unavailable"), backend="postgresql",
                    services=("leads", "customers", "gateway"),
                    extra_env={"RPC_TIMEOUT_SECONDS": str(DEADLINE), "EVENT_MAX_ATTEMPTS": "2"})
    proxied = {name: plat.db_urls[name].replace(":5432/", f":{proxy.port}/")
               for name, proxy in (("leads", leads_db), ("customers", customers_db), ("gateway", gateway_db))}
    plat.process_env = {
        "gateway": {"AMQP_URI": plat.amqp_uri.replace(":5672/", f":{broker.port}/"),
                    "GATEWAY_DATABASE_URL": proxied["gateway"]},
        "leads": {"LEADS_DATABASE_URL": proxied["leads"]},
        "customers": {"CUSTOMERS_DATABASE_URL": proxied["customers"]},
    }
    try:
        plat.start()
        yield plat, {"broker": broker, "leads_db": leads_db, "customers_db": customers_db, "gateway_db": gateway_db}
    finally:
        for proxy in (broker, leads_db, customers_db, gateway_db):
            proxy.down()
        plat.destroy()


def _timed(call):
    started = time.monotonic()
    resp = call()
    return resp, time.monotonic() - started


def _assert_503(resp, elapsed: float, limit: float) -> None:
    assert resp.status_code == 503, resp.text
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    assert int(resp.headers["Retry-After"]) >= 1
    assert "Traceback" not in resp.text and "Error" not in resp.json()["detail"]
    assert elapsed < limit, elapsed


def test_the_gateway_without_its_broker_answers_503_at_once_and_recovers(outage):
    platform, proxies = outage
    token = platform.admin_token               # signed in before: authentication is the gateway's own
    assert platform.post("/api/v1/leads", json={"name": "before"}).status_code == 201
    proxies["broker"].down()
    try:
        for call in (lambda: platform.post("/api/v1/leads", json={"name": f"during-{new_id()}"}, token=token),
                     lambda: platform.get("/api/v1/leads", token=token),
                     lambda: platform.get("/api/v1/customers", token=token)):
            resp, elapsed = _timed(call)
            _assert_503(resp, elapsed, DEADLINE + 1.5)
        ready = platform.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["broker"] != "ok"
    finally:
        proxies["broker"].up()
    created = platform.eventually(lambda: platform.post("/api/v1/leads", json={"name": "after"}).status_code == 201,
                                  timeout=30, interval=0.5)
    assert created
    # (only some services run here: readiness as a whole stays 503; the broker check is what changed)
    assert platform.eventually(lambda: platform.get("/readyz").json()["checks"]["broker"] == "ok",
                               timeout=30, interval=0.5)


def test_a_service_without_its_database_answers_503_not_500(outage):
    platform, proxies = outage
    assert platform.get("/api/v1/leads").status_code == 200
    proxies["leads_db"].down()
    try:
        for call in (lambda: platform.get("/api/v1/leads"),
                     lambda: platform.post("/api/v1/leads", json={"name": f"no-db-{new_id()}"})):
            resp, elapsed = _timed(call)
            _assert_503(resp, elapsed, DEADLINE + 1.5)
            assert "leads" in resp.json()["detail"]
    finally:
        proxies["leads_db"].up()
    assert platform.eventually(lambda: platform.get("/api/v1/leads").status_code == 200, timeout=30, interval=0.5)


def test_events_wait_while_their_handler_has_no_database_and_none_is_parked(outage):
    platform, proxies = outage
    proxies["customers_db"].down()
    try:
        lead_ids = []
        for i in range(4):
            lead = platform.post("/api/v1/leads", json={"name": f"Waiting {i}", "company": f"Patience {i} Ltd"})
            assert lead.status_code == 201, lead.text
            converted = platform.post(f"/api/v1/leads/{lead.json()['id']}/convert", json={})
            assert converted.status_code == 200, converted.text
            lead_ids.append(lead.json()["id"])
        time.sleep(3)            # far longer than EVENT_MAX_ATTEMPTS (2) failures take: they would be parked
        with Connection(platform.amqp_uri) as conn:
            assert queue_depth(conn, HANDLER_QUEUE + ".dlq") == 0
        assert "parked" not in platform.log("customers")
    finally:
        proxies["customers_db"].up()

    def linked():
        leads = [platform.get(f"/api/v1/leads/{lead_id}").json() for lead_id in lead_ids]
        return all(lead["customer_id"] for lead in leads) and leads
    leads = platform.eventually(linked, timeout=60, interval=0.5)
    customers = platform.get("/api/v1/customers", params={"limit": 200}).json()["items"]
    for lead in leads:
        assert [c["id"] for c in customers if c["source_lead_id"] == lead["id"]] == [lead["customer_id"]]
    with Connection(platform.amqp_uri) as conn:
        assert queue_depth(conn, HANDLER_QUEUE + ".dlq") == 0


def test_the_gateway_without_its_own_database_answers_503(outage):
    platform, proxies = outage
    proxies["gateway_db"].down()
    try:
        resp, elapsed = _timed(lambda: platform.post("/api/v1/auth/token",
                                                     json={"username": "admin", "password": "whatever"}))
        _assert_503(resp, elapsed, DEADLINE + 1.5)
    finally:
        proxies["gateway_db"].up()
    assert platform.eventually(lambda: platform.post("/api/v1/auth/token", json={
        "username": "admin", "password": ADMIN_PASSWORD}).status_code == 200, timeout=30, interval=0.5)
