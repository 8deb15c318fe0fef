"""marshmallow helpers shared by services and the gateway."""
from __future__ import annotations

import copy
from typing import Callable

from marshmallow import Schema, ValidationError, fields, validate, EXCLUDE, RAISE, missing

from crm_kit.errors import ValidationFailed

__all__ = ["Schema", "fields", "validate", "load", "EXCLUDE", "RAISE", "ListQuery", "InputSchema", "partial_of",
           "TextRowsLoader", "Dumper"]


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


class TextRowsLoader:
    """``load(schema, row)`` for many rows of text (a CSV import), a column at a time.

    Exactly what :func:`load` answers for each row, several times faster: for a schema whose
    only hooks are per-field ``@validates`` methods (no ``pre_load``, ``post_load`` or
    ``validates_schema``), a row is valid iff each of its values is, so each field's own
    ``deserialize`` and ``@validates`` methods run on each *distinct* value once (a source or a
    region repeats on every row), without marshmallow's per-row bookkeeping. A row with any
    error, a NUL or an unknown or missing required field is loaded by :func:`load` itself, so
    its messages are marshmallow's own. ``tests/unit/test_schemas.py`` checks both ways agree.
    """

    def __init__(self, schema: Schema):
        hooks = {kind for kind, entries in type(schema)._hooks.items() if entries}
        if hooks - {"validates"}:
            raise TypeError(f"{type(schema).__name__} has row-level hooks ({sorted(hooks)}): use load()")
        nested = [n for n, f in schema.fields.items() if isinstance(f, (fields.Nested, fields.List, fields.Dict))]
        if nested:   # their loaded values are mutable: not shared between rows
            raise TypeError(f"{type(schema).__name__} has nested fields ({nested}): use load()")
        self.schema = schema
        self._checks: dict[str, list] = {name: [] for name in schema.fields}
        for attr_name, _, kwargs in type(schema)._hooks["validates"]:
            for field_name in kwargs["field_names"]:
                field = schema.fields[field_name]
                self._checks[field_name].append(
                    (getattr(schema, attr_name), field.data_key if field.data_key is not None else field_name))
        self._load_fields = {name: f for name, f in schema.fields.items() if not f.dump_only}
        self._attrs = {name: f.attribute or name for name, f in self._load_fields.items()}
        self.attributes = frozenset(self._attrs.values())     # the keys a loaded row may hold
        # Text fields whose deserialize gives a str back as it is, then runs the validators:
        # for them _one runs the validators itself (marshmallow's layers cost more than a Length).
        self._text_validators = {name: tuple(f.validators) for name, f in self._load_fields.items()
                                 if _plain_text(f)}
        self._checked = [name for name, checks in self._checks.items() if checks]
        self._defaults = {}                 # field -> load_default (a value or a callable)
        self._required = set()
        for name, field in self._load_fields.items():
            if field.required:
                self._required.add(name)
            elif field.load_default is not missing:
                self._defaults[field.attribute or name] = field.load_default

    def load_many(self, rows: list[dict], cache: dict | None = None) -> list[tuple[dict | None, dict | None]]:
        """``(fields, None)`` or ``(None, errors)`` per row, in order (errors as ``ValidationFailed.errors``).
        ``cache``: a dict to keep between calls on parts of the same file (values seen already)."""
        known = cache if cache is not None else {}
        if not known:
            known.update({name: {} for name in self._load_fields})
        attrs, defaults, checked = self._attrs, self._defaults, self._checked
        out = []
        for row in rows:
            result, fine = {}, self._required.issubset(row)
            if fine:
                for key, value in row.items():
                    values = known.get(key)
                    if values is None or type(value) is not str:   # unknown field, not text: load()
                        fine = False
                        break
                    hit = values.get(value)
                    if hit is None:
                        hit = values[value] = self._one(key, value)
                    if hit is _INVALID:
                        fine = False
                        break
                    result[attrs[key]] = hit[0]
            if fine:
                for attr, default in defaults.items():
                    if attr not in result:
                        result[attr] = default() if callable(default) else default
                # the @validates methods also run on defaults
                fine = all(self._check(k, result[k]) for k in checked if k not in row)
            if fine:
                out.append((result, None))
                continue
            try:
                out.append((load(self.schema, row), None))
            except ValidationFailed as exc:
                out.append((None, exc.errors))
        return out

    def _one(self, key: str, value):
        if isinstance(value, str) and "\x00" in value:
            return _INVALID
        validators = self._text_validators.get(key)
        try:
            if validators is not None and type(value) is str:
                for check in validators:
                    check(value)
                loaded = value
            else:
                loaded = self._load_fields[key].deserialize(value)
        except ValidationError:
            return _INVALID
        return (loaded,) if self._check(key, loaded) else _INVALID

    def _check(self, key: str, value) -> bool:
        for check, data_key in self._checks[key]:
            try:
                check(value, data_key=data_key)
            except ValidationError:
                return False
        return True


_INVALID = object()


def _plain_text(field: fields.Field) -> bool:
    """A ``String`` (or a subclass such as ``Email``) that deserializes a ``str`` to itself and
    then only runs its validators: ``deserialize(s)`` is ``s`` when every validator accepts it."""
    cls = type(field)
    return (isinstance(field, fields.String) and cls._deserialize is fields.String._deserialize
            and cls.deserialize is fields.Field.deserialize and cls._validate is fields.Field._validate
            and not getattr(field, "pre_load", None) and not getattr(field, "post_load", None))


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
            # how to make the value: 0 as it is (a str for a String), 1 field._serialize, 2 computed
            how = 2 if not field._CHECK_ATTRIBUTE else 0 if type(field) is fields.String else 1
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
        return lambda obj: self._dump(obj, own, dict(shared))

    @staticmethod
    def _dump(obj, plan, out: dict) -> dict:
        get = obj.get if isinstance(obj, dict) else lambda attr, default: getattr(obj, attr, default)
        for key, attr, field, how in plan:
            if how == 2:                          # Method, Function, Constant
                out[key] = field.serialize(attr, obj)
                continue
            value = get(attr, missing)
            if value is None or (how == 0 and type(value) is str):
                out[key] = value
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
