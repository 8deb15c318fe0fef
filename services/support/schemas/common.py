"""Field makers the support schemas share (ids, times, texts)."""
from __future__ import annotations

import datetime as dt

from marshmallow import ValidationError, fields, validate

from crm_kit.records.schemas import not_blank


def ident(**kwargs):
    return fields.String(validate=validate.Length(min=1, max=36), **kwargs)


def _plausible(value) -> None:
    if value is not None and not 1970 <= value.year <= 2999:
        raise ValidationError("The year must be between 1970 and 2999.")


def when(**kwargs):
    """A time in ISO 8601; one without an offset is taken as UTC."""
    return fields.AwareDateTime(default_timezone=dt.timezone.utc, validate=_plausible, **kwargs)


def text(max_length: int, **kwargs):
    return fields.String(validate=[validate.Length(min=1, max=max_length), not_blank], **kwargs)
