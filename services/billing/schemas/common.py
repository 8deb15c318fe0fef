"""Field makers the billing schemas share (money as decimal strings, ids, times)."""
from __future__ import annotations

import datetime as dt

from marshmallow import ValidationError, fields, validate

from crm_kit.records.schemas import not_blank

MAX_AMOUNT = 10 ** 15


def _places(value) -> None:
    if value is not None and value.as_tuple().exponent < -2:
        raise ValidationError("At most 2 decimal places.")


def money(**kwargs):
    return fields.Decimal(as_string=True, places=2, **kwargs)


def amount_in(**kwargs):
    """A positive amount, two places at most."""
    return fields.Decimal(as_string=True, validate=[validate.Range(min=0, max=MAX_AMOUNT, min_inclusive=False),
                                                    _places], **kwargs)


def ident(**kwargs):
    return fields.String(validate=validate.Length(min=1, max=36), **kwargs)


def _plausible(value) -> None:
    if value is not None and not 1970 <= value.year <= 2999:
        raise ValidationError("The year must be between 1970 and 2999.")


def when(**kwargs):
    """A time in ISO 8601; one without an offset is taken as UTC."""
    return fields.AwareDateTime(default_timezone=dt.timezone.utc, validate=_plausible, **kwargs)


def day(**kwargs):
    return fields.Date(validate=_plausible, **kwargs)


def reason(**kwargs):
    """Why (a rejection, a refund, a write-off): 1 to 1000 characters, not blank."""
    return fields.String(validate=[validate.Length(min=1, max=1000), not_blank], **kwargs)
