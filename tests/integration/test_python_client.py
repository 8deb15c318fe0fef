"""The Python client (clients/python) against the real platform: its README's examples run as
written; a create carrying its Idempotency-Key goes through a halted service by retrying and is
done once, while a POST without a key is never repeated; problems arrive as the exceptions of
their status; a list iterates every page; and the generated modules are what the generator
writes from the document the running gateway serves.

One platform for the module (its own: a service is halted here), with a short RPC deadline so
that a halted service is a 503 within seconds."""
from __future__ import annotations

import importlib.util
import re
import threading
import time
import uuid
from pathlib import Path

import crm_client
import pytest
import requests
from crm_client import Client

from crm_kit.config import ALL_PROCESSES
from crm_kit.ids import new_id
from tests.integration.harness import ADMIN_PASSWORD, Platform

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "clients" / "python" / "README.md"
DEADLINE = 3  # RPC_TIMEOUT_SECONDS: a halted service is a 503 after this


@pytest.fixture(scope="module")
def plat(tmp_path_factory):
    platform = Platform(tmp_path_factory.mktemp("python-client"), services=ALL_PROCESSES,   # every route
                        extra_env={"RPC_TIMEOUT_SECONDS": str(DEADLINE)})
    try:
        for name in platform.names:     # Platform.start, with a patient readiness wait (9 processes)
            platform.migrate(name)
        for name in platform.names:
            platform.spawn(name)
        platform.wait_ready(timeout=240)
        yield platform
    finally:
        platform.destroy()


@pytest.fixture
def client(plat):
    with Client(plat.base_url, username="admin", password=ADMIN_PASSWORD) as c:
        yield c


def _phone() -> str:
    return "139" + str(uuid.uuid4().int)[:8]


def _readme_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.S | re.M)


def test_the_readme_examples_run_against_the_platform(plat, monkeypatch, capsys):
    blocks = _readme_blocks()
    assert len(blocks) >= 7, "the README's examples went missing"
    monkeypatch.setenv("CRM_URL", plat.base_url)
    monkeypatch.setenv("CRM_ADMIN_PASSWORD", ADMIN_PASSWORD)
    scope: dict = {"__name__": "readme"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"{README.name}, python block {number}", "exec"), scope)
    # what the examples did, seen over plain HTTP
    lead = plat.get(f"/api/v1/leads/{scope['lead']['id']}").json()
    assert lead["status"] == "converted" and lead["customer_id"]
    assert scope["customer"]["id"] == lead["customer_id"] and scope["customer"]["name"] == scope["company"]
    assert lead["id"] in scope["pending"]
    babbage = plat.get("/api/v1/leads", params={"q": scope["babbage"]}).json()["items"]
    assert [item["id"] for item in babbage] == [scope["first"]["id"]]    # two calls, one key, one lead
    opportunities = plat.get("/api/v1/opportunities", params={"customer_id": lead["customer_id"]}).json()["items"]
    assert [(o["name"], o["amount"]) for o in opportunities] == [("Engines for 2027", "125000.00")]
    assert plat.get(f"/api/v1/opportunities/{opportunities[0]['id']}").json()["source_lead_id"] == lead["id"]
    out = capsys.readouterr().out
    assert "admin admin" in out and "converted" in out


def test_a_create_with_its_key_goes_through_a_halted_service_by_retrying_and_is_done_once(plat, client):
    name = f"retried-{new_id()}"
    plat.halt("leads")
    restarted = threading.Event()

    def restart():
        time.sleep(DEADLINE + 1)          # after the first attempt's 503
        plat.resume("leads")
        restarted.set()

    thread = threading.Thread(target=restart)
    thread.start()
    try:
        patient = Client(plat.base_url, client.token, max_retries=12, max_wait=3)
        started = patient.http.attempts
        lead = patient.leads.create(name=name, phone=_phone())
    finally:
        thread.join()
    assert restarted.is_set()
    assert patient.http.attempts - started >= 2, "the first attempt should have met the halted service"
    found = list(client.leads.list(q=name))
    assert [item["id"] for item in found] == [lead["id"]]


