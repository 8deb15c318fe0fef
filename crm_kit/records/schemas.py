"""marshmallow helpers shared by services and the gateway."""
from __future__ import annotations

import copy
import sys
from decimal import Decimal
from typing import Callable

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, missing, validate

from crm_kit.errors import ValidationFailed

__all__ = ["Schema", "fields", "validate", "load", "EXCLUDE", "RAISE", "ListQuery", "InputSchema", "partial_of",
           "page_of", "api_schemas", "Dumper", "nested_dumper"]


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


class Dumper:
    """``schema.dump(obj)`` for one object, without marshmallow's per-field lookups.

    Each field's own ``_serialize`` makes each value (a ``str`` for a ``String`` field is
    already what it would return); values are read with ``dict.get`` or ``getattr``. Only for
    schemas without ``pre_dump``/``post_dump`` hooks or dotted attributes (``__init__``
    refuses the others: use ``schema.dump``). Events are dumped through it on every change,
    thousands of times per import; ``tests/unit/test_schemas.py`` checks it against
    ``schema.dump`` on every event of the catalogue.
    """

    def __init__(self, schema: Schema):
        hooks = {kind for kind, entries in type(schema)._hooks.items() if entries} & {"pre_dump", "post_dump"}
        if hooks:
            raise TypeError(f"{type(schema).__name__} has dump hooks ({sorted(hooks)}): use schema.dump")
        self.plan = []
        for name, field in schema.dump_fields.items():
            attr = field.attribute or name
            if "." in attr:
                raise TypeError(f"{type(schema).__name__}.{name} reads a dotted attribute: use schema.dump")
            # how to make the value: 0 as it is (a str for a String), 1 field._serialize, 2 computed,
            # 3 a Decimal field (a finite Decimal made here as Decimal._serialize makes it), 4 a List of
            # Strings (a list of str copied, as List._serialize makes it)
            how = (2 if not field._CHECK_ATTRIBUTE else 0 if type(field) is fields.String
                   else 3 if type(field) is fields.Decimal
                   else 4 if type(field) is fields.List and type(field.inner) is fields.String else 1)
            self.plan.append((field.data_key or name, attr, field, how))

    def __call__(self, obj) -> dict:
        return self._dump(obj, self.plan, {})

    def sharing(self, template: dict, varying) -> Callable[[dict], dict]:
        """``self`` for many dicts that each hold ``template``'s values except under the keys in
        ``varying`` (the rows of an import: one template, per-row fields): the fields reading
        only shared values are dumped once, here, and each call dumps the rest (the keys come
        in another order than ``self``'s). Computed fields (Method, Function) are made on every
        call."""
        varying = frozenset(varying)
        own = [step for step in self.plan if step[1] in varying or step[3] == 2]
        shared = self._dump(template, [step for step in self.plan if step not in own], {})

        def dump(obj) -> dict:
            return self._dump(obj, own, dict(shared))
        dump.own_keys = tuple(step[0] for step in own)     # the keys whose values each call makes
        return dump

    @staticmethod
    def _dump(obj, plan, out: dict) -> dict:
        mapping = isinstance(obj, dict)
        for key, attr, field, how in plan:
            if how == 2:                          # Method, Function, Constant
                out[key] = field.serialize(attr, obj)
                continue
            value = obj.get(attr, missing) if mapping else getattr(obj, attr, missing)
            if value is None or (how == 0 and type(value) is str):
                out[key] = value
                continue
            if how == 4 and type(value) is list and all(type(v) is str for v in value):
                out[key] = list(value)
                continue
            if how == 3 and type(value) is Decimal and value.is_finite():
                # (marshmallow: Decimal(str(value)), quantized to its places, "f"-formatted as a string)
                if field.places is not None:
                    value = value.quantize(field.places, rounding=field.rounding)
                out[key] = format(value, "f") if field.as_string else value
                continue
            if value is missing:
                default = field.dump_default
                value = default() if callable(default) else default
                if value is missing:
                    continue
                if value is None:
                    out[key] = None
                    continue
            out[key] = field._serialize(value, attr, obj)
        return out

    def dump(self, obj, many: bool = False):
        """``schema.dump``'s signature: one object, or a list of them with ``many=True``."""
        return [self(item) for item in obj] if many else self(obj)


