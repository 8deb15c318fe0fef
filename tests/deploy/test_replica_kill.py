"""Killing a replica mid-stream loses nothing and applies nothing twice.

The platform runs as on Kubernetes (and as ``make up`` runs it): each process
on its own, its own PostgreSQL database, and two ``customers`` replicas
competing for the ``lead_converted`` quorum queue. While a stream of lead
conversions is flowing, one customers replica gets SIGKILL (no shutdown, no
acks for what it was holding). To be sure it *is* holding deliveries at that
moment, it is first frozen (SIGSTOP, like a hung pod the liveness probe is
about to kill) until leads routed to it visibly wait, then killed; the stream
goes on throughout. The broker redelivers its unacknowledged messages to the
survivor; whatever the victim had already committed is
recognised by the inbox (``processed_events``, same transaction as the
effect) and the unique ``source_lead_id``. Result: every converted lead gets
its customer, exactly one, with exactly one contact.

The second test runs ``scripts/platform_up.py up|status|down`` (``make up`` /
``make down``) itself, on its own ports, databases and virtual host.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from kombu import Connection

from crm_kit.config import ALL_PROCESSES
from crm_kit.ids import new_id
from crm_kit.runtime.amqp import queue_depth
from tests.integration import harness
from tests.integration.harness import (
    PG_URL_BASE,
    RABBIT_HOST,
    Platform,
    create_vhost,
    delete_vhost,
    drop_pg_databases,
    free_port,
    postgres_reachable,
)

pytestmark = pytest.mark.skipif(not postgres_reachable(),
                                reason="PostgreSQL is not reachable on 127.0.0.1:5432 (CRM_TEST_PG_DSN)")

LEADS = 40
FREEZE_AFTER = 8               # conversions sent before the victim is frozen
FROZEN_SECONDS = 1.5           # frozen this long, then SIGKILL
STUCK_AFTER = 1.0              # a lead converted this long ago without customer waits for the victim
PACE_SECONDS = 0.08            # between conversions, so the stream outlives the kill
REPO = Path(__file__).resolve().parents[2]
PLATFORM_UP = REPO / "scripts" / "platform_up.py"
HANDLER_QUEUE = "evt-leads-lead_converted--customers.handle_lead_converted"
PROCESSED_LINE = '"message": "event lead_converted -> customers.handle_lead_converted processed"'


def _wait_ready(url: str, proc, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"replica exited early with {proc.returncode}"
        try:
            if requests.get(url, timeout=2).status_code == 200:
                time.sleep(0.3)  # consumers bind right before readiness answers
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready after {timeout}s")


def _processed(platform: Platform, replica: int) -> int:
    return platform.log("customers", replica).count(PROCESSED_LINE)


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    plat = Platform(tmp_path_factory.mktemp("replica-kill"), backend="postgresql",
                    services=("leads", "customers", "gateway"))
    try:
        plat.start()
        second = plat.spawn("customers", replica=1)
        port = plat.replica_metrics_ports[("customers", 1)]
        _wait_ready(f"http://127.0.0.1:{port}/readyz", second)
        yield plat
    finally:
        plat.destroy()


def _all_customers(platform: Platform) -> list[dict]:
    items, cursor = [], None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        resp = platform.get("/api/v1/customers", params=params)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def test_sigkill_of_a_customers_replica_during_conversions_loses_and_duplicates_nothing(platform):
    started = time.monotonic()
    customers = platform.procs["customers"]
    assert len(customers) == 2 and all(p.poll() is None for p in customers)
    victim = customers[0]

    tag = new_id()[-8:]
    lead_ids = []
    for i in range(LEADS):
        resp = platform.post("/api/v1/leads", json={
            # distinct company names: a conversion links to an existing customer with the same name
            "name": f"Kill Test {i}", "company": f"Replica Kill {tag} {i:03d}",
            "phone": f"+49 30 {i:04d}{tag[:4].translate(str.maketrans('abcdef', '123456'))}",
            "source": "web_form"})
        assert resp.status_code == 201, resp.text
        lead_ids.append(resp.json()["id"])

    converted: list[str] = []
    converted_at: dict[str, float] = {}
    failures: list[str] = []

    def convert_stream():
        for lead_id in lead_ids:
            try:
                resp = platform.post(f"/api/v1/leads/{lead_id}/convert", json={})
                if resp.status_code == 200 and resp.json()["status"] == "converted":
                    converted_at[lead_id] = time.monotonic()
                    converted.append(lead_id)
                else:
                    failures.append(f"{lead_id}: {resp.status_code} {resp.text[:200]}")
            except requests.RequestException as exc:
                failures.append(f"{lead_id}: {exc!r}")
            time.sleep(PACE_SECONDS)

    stream = threading.Thread(target=convert_stream, name="convert-stream")
    stream.start()

    # Once the victim is demonstrably consuming and the stream is under way: freeze it ...
    deadline = time.monotonic() + 20
    while (len(converted) < FREEZE_AFTER or _processed(platform, 0) < 1) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _processed(platform, 0) >= 1, "replica 0 never received a lead_converted: not competing for the queue"
    os.kill(victim.pid, signal.SIGSTOP)
    frozen_at, frozen_after = time.monotonic(), len(converted)
    processed_by_victim = _processed(platform, 0)
    try:
        time.sleep(FROZEN_SECONDS)
        # ... leads routed to it since then wait (delivered to it, unacknowledged) ...
        cutoff = time.monotonic() - STUCK_AFTER
        old_enough = [lead for lead in list(converted) if frozen_at < converted_at[lead] < cutoff]
        stuck = [lead for lead in old_enough if not platform.get(f"/api/v1/leads/{lead}").json()["customer_id"]]
    finally:
        # ... and kill it while the stream goes on.
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
    assert stuck, (f"no lead waited for the frozen replica ({len(old_enough)} converted since the freeze "
                   "were all handled by the other one): the kill would prove nothing")
    killed_at = len(converted)
    assert killed_at < LEADS, "the stream ended before the kill; slow it down (PACE_SECONDS)"

    stream.join(60)
    assert not stream.is_alive(), "conversion stream hung"
    assert not failures, failures
    assert sorted(converted) == sorted(lead_ids)

    # Every converted lead eventually shows its customer and contact ...
    def leads_linked():
        pending = []
        for lead_id in lead_ids:
            body = platform.get(f"/api/v1/leads/{lead_id}").json()
            if not (body.get("customer_id") and body.get("contact_id")):
                pending.append(lead_id)
        return not pending or None

    platform.eventually(leads_linked, timeout=45, interval=0.5)
    links = {lead_id: platform.get(f"/api/v1/leads/{lead_id}").json() for lead_id in lead_ids}

    # ... and there is exactly one customer per lead, with exactly one contact.
    mine = [c for c in _all_customers(platform) if c["source_lead_id"] in links]
    per_lead: dict[str, list[dict]] = {}
    for customer in mine:
        per_lead.setdefault(customer["source_lead_id"], []).append(customer)
    duplicates = {lead: [c["id"] for c in cs] for lead, cs in per_lead.items() if len(cs) != 1}
    assert not duplicates, f"leads with more than one customer: {duplicates}"
    assert set(per_lead) == set(lead_ids), f"leads without a customer: {set(lead_ids) - set(per_lead)}"
    for lead_id, (customer,) in per_lead.items():
        assert links[lead_id]["customer_id"] == customer["id"]
        contacts = platform.get(f"/api/v1/customers/{customer['id']}/contacts").json()["items"]
        assert [c["id"] for c in contacts] == [links[lead_id]["contact_id"]], (lead_id, contacts)
        assert contacts[0]["is_primary"]

    # Nothing was parked, and the survivor drained the queue.
    with Connection(platform.amqp_uri, connect_timeout=5) as conn:
        assert queue_depth(conn, HANDLER_QUEUE + ".dlq") == 0
        assert queue_depth(conn, HANDLER_QUEUE) == 0
    survivor = _processed(platform, 1)
    print(f"\nfroze replica 0 after {frozen_after} conversions (it had processed {processed_by_victim}), "
          f"{len(stuck)} lead(s) waited for it, killed it after {killed_at}; the survivor processed {survivor}; "
          f"total {time.monotonic() - started:.1f}s")
    assert survivor >= 1


# --------------------------------------------------------------------------
# make up / make down
# --------------------------------------------------------------------------
def _free_metrics_base() -> int:
    """A base port with base+0..6 and base+100..106 free (two replicas of every service)."""
    import socket
    for _ in range(50):
        base = random.randrange(20000, 30000)
        try:
            socks = []
            for port in [base + i for i in range(7)] + [base + 100 + i for i in range(7)]:
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no free port range")


def _up(env, *args, timeout=180):
    return subprocess.run([sys.executable, str(PLATFORM_UP), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def test_platform_up_runs_every_process_on_its_own_database_and_down_stops_them(tmp_path):
    vhost = create_vhost()
    prefix = f"crmup_{new_id()[-6:]}"
    gateway_port, base = free_port(), _free_metrics_base()
    env = dict(os.environ, UP_VAR_DIR=str(tmp_path / "up"), UP_DB_PREFIX=prefix, GATEWAY_PORT=str(gateway_port),
               UP_METRICS_PORT_BASE=str(base), UP_DATABASE_URL_BASE=PG_URL_BASE, UP_STOP_TIMEOUT="20",
               AMQP_URI=f"amqp://guest:guest@{RABBIT_HOST}:5672/{vhost}",
               # the harness logs in as this administrator once the gateway has authentication
               CRM_ADMIN_PASSWORD=getattr(harness, "ADMIN_PASSWORD", "admin-password-for-tests"))
    urls = {name: f"{PG_URL_BASE}/{prefix}_{name}" for name in ALL_PROCESSES}
    pids: dict[str, int] = {}
    try:
        up = _up(env, "up")
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"http://127.0.0.1:{gateway_port}/api/v1" in up.stdout
        pids = {p.stem: int(p.read_text()) for p in (tmp_path / "up").glob("*.pid")}
        assert set(pids) == {"leads-0", "customers-0", "customers-1", "sales-0", "billing-0", "marketing-0",
                             "support-0", "analytics-0", "webhooks-0", "gateway-0"}
        for name in ("customers", "leads"):  # each replica has its own metrics port and is ready
            for port in ([base + 1, base + 101] if name == "customers" else [base]):
                ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
                assert ready.status_code == 200, ready.text
        status = _up(env, "status")
        assert status.returncode == 0 and status.stdout.count(" ready ") == 10, status.stdout
        again = _up(env, "up")
        assert again.returncode == 0 and "already up" in again.stdout

        # one database per process, on the PostgreSQL server
        import psycopg2
        conn = psycopg2.connect(harness.PG_DSN)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix + "_%",))
                assert {r[0] for r in cur.fetchall()} == {f"{prefix}_{n}" for n in urls}
        finally:
            conn.close()

        # and it works end to end
        plat = Platform.__new__(Platform)  # only its HTTP helpers, against this gateway
        plat.base_url = f"http://127.0.0.1:{gateway_port}"
        lead = plat.post("/api/v1/leads", json={"name": "Up", "company": f"Up {new_id()[-8:]}",
                                                "source": "web_form"})
        assert lead.status_code == 201, lead.text
        lead_id = lead.json()["id"]
        assert plat.post(f"/api/v1/leads/{lead_id}/convert", json={}).status_code == 200
        plat.eventually(lambda: plat.get(f"/api/v1/leads/{lead_id}").json()["customer_id"], timeout=20)
    finally:
        down = _up(env, "down", timeout=120)
        delete_vhost(vhost)
        drop_pg_databases(urls)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not list((tmp_path / "up").glob("*.pid"))
    for pid in pids.values():
        assert not Path(f"/proc/{pid}").exists() or b"crm_kit.ops.cli" not in Path(f"/proc/{pid}/cmdline").read_bytes()
