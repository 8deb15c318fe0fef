"""The AsyncAPI document (crm_kit.ops.asyncapi) and the event schemas' compatibility (crm_kit.ops.schema_compat).

- the AsyncAPI project's own parser (@asyncapi/parser, tests/tools/asyncapi, installed by `make test`)
  finds no error in the generated document, and does find one in a broken copy (so this test can fail);
- the document has every event of the catalogue: its channel (exchange, routing key), message (envelope,
  payload schema, example), producer and consumers;
- every (event, version) has its committed snapshot, and no payload schema changed incompatibly from it.
"""
from __future__ import annotations

import copy
import json
import shutil
import subprocess

import pytest

from crm_kit.ops import asyncapi, schema_compat
from crm_kit.ops import catalogue as cat
from tests.contract.support import CATALOGUE, entry_id

pytestmark = pytest.mark.contract

TOOLS = cat.REPO_ROOT / "tests" / "tools" / "asyncapi"
DOC = asyncapi.build(CATALOGUE)


def parse(tmp_path, doc: dict) -> subprocess.CompletedProcess:
    """Runs the AsyncAPI parser on ``doc``: its diagnostics (JSON lines) on stdout, exit 1 on an error."""
    node = shutil.which("node")
    assert node and (TOOLS / "node_modules" / "@asyncapi" / "parser").is_dir(), \
        "the AsyncAPI parser is not installed: run `make test-tools` (npm ci in tests/tools/asyncapi)"
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return subprocess.run([node, "validate.mjs", str(path)], cwd=TOOLS, capture_output=True, text=True, timeout=120)


def errors(result: subprocess.CompletedProcess) -> list[dict]:
    return [d for d in map(json.loads, result.stdout.splitlines()) if d["severity"] == "Error"]


def test_the_asyncapi_parser_accepts_the_document(tmp_path):
    result = parse(tmp_path, DOC)
    assert result.returncode == 0 and not errors(result), result.stdout + result.stderr
    assert f"{len(CATALOGUE['events'])} channels" in result.stderr


def test_the_asyncapi_parser_refuses_a_broken_document(tmp_path):
    broken = copy.deepcopy(DOC)
    first = next(iter(broken["channels"]))
    broken["operations"]["dangling"] = {"action": "send", "channel": {"$ref": "#/channels/nowhere"}}
    broken["channels"][first]["bindings"]["amqp"]["is"] = "exchange-and-queue"
    result = parse(tmp_path, broken)
    assert result.returncode == 1 and errors(result), result.stdout + result.stderr


def test_the_served_and_the_documented_files_are_the_generated_one():
    text = cat.render_json(DOC)
    assert asyncapi.DOC_PATH.read_text(encoding="utf-8") == text, f"run `{cat.WRITE_COMMAND}`"
    assert asyncapi.SERVED_PATH.read_text(encoding="utf-8") == text, f"run `{cat.WRITE_COMMAND}`"


@pytest.mark.parametrize("entry", CATALOGUE["events"], ids=entry_id)
def test_every_event_is_a_channel_with_its_message_producer_and_consumers(entry):
    key = asyncapi.event_id(entry)
    channel = DOC["channels"][key]
    assert channel["address"] == entry["routing_key"]
    assert channel["bindings"]["amqp"]["exchange"] == {
        "name": entry["exchange"], "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"}
    message = DOC["components"]["messages"][key]
    assert message["examples"][0]["payload"] == entry["example"]
    assert message["payload"]["properties"]["payload"] == {"$ref": f"#/components/schemas/{key}.v{entry['version']}"}
    assert DOC["components"]["schemas"][f"{key}.v{entry['version']}"] == entry["payload_schema"]
    ops = {k: op for k, op in DOC["operations"].items() if op["channel"] == {"$ref": f"#/channels/{key}"}}
    senders = [op["x-producer"] for op in ops.values() if op["action"] == "send"]
    receivers = sorted(op["x-queue"] for op in ops.values() if op["action"] == "receive")
    assert senders == [entry["producer"]]
    assert receivers == sorted(c["queue"] for c in entry["consumers"])


@pytest.mark.parametrize("entry", CATALOGUE["events"], ids=entry_id)
def test_every_event_version_has_its_snapshot(entry):
    path = schema_compat.snapshot_path(entry["producer"], entry["name"], entry["version"])
    assert path.exists(), f"no snapshot of {entry_id(entry)} v{entry['version']}: run `{cat.WRITE_COMMAND}`"


def test_no_event_schema_changed_incompatibly_without_a_new_version():
    changes = schema_compat.check_against_snapshots(CATALOGUE)
    assert not changes, ("subscribers of these schema versions could not read the events any more; give the "
                         "event a new version (EventType(..., version=N+1)) instead:\n" + "\n".join(changes))


def test_an_incompatible_change_over_a_snapshot_is_found(tmp_path, monkeypatch):
    entry = CATALOGUE["events"][0]
    snapshot = copy.deepcopy(entry["payload_schema"])
    snapshot["properties"]["gone_since"] = {"type": "string"}
    monkeypatch.setattr(schema_compat, "SNAPSHOTS_DIR", tmp_path)
    schema_compat.snapshot_path(entry["producer"], entry["name"], entry["version"]).write_text(json.dumps(snapshot))
    assert schema_compat.check_against_snapshots(CATALOGUE) == [
        f"{entry['producer']}.{entry['name']} v{entry['version']}: gone_since: removed"]
