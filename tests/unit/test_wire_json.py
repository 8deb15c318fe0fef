"""The RPC wire's JSON (``crm_kit.runtime.wire_json``): what orjson writes and reads is what kombu's
serializer wrote and read (the same values both ways, either end reading the other's messages);
whatever orjson would write differently goes through kombu's, markers included."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from kombu.serialization import dumps as registry_dumps
from kombu.serialization import loads as registry_loads
from kombu.utils import json as kombu_json

from crm_kit.runtime import wire_json

REPLY = {"result": {"id": "0193", "lines": [{"sku": "PRN", "quantity": "2.000", "unit_price": "1999.00"}],
                    "name": "打印机 — été", "total": "3998.00", "approval": None, "round": 1, "ok": True,
                    "ratio": 0.5, "tags": []}, "error": None}


def test_plain_values_are_written_by_orjson_and_read_back_the_same_by_both():
    body = wire_json.dumps(REPLY)
    assert isinstance(body, bytes) and b" " not in body.replace("打印机 — été".encode(), b"")   # orjson's
    assert json.loads(body) == REPLY == wire_json.loads(body) == kombu_json.loads(body)
    assert wire_json.loads(kombu_json.dumps(REPLY)) == REPLY       # a message from a kombu sender


def test_values_only_kombu_writes_go_through_kombu_with_their_markers():
    value = {"at": dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc), "amount": Decimal("1.50"),
             "day": dt.date(2026, 3, 2), 1: "an int key", "big": 2 ** 70}
    body = wire_json.dumps(value)
    assert body == kombu_json.dumps(value)
    assert wire_json.loads(body) == kombu_json.loads(body) == {
        "at": value["at"], "amount": Decimal("1.50"), "day": value["day"], "1": "an int key", "big": 2 ** 70}


def test_what_orjson_cannot_read_is_read_by_kombu():
    assert wire_json.loads(b'{"x": NaN}')["x"] != 0          # (NaN: kombu's json reads it)
    escaped = '{"\\u005f_type__": "decimal", "__value__": "2.5"}'     # a marker spelled with an escape
    assert wire_json.loads(escaped) == kombu_json.loads(escaped) == Decimal("2.5")
    assert wire_json.loads(memoryview(b'{"a": [1, 2]}')) == {"a": [1, 2]}


def test_registered_as_kombus_json():
    wire_json.register()
    content_type, encoding, body = registry_dumps(REPLY, serializer="json")
    assert (content_type, encoding) == ("application/json", "utf-8") and body == wire_json.dumps(REPLY)
    assert registry_loads(body, content_type, encoding) == REPLY
