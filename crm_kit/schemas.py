"""marshmallow helpers shared by services and the gateway."""
from __future__ import annotations

import copy

from marshmallow import Schema, ValidationError, fields, validate, EXCLUDE, RAISE, missing

from crm_kit.errors import ValidationFailed

__all__ = ["Schema", "fields", "validate", "load", "EXCLUDE", "RAISE", "ListQuery", "InputSchema", "partial_of"]


def not_blank(value: str) -> None:
    """A name must have something besides whitespace (it is also a duplicate key)."""
    if value is not None and not value.strip():
        raise ValidationError("Must not be blank.")


def _nul_fields(data, prefix="") -> list[str]:
    """Fields holding a NUL character (no database stores one; PostgreSQL refuses it)."""
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _nul_fields(value, f"{prefix}{key}.")
            if "\x00" in str(key):
                found.append(prefix.rstrip(".") or "_schema")
    elif isinstance(data, list):
        for value in data:
            found += _nul_fields(value, prefix)
    elif isinstance(data, str) and "\x00" in data:
        found.append(prefix.rstrip(".") or "_schema")
    return found


def load(schema: Schema, data, *, partial=False):
    """Validate and deserialize, turning marshmallow's error into ``ValidationFailed``."""
    if not isinstance(data, dict):
        raise ValidationFailed.from_messages({"_schema": ["Expected a JSON object."]})
    nul = _nul_fields(data)
    if nul:
        raise ValidationFailed.from_messages({f: ["Must not contain NUL characters."] for f in nul})
    try:
        return schema.load(data, partial=partial)
    except ValidationError as exc:
        raise ValidationFailed.from_messages(exc.messages) from None


class ListQuery(Schema):
    """``limit`` and ``cursor`` of every list (filters are added per resource)."""

    class Meta:
        unknown = RAISE

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, allow_none=True)


SERVER_OWNED = ("id", "owner_id", "status", "version", "created_at", "updated_at", "department_id")


class InputSchema(Schema):
    """Base of every request body: unknown fields are refused, and fields the
    server owns (``SERVER_OWNED`` plus a schema's ``Meta.server_owned``) are
    refused with a message that says so (422), never silently written."""

    class Meta:
        unknown = RAISE

    def handle_error(self, error, data, **kwargs):
        owned = set(SERVER_OWNED) | set(getattr(self.Meta, "server_owned", ()))
        messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}

        def mark(item_data, item_messages):
            if isinstance(item_data, dict) and isinstance(item_messages, dict):
                for key in item_data:
                    if key in owned and key in item_messages:
                        item_messages[key] = ["This field is set by the server and cannot be written."]

        if isinstance(data, list):  # many=True: messages are keyed by item index
            for index, item in enumerate(data):
                mark(item, messages.get(index))
        else:
            mark(data, messages)
        raise ValidationError(messages)


def partial_of(schema_cls: type, name: str, exclude: tuple[str, ...] = (), doc: str | None = None) -> type:
    """An update schema from a create schema: the same writable fields and validators,
    none required and no defaults (an absent field is left as it is); load it with
    ``load(schema, data, partial=True)``. ``exclude``: fields that cannot change after
    creation: refused like server-owned fields (422 "set by the server")."""
    attrs = {}
    for field_name, field in schema_cls._declared_fields.items():
        if field_name in exclude:
            continue
        clone = copy.deepcopy(field)
        clone.required = False
        clone.load_default = missing
        attrs[field_name] = clone
    base_meta = getattr(schema_cls, "Meta", object)

    class Meta(base_meta):
        server_owned = tuple(getattr(base_meta, "server_owned", ())) + tuple(exclude)

    attrs["Meta"] = Meta
    attrs["__doc__"] = doc or f"Partial update of {schema_cls.__name__}: only the fields given change."
    cls = type(name, (schema_cls,), attrs)
    cls._declared_fields = {k: v for k, v in cls._declared_fields.items() if k not in exclude}
    return cls
