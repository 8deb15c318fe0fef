"""Is an event's payload schema still readable by the subscribers of its schema version?

A snapshot of each (event, version)'s payload schema is committed as
``docs/events/schemas/<producer>.<event>.v<N>.json``. At the same version, the schema may only
grow by optional fields (and descriptions may change); anything a subscriber written against the
snapshot could not read needs a new ``EventType(version=N+1)``:

- a field removed (subscribers read it);
- a field's type changed (``type``, ``format``, ``enum``, ``const``: subscribers parse it), at any depth;
- a field made required, or a new field that is required (events already published, parked in a
  dead-letter queue or replayed, do not have it).

``incompatible_changes(old, new)`` lists them, each naming the field by its dotted path
(``items[]`` for the elements of an array). The catalogue's ``--write`` refuses to record an
incompatible change over a snapshot, and ``tests/contract/test_schema_compat.py`` fails on one.
"""
from __future__ import annotations

import json
from pathlib import Path

from crm_kit.config import REPO_ROOT

SNAPSHOTS_DIR = REPO_ROOT / "docs" / "events" / "schemas"
TYPE_KEYWORDS = ("type", "format", "enum", "const")


def snapshot_path(producer: str, name: str, version: int) -> Path:
    return SNAPSHOTS_DIR / f"{producer}.{name}.v{version}.json"


def render_snapshot(payload_schema: dict) -> str:
    return json.dumps(payload_schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _types(schema: dict) -> set:
    types = schema.get("type")
    return set(types) if isinstance(types, list) else {types} if types else set()


def _type_change(path: str, old: dict, new: dict) -> list[str]:
    out = []
    if _types(old) != _types(new):
        out.append(f"{path}: type changed from {sorted(_types(old)) or 'any'} to {sorted(_types(new)) or 'any'}")
    for key in TYPE_KEYWORDS[1:]:
        if old.get(key) != new.get(key):
            out.append(f"{path}: {key} changed from {old.get(key)!r} to {new.get(key)!r}")
    return out


def incompatible_changes(old: dict, new: dict, path: str = "") -> list[str]:
    """What makes ``new`` unreadable to a subscriber of ``old`` (empty: compatible)."""
    out = _type_change(path or "(payload)", old, new) if path else []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
    prefix = f"{path}." if path else ""
    for name, prop in old_props.items():
        if name not in new_props:
            out.append(f"{prefix}{name}: removed")
            continue
        if name in new_required and name not in old_required:
            out.append(f"{prefix}{name}: made required")
        out.extend(incompatible_changes(prop, new_props[name], prefix + name))
    for name in new_props.keys() - old_props.keys():
        if name in new_required:
            out.append(f"{prefix}{name}: added as required")
    if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
        out.extend(incompatible_changes(old["items"], new["items"], f"{path}[]" if path else "[]"))
    elif "items" in old and "items" not in new or "items" in new and "items" not in old:
        out.append(f"{path or '(payload)'}: items changed")
    return out


def check_against_snapshots(catalogue: dict) -> list[str]:
    """Every incompatible change of the catalogue's payload schemas against their committed snapshots."""
    out = []
    for entry in catalogue["events"]:
        path = snapshot_path(entry["producer"], entry["name"], entry["version"])
        if not path.exists():
            continue  # a new (event, version): --write records it
        snapshot = json.loads(path.read_text(encoding="utf-8"))
        out.extend(f"{entry['producer']}.{entry['name']} v{entry['version']}: {change}"
                   for change in incompatible_changes(snapshot, entry["payload_schema"]))
    return out
