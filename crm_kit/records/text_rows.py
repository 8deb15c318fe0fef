"""Validation of an import's CSV rows in bulk: ``load(schema, row)`` for many rows, a column at
a time (the CSV imports: ``services/leads/application/import_chunks.py``,
``services/customers/application/import_chunks.py``).

``TextRowsLoader.load_many`` answers, for each row, exactly what ``crm_kit.records.schemas.load``
answers, several times faster: for a schema whose only hooks are per-field ``@validates`` methods, a
row is valid iff each of its values is, so each field's own validation runs once per *distinct* value
(a source or a region repeats on every row). ``tests/unit/leads/test_import_rows.py`` checks it
against marshmallow's own ``Schema.load``, row by row.
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, missing

from crm_kit.errors import ValidationFailed
from crm_kit.records.schemas import load


class TextRowsLoader:
    """``load(schema, row)`` for many rows of text (a CSV import), a column at a time.

    Exactly what :func:`load` answers for each row, several times faster: for a schema whose
    only hooks are per-field ``@validates`` methods (no ``pre_load``, ``post_load`` or
    ``validates_schema``), a row is valid iff each of its values is, so each field's own
    ``deserialize`` and ``@validates`` methods run on each *distinct* value once (a source or a
    region repeats on every row), without marshmallow's per-row bookkeeping. A row with any
    error, a NUL or an unknown or missing required field is loaded by :func:`load` itself, so
    its messages are marshmallow's own (and the fast path is only ever an optimisation of it).
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
        self._shapes: dict[tuple, tuple] = {}     # the fields a row gives -> _filled's answer

    def load_many(self, rows: list[dict], cache: dict | None = None) -> list[tuple[dict | None, dict | None]]:
        """``(fields, None)`` or ``(None, errors)`` per row, in order (errors as ``ValidationFailed.errors``).
        ``cache``: a dict to keep between calls on parts of the same file (values seen already)."""
        known = cache if cache is not None else {}
        if not known:
            known.update({name: {} for name in self._load_fields})
        attrs, shapes = self._attrs, self._shapes
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
                shape = tuple(row)
                filled = shapes.get(shape)
                if filled is None:      # what a row with these fields is given, and checked on
                    filled = self._filled(row, result)
                    if len(shapes) < _SHAPES_KEPT:
                        shapes[shape] = filled
                static, made, unchecked = filled
                if made is None:
                    result.update(static)
                else:
                    for attr, default in made:
                        result[attr] = default() if callable(default) else default
                # the @validates methods also run on defaults
                fine = all(self._check(k, result[k]) for k in unchecked)
            if fine:
                out.append((result, None))
                continue
            try:
                out.append((load(self.schema, row), None))
            except ValidationFailed as exc:
                out.append((None, exc.errors))
        return out

    def _filled(self, row: dict, result: dict) -> tuple:
        """For rows with ``row``'s fields (``result`` their loaded attributes): the defaults they are
        given, in order (as one dict when none is made by a callable, else as a list), and the
        @validates fields checked on their default."""
        made = [(attr, default) for attr, default in self._defaults.items() if attr not in result]
        unchecked = tuple(k for k in self._checked if k not in row)
        if any(callable(default) for _, default in made):
            return None, made, unchecked
        return dict(made), None, unchecked

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
_SHAPES_KEPT = 1024     # sets of fields whose defaults a loader keeps (a file has a few)


def _plain_text(field: fields.Field) -> bool:
    """A ``String`` (or a subclass such as ``Email``) that deserializes a ``str`` to itself and
    then only runs its validators: ``deserialize(s)`` is ``s`` when every validator accepts it."""
    cls = type(field)
    return (isinstance(field, fields.String) and cls._deserialize is fields.String._deserialize
            and cls.deserialize is fields.Field.deserialize and cls._validate is fields.Field._validate
            and not getattr(field, "pre_load", None) and not getattr(field, "post_load", None))
