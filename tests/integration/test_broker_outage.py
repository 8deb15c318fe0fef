"""An event raised while RabbitMQ is unreachable is delivered after it returns.

The leads service reaches the broker only through a TCP proxy. With the
proxy unplugged (a real outage: connections cut, new ones refused) a lead is
converted -- the conversion commits, the lead_converted event sits in the
outbox. Once the proxy is back, the leads service's own outbox relay
publishes it, customers creates the customer, and the lead records it. No
test code publishes anything on the service's behalf.
"""
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from crm_kit.context import Principal, principal_var, request_id_var
from crm_kit.records.db import make_engine
from crm_kit.runtime.amqp import ConfirmingPublisher
from crm_kit.runtime.outbox import OutboxRelay
from crm_kit.runtime.uow import UnitOfWork
from services.leads import application as leads_app
from services.leads.models import Base as LeadsBase
from services.leads.models import Lead
from tests.integration.harness import Platform
from tests.integration.tcp_proxy import TcpProxy


@pytest.fixture
def outage_platform(backend, tmp_path):
    proxy = TcpProxy().up()
    plat = Platform(tmp_path, backend=backend, services=("leads", "customers", "gateway"))
    proxied = plat.amqp_uri.replace(":5672/", f":{proxy.port}/")
    plat.process_env = {"leads": {"AMQP_URI": proxied}}
    try:
        plat.start()
        yield plat, proxy, proxied
    finally:
        proxy.down()
        plat.destroy()


def test_event_raised_during_outage_is_delivered_after_broker_returns(outage_platform):
    platform, proxy, proxied_uri = outage_platform
    lead = platform.post("/api/v1/leads", json={"name": "Outage", "company": "Blackout GmbH"}).json()

    proxy.down()
    engine = make_engine(platform.db_urls["leads"])
    sessions = sessionmaker(engine, expire_on_commit=False)
    relay = OutboxRelay("leads", sessions, LeadsBase.metadata, ConfirmingPublisher(proxied_uri), min_age=0)
    uow = UnitOfWork(sessions, "leads", LeadsBase.metadata, on_commit=relay.publish_committed)
    principal = Principal(user_id="dev-admin", role="admin")
    principal_var.set(principal)
    request_id_var.set("outage-test")
    converted = leads_app.convert_lead(uow, principal, lead["id"], {})   # commits; publish fails
    assert converted["status"] == "converted"

    outbox = LeadsBase.metadata.tables["outbox"]
    with sessions() as s:
        row = s.execute(select(outbox).where(outbox.c.event_type == "lead_converted")).one()
    assert row.published_at is None and row.attempts >= 1 and row.last_error

    time.sleep(2)  # the service's relay keeps failing too; nothing reaches customers
    customers = platform.get("/api/v1/customers", params={"limit": 200}).json()["items"]
    assert not [c for c in customers if c["source_lead_id"] == lead["id"]]

    proxy.up()  # the broker is back: the leads service's relay must deliver on its own

    def linked():
        with sessions() as s:
            return s.get(Lead, lead["id"]).customer_id
    customer_id = platform.eventually(linked, timeout=90)
    customer = platform.get(f"/api/v1/customers/{customer_id}").json()
    assert customer["source_lead_id"] == lead["id"] and customer["name"] == "Blackout GmbH"
    with sessions() as s:
        assert s.execute(select(outbox.c.published_at).where(outbox.c.id == row.id)).scalar() is not None
    engine.dispose()