def test_a_post_without_a_key_is_not_repeated_after_a_503_and_a_read_is(plat, client):
    lead = client.leads.create(name=f"read-{new_id()}")
    name = f"unkeyed-{new_id()}"
    plat.halt("leads")
    try:
        started = time.monotonic()
        with pytest.raises(crm_client.Unavailable) as caught:
            client.request("POST", "/api/v1/leads", json={"name": name})
        assert caught.value.attempts == 1 and caught.value.retry_after >= 1
        assert time.monotonic() - started < DEADLINE + 2.5, "one attempt only"
        assert caught.value.problem["service"] == "leads"

        impatient = Client(plat.base_url, client.token, max_retries=2, max_wait=0.2)
        with pytest.raises(crm_client.Unavailable) as caught:
            impatient.leads.get(lead["id"])
        assert caught.value.attempts == 3                       # a read: tried again, twice
    finally:
        plat.resume("leads")
    assert client.leads.get(lead["id"])["id"] == lead["id"]
    # the POST was sent once: the service may still do that one request from its queue, never two
    assert len(list(client.leads.list(q=name))) <= 1


def test_problems_arrive_as_the_exceptions_of_their_status(plat, client):
    with pytest.raises(crm_client.Unauthorized) as caught:
        Client(plat.base_url, username="admin", password="not-the-password")
    assert caught.value.problem["reason"] == "bad_credentials"
    with pytest.raises(crm_client.Unauthorized):
        Client(plat.base_url, "not-a-token").leads.list().first_page()

    with pytest.raises(crm_client.NotFound) as caught:
        client.leads.get("no-such-lead")
    assert caught.value.request_id and caught.value.type.startswith("https://")

    with pytest.raises(crm_client.ValidationError) as caught:
        client.leads.create(name="x", source="carrier pigeon")
    assert list(caught.value.errors) == ["source"]
    with pytest.raises(crm_client.ValidationError) as caught:
        client.leads.list(status="lost").first_page()
    assert "status" in caught.value.errors

    lead = client.leads.create(name=f"stale-{new_id()}")
    client.leads.update(lead["id"], if_match=lead["version"], notes="first")
    with pytest.raises(crm_client.Conflict) as caught:
        client.leads.update(lead["id"], if_match=lead["version"], notes="second")
    assert caught.value.current_version == lead["version"] + 1
    client.leads.discard(lead["id"])
    with pytest.raises(crm_client.Conflict) as caught:
        client.leads.discard(lead["id"])
    assert caught.value.current_state == "discarded"

    member_name = f"member-{new_id()[-8:]}"
    client.users.create(username=member_name, password="member-password-1", role="member")
    member = Client(plat.base_url, username=member_name, password="member-password-1")
    with pytest.raises(crm_client.Forbidden):
        member.users.create(username=f"x-{new_id()[-8:]}", password="another-password", role="admin")
    with pytest.raises(crm_client.NotFound):            # out of the member's scope
        member.leads.get(lead["id"])


def test_a_list_iterates_every_page_once_in_the_order_of_the_raw_pages(plat, client):
    tag = f"paged-{new_id()[-10:]}"
    made = [client.leads.create(name=f"{tag} {i}", company=tag)["id"] for i in range(7)]
    pages = client.leads.list(q=tag, limit=3)
    seen = [item["id"] for item in pages]
    assert sorted(seen) == sorted(made) and len(set(seen)) == 7
    raw, cursor = [], None
    while True:
        params = {"q": tag, "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = plat.get("/api/v1/leads", params=params).json()
        raw.append([item["id"] for item in page["items"]])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [item for page in raw for item in page] == seen and len(raw) >= 3
    assert [len(page["items"]) for page in pages.pages()][:2] == [3, 3]
    first = pages.first_page()
    assert [item["id"] for item in first["items"]] == seen[:3] and first["next_cursor"]


def test_csv_import_and_export_through_the_client(client):
    tag = f"csv-{new_id()[-10:]}"
    report = client.leads.import_csv(f"name,company,phone\n{tag} one,{tag},{_phone()}\n{tag} two,{tag},\n")
    assert report["created"] == 2, report
    text = client.leads.export(q=tag)
    lines = text.strip().splitlines()
    assert lines[0].startswith("id,name") and len(lines) == 3


def test_the_generated_client_is_what_the_served_document_generates(plat):
    spec = importlib.util.spec_from_file_location("crm_client_generate", ROOT / "clients" / "python" / "generate.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    served = requests.get(plat.base_url + "/openapi.json", timeout=30).json()
    for name, text in generator.render(served).items():
        assert (generator.PACKAGE / name).read_text() == text, f"crm_client/{name} differs from the served document"
