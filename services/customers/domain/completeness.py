"""Profile completeness (资料完善度, seed 004): "客户已编辑字段与可编辑字段的比值" -- the fields of the
record a user has filled in, over the fields a user may fill in, as a whole percent.

The editable fields are what a user types on the customer's form (not what the platform keeps:
owner, pool, deal status, claim count, summary). A location is one field (latitude and longitude
together); an individual has two more (gender, birthday). ``name`` and ``kind`` are always filled,
so a customer with nothing else is at 2 / 16 = 13 % (a company) -- not at "two fields", as a count
would say.
"""
from __future__ import annotations

# The form of a company, in its order.
EDITABLE_FIELDS = ("name", "kind", "industry", "size", "level", "region", "address", "location", "mobile",
                   "telephone", "email", "website", "source", "follow_stage", "notes", "tags")
INDIVIDUAL_FIELDS = ("gender", "birthday")


def editable_fields(kind: str | None) -> tuple[str, ...]:
    """The fields a user may fill in on a customer of ``kind``."""
    return EDITABLE_FIELDS + (INDIVIDUAL_FIELDS if kind == "individual" else ())


def _filled(value) -> bool:
    if value is None:
        return False
    if type(value) is str:
        return bool(value) and not value.isspace()
    if isinstance(value, (list, tuple, set, dict)):
        return bool(value)
    return True


def filled_fields(values) -> list[str]:
    """Which editable fields ``values`` (a mapping, or an object with those attributes) has filled."""
    if isinstance(values, dict):
        get = values.get
    else:
        def get(name, default=None):
            return getattr(values, name, default)
    names = EDITABLE_FIELDS + (INDIVIDUAL_FIELDS if get("kind") == "individual" else ())
    out = []
    for name in names:
        if name == "location":
            if get("latitude") is not None and get("longitude") is not None:
                out.append(name)
        elif _filled(get(name)):
            out.append(name)
    return out


def profile_completeness(values) -> int:
    """Edited fields / editable fields, in whole percent (0..100, rounded half up)."""
    editable = editable_fields(values.get("kind") if isinstance(values, dict) else getattr(values, "kind", None))
    return (200 * len(filled_fields(values)) + len(editable)) // (2 * len(editable))
