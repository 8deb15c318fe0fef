"""JSON on the wire (RPC requests and replies, events consumed): kombu's ``json`` serializer, made
with orjson where that gives the same message.

kombu's own encodes through ``json.dumps`` with a Python ``default`` hook, and decodes through
``json.loads`` with a Python ``object_hook`` called on every object of the message: an order's
reply (its lines, its approval) paid for it in the service that sent it and in the gateway that
read it. Here, under the same name and content type (``application/json``, UTF-8, so either end
reads the other's messages):

- encoding: orjson, unless the value holds anything orjson would write differently from kombu
  (a datetime, date or time, a Decimal, bytes, a subclass of str / int / dict / list, a dataclass,
  a key that is not a string, an integer beyond 64 bits): then kombu's encoder, exactly as before
  (its ``{"__type__": ..., "__value__": ...}`` markers included). The bytes differ (no spaces,
  non-ASCII text as UTF-8, not ``\\u`` escapes); the JSON value does not. (Two values no message of
  the platform holds would: a ``uuid.UUID`` goes as its string, not kombu's marker -- ids are
  strings here -- and a float that is not finite as null, not ``NaN``, which is not JSON.)
- decoding: orjson, unless the message may hold one of kombu's markers (the text ``__type__``, or
  an escape ``\\u00..`` that might spell it), or is not plain JSON (``NaN``): then kombu's decoder.

``register()`` replaces the registry's ``json`` entry (idempotent); the kit's RPC entrypoints and
clients call it on import.
"""
from __future__ import annotations

import orjson
from kombu.serialization import registry
from kombu.utils import json as kombu_json

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS


def _refuse(value):
    raise TypeError(type(value).__name__)


def dumps(value) -> bytes | str:
    try:
        return orjson.dumps(value, default=_refuse, option=_OPTIONS)
    except TypeError:      # (orjson.JSONEncodeError is one): a value only kombu writes
        return kombu_json.dumps(value)


def loads(data):
    if isinstance(data, memoryview):
        data = data.tobytes()
    if isinstance(data, str):
        marked = "__type__" in data or "\\u00" in data
    else:
        marked = b"__type__" in data or b"\\u00" in data
    if not marked:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:      # NaN, Infinity: kombu's decoder reads them
            pass
    return kombu_json.loads(data)


def register() -> None:
    registry.register("json", dumps, loads, content_type="application/json", content_encoding="utf-8")
    registry._set_default_serializer("json")
