"""The event catalogue: every event, who publishes it, who consumes it, its schema.

Built by discovery, so there is no list to keep up to date:

- producers: the module-level :class:`EventType` instances in each
  ``services.<name>.events``;
- consumers: the ``@event_handler`` methods on each nameko service class
  (:func:`crm_kit.ops.topology.handler_queues`);
- schemas: JSON Schema (2020-12) derived from the marshmallow payload schema
  with apispec, wrapped in the envelope schema;
- examples: ``EventType.example``, else ``docs/events/examples/<producer>/<event>.json``.

The result is committed under ``docs/events/`` and ``tests/contract`` checks it: the catalogue
(``catalogue.json``, ``README.md``), its AsyncAPI 3 document (``asyncapi.json``, also
``gateway/static/asyncapi.json`` which the gateway serves: ``crm_kit.ops.asyncapi``) and a snapshot
of each (event, version)'s payload schema (``schemas/``: ``crm_kit.ops.schema_compat``; ``--write``
refuses a change to it that subscribers could not read, until the event has a new version)::

    python -m crm_kit.ops.catalogue --write   # regenerate docs/events/ (and gateway/static/asyncapi.json)
    python -m crm_kit.ops.catalogue --check   # exit 1 if they are stale (CI)
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import uuid
from pathlib import Path

from crm_kit.config import REPO_ROOT, SERVICES
from crm_kit.ops import asyncapi, schema_compat
from crm_kit.ops.known_warnings import filter_known_warnings
from crm_kit.records.jsonschema import DIALECT, json_schema
from crm_kit.runtime.events import EnvelopeSchema, EventType, exchange_name

DOCS_DIR = REPO_ROOT / "docs" / "events"
CATALOGUE_PATH = DOCS_DIR / "catalogue.json"
README_PATH = DOCS_DIR / "README.md"
EXAMPLES_DIR = DOCS_DIR / "examples"
WRITE_COMMAND = "python -m crm_kit.ops.catalogue --write"
# Lists of every published event, for a service that consumes them all (the webhooks service: a
# handler per event, read off this file, since a service never imports another's code). Written
# before the consumers are discovered, so one ``--write`` makes the list and the catalogue agree.
EVENT_LISTS = (REPO_ROOT / "services" / "webhooks" / "events" / "subscribed.json",)

# Envelope fields of every example (the payload is the interesting part).
EXAMPLE_OCCURRED_AT = "2024-11-25T14:03:11.250000+00:00"
EXAMPLE_ACTOR = "01933b50-1f00-7a00-8000-00000000a001"
EXAMPLE_CORRELATION_ID = "5f1c9a7e2b3d4c6f8a0b1c2d3e4f5a6b"


class CatalogueError(Exception):
    pass


# -- discovery ---------------------------------------------------------------
def produced_events() -> list[tuple[str, EventType]]:
    """(producer, event) for every ``EventType`` in ``services.<name>.events``."""
    out = []
    for service in SERVICES:
        module_name = f"services.{service}.events"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        events = {id(v): v for v in vars(module).values() if isinstance(v, EventType)}
        out.extend((service, event) for event in events.values())
    return sorted(out, key=lambda pe: (pe[0], pe[1].name))


def consumed_events():
    """Every event handler queue the services declare (``HandlerQueue``)."""
    from crm_kit.ops.topology import handler_queues, service_class
    return sorted((hq for s in SERVICES for hq in handler_queues(service_class(s))), key=lambda hq: hq.name)


# -- JSON Schema (crm_kit.records.jsonschema) ------------------------------------------
def envelope_schema(producer: str, event: EventType, payload_schema: dict) -> dict:
    schema = json_schema(EnvelopeSchema)
    props = schema["properties"]
    props["event_type"] = {**props["event_type"], "const": event.name}
    props["schema_version"] = {**props["schema_version"], "const": event.version}
    props["producer"] = {**props["producer"], "const": producer}
    props["payload"] = payload_schema
    return {"$schema": DIALECT, "title": f"{producer}.{event.name} v{event.version}", **schema}


# -- examples ------------------------------------------------------------------
def example_path(producer: str, name: str) -> Path:
    return EXAMPLES_DIR / producer / f"{name}.json"


def example_payload(producer: str, event: EventType) -> dict:
    if event.example:
        return event.example
    path = example_path(producer, event.name)
    if not path.exists():
        raise CatalogueError(f"no example for {producer}.{event.name}: set EventType(example=...) "
                             f"or add {path.relative_to(REPO_ROOT)}")
    return json.loads(path.read_text())


def example_envelope(producer: str, event: EventType, payload: dict) -> dict:
    return {
        "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"crm:event-example:{producer}.{event.name}")),
        "event_type": event.name,
        "schema_version": event.version,
        "occurred_at": EXAMPLE_OCCURRED_AT,
        "producer": producer,
        "actor": EXAMPLE_ACTOR,
        "correlation_id": EXAMPLE_CORRELATION_ID,
        "payload": payload,
    }


# -- the catalogue -----------------------------------------------------------
def build() -> dict:
    consumers = consumed_events()
    events = []
    for producer, event in produced_events():
        payload_schema = json_schema(event.schema)
        events.append({
            "name": event.name,
            "version": event.version,
            "description": event.description,
            "producer": producer,
            "exchange": exchange_name(producer),
            "routing_key": event.name,
            "consumers": [{"service": hq.consumer, "handler": hq.handler, "queue": hq.name}
                          for hq in consumers if (hq.source, hq.event_type) == (producer, event.name)],
            "payload_schema": payload_schema,
            "envelope_schema": envelope_schema(producer, event, payload_schema),
            "example": example_envelope(producer, event, example_payload(producer, event)),
        })
    return {"generated_by": WRITE_COMMAND, "events": events,
            "envelope_schema": {"$schema": DIALECT, "title": "event envelope", **json_schema(EnvelopeSchema)}}


def find(catalogue: dict, producer: str, name: str) -> dict:
    for entry in catalogue["events"]:
        if (entry["producer"], entry["name"]) == (producer, name):
            return entry
    raise KeyError(f"{producer}.{name} is not in the event catalogue")


def _type(prop: dict) -> str:
    types = prop.get("type", "any")
    text = " | ".join(types) if isinstance(types, list) else types
    return f"{text} ({prop['format']})" if "format" in prop else text


def _fields(schema: dict, prefix: str = "") -> list[dict]:
    """Flat field list (nested objects as ``parent.child``) for the docs."""
    rows = []
    for name, prop in schema.get("properties", {}).items():
        rows.append({"field": prefix + name, "type": _type(prop), "required": name in schema.get("required", ()),
                     "description": prop.get("description", "")})
        rows.extend(_fields(prop, f"{prefix}{name}."))
    return rows


def render_json(catalogue: dict) -> str:
    return json.dumps(catalogue, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in row) + " |"
              for row in rows), ""]


def _field_table(rows: list[dict]) -> list[str]:
    return _table(["Field", "Type", "Required", "Description"],
                  [[f"`{r['field']}`", r["type"], "yes" if r["required"] else "no", r["description"]]
                   for r in rows])


def render_markdown(catalogue: dict) -> str:
    out = ["# Event catalogue", "",
           f"Generated from the code by `{WRITE_COMMAND}`; do not edit. The machine-readable",
           "version (with JSON Schemas) is [catalogue.json](catalogue.json); `tests/contract` checks",
           "that producers emit what it says and that every consumer accepts its examples. The same events",
           "as an AsyncAPI 3 document (channels, messages, AMQP bindings, producers and consumers):",
           "[asyncapi.json](asyncapi.json), served by the gateway at `/asyncapi.json` and rendered at",
           "`/docs/events`, checked by the AsyncAPI project's parser in CI.", "",
           "**Schema versions.** [schemas/](schemas/) keeps the payload schema of each event at each",
           "version (`<producer>.<event>.v<N>.json`). Within a version a schema may only gain optional",
           "fields; removing a field, changing a field's type (or format, enum) or making a field required",
           "needs a new version (`EventType(..., version=N+1)`): `--write` refuses it and CI fails on it",
           "(`crm_kit/ops/schema_compat.py`).", "",
           "Every event is published to the exchange `<producer>.events` with the event name as",
           "routing key, in this envelope:", "", *_field_table(_fields(catalogue["envelope_schema"])),
           "## Events", "",
           *(f"- [`{e['producer']}.{e['name']}`](#{e['producer']}{e['name']}) v{e['version']}"
             for e in catalogue["events"]), ""]
    for e in catalogue["events"]:
        out += [f"## `{e['producer']}.{e['name']}`", "", e["description"], "",
                f"- producer: `{e['producer']}`, exchange `{e['exchange']}`, routing key `{e['routing_key']}`",
                f"- schema version: {e['version']}", "", "### Consumers", ""]
        out += _table(["Service", "Handler", "Queue"],
                      [[c["service"], f"`{c['handler']}`", f"`{c['queue']}`"] for c in e["consumers"]]) \
            if e["consumers"] else ["None yet.", ""]
        out += ["### Payload", "", *_field_table(_fields(e["payload_schema"])),
                "### Example", "", "```json", json.dumps(e["example"], indent=2, ensure_ascii=False), "```", ""]
    return "\n".join(out)


def render_event_list() -> str:
    """``[{"producer": ..., "event": ...}]`` of every published event (``EVENT_LISTS``)."""
    pairs = sorted((producer, event.name) for producer, event in produced_events())
    return json.dumps([{"producer": p, "event": e} for p, e in pairs], indent=1) + "\n"


def event_lists() -> dict[Path, str]:
    text = render_event_list()
    return {path: text for path in EVENT_LISTS if path.parent.exists()}


def rendered(catalogue: dict | None = None) -> dict[Path, str]:
    lists = event_lists()
    catalogue = catalogue if catalogue is not None else build()
    doc = render_json(asyncapi.build(catalogue))
    files = {CATALOGUE_PATH: render_json(catalogue), README_PATH: render_markdown(catalogue),
             asyncapi.DOC_PATH: doc, asyncapi.SERVED_PATH: doc, **lists}
    for e in catalogue["events"]:
        files[schema_compat.snapshot_path(e["producer"], e["name"], e["version"])] = \
            schema_compat.render_snapshot(e["payload_schema"])
    return files


def stale_files(files: dict[Path, str] | None = None) -> list[Path]:
    """Committed files that differ from a fresh build."""
    return [path for path, text in (files or rendered()).items()
            if not path.exists() or path.read_text(encoding="utf-8") != text]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crm_kit.ops.catalogue", description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate docs/events/")
    mode.add_argument("--check", action="store_true", help="exit 1 if docs/events/ is stale")
    args = parser.parse_args(argv)
    filter_known_warnings()  # nameko imports eventlet
    if args.write:       # first: the consumers of every event are read off them
        for path, text in event_lists().items():
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path.relative_to(REPO_ROOT)}")
    try:
        catalogue = build()
        files = rendered(catalogue)
    except CatalogueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    incompatible = schema_compat.check_against_snapshots(catalogue)
    if args.write and incompatible:
        for change in incompatible:
            print(f"error: {change}", file=sys.stderr)
        print("subscribers of these schema versions could not read the events any more: give the event a new "
              "version (EventType(..., version=N+1)) instead, or undo the change", file=sys.stderr)
        return 2
    if args.write:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(REPO_ROOT)}")
        return 0
    for change in incompatible:
        print(f"incompatible schema change: {change}", file=sys.stderr)
    stale = stale_files(files)
    for path in stale:
        print(f"{path.relative_to(REPO_ROOT)} is out of date; run `{WRITE_COMMAND}`", file=sys.stderr)
    return 1 if stale or incompatible else 0


if __name__ == "__main__":
    sys.exit(main())