class _NestedDump:
    """In a ``Dumper``'s plan, a ``Nested`` field (or a ``List`` of one) made by the nested schema's own
    ``Dumper``: what ``Nested._serialize`` gives (``schema.dump``), without marshmallow's lookups."""
    dump_default = missing

    def __init__(self, dumper, many: bool):
        self.dumper, self.many = dumper, many

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        dumper = self.dumper
        return [None if item is None else dumper(item) for item in value] if self.many else dumper(value)


def _plain_nested(field) -> Schema | None:
    """The schema of a ``Nested`` field that ``Dumper`` can make as ``schema.dump`` does (no only,
    exclude, many of its own, no hooks), else None."""
    if type(field) is not fields.Nested or field.only is not None or field.exclude or field.many:
        return None
    schema = field.schema
    if schema.many or schema.only is not None or schema.exclude:
        return None
    return schema


def nested_dumper(schema: Schema) -> Dumper:
    """``crm_kit.records.schemas.Dumper`` of ``schema`` whose ``Nested`` fields and ``List`` of
    ``Nested`` fields are dumped by ``Dumper`` too (an order's lines, a request's steps): the same
    output as ``schema.dump``, for every RPC's reply."""
    dumper = Dumper(schema)
    for n, (key, attr, field, how) in enumerate(dumper.plan):
        if how != 1:
            continue
        inner = field.inner if type(field) is fields.List else None
        nested = _plain_nested(inner if inner is not None else field)
        if nested is None or (inner is not None and field.dump_default is not missing):
            continue
        if inner is None and field.dump_default is not missing:
            continue
        try:
            inner_dumper = nested_dumper(nested)
        except TypeError:        # the nested schema has hooks: marshmallow dumps that field
            continue
        dumper.plan[n] = (key, attr, _NestedDump(inner_dumper, many=inner is not None), how)
    return dumper


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
    attrs["__module__"] = schema_cls.__module__      # collected with its create schema (api_schemas)
    cls = type(name, (schema_cls,), attrs)
    cls._declared_fields = {k: v for k, v in cls._declared_fields.items() if k not in exclude}
    return cls


def page_of(item: type[Schema], name: str | None = None, doc: str | None = None) -> type[Schema]:
    """The page of a list of ``item`` (api.md: ``{"items": [...], "next_cursor": "..." | null}``),
    named ``<Item>List`` (``LeadOut`` -> ``LeadList``) unless ``name`` says otherwise."""
    name = name or item.__name__.removesuffix("Out") + "List"
    return type(name, (Schema,), {
        "items": fields.List(fields.Nested(item), required=True),
        "next_cursor": fields.String(required=True, allow_none=True, metadata={
            "description": "Opaque: pass it as `cursor` for the next page; null on the last page."}),
        "__doc__": doc or f"A page of {item.__name__.removesuffix('Out')} records, newest first.",
        "__module__": sys._getframe(1).f_globals.get("__name__", item.__module__),   # where it is defined
    })


def api_schemas(*modules) -> dict[str, type[Schema]]:
    """A service's RPC API schemas, collected rather than listed by hand: every marshmallow schema
    each module defines (its ``schemas.py``, and the kit's ``audit`` and ``team_members`` for the
    history and team routes), under its public name -- the module's name for it without a trailing
    ``Out`` (``LeadOut`` -> ``Lead``). A schema whose name starts with ``_`` is internal."""
    found: dict[str, type[Schema]] = {}
    for module in modules:
        for attr, value in vars(module).items():
            if (isinstance(value, type) and issubclass(value, Schema) and not attr.startswith("_")
                    and value.__module__ == module.__name__):
                public = attr.removesuffix("Out") or attr
                if public in found and found[public] is not value:
                    raise ValueError(f"two API schemas are called {public}: {found[public]} and {value}")
                found[public] = value
    return found
