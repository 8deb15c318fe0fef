"""What a lead pool (线索池) is: its roles, its ways of distributing leads, and its configuration rule.

A pool has admins (they assign, manage the pool, see every lead of it) and members (they claim its
unassigned leads and get the leads it distributes). The configuration rule holds between fields, on
creation and on the pool as an update leaves it: a default assignee only in a ``manual`` pool, and
one of its members; ``recycle_warning_days`` only with ``recycle_after_days``, and fewer days.
"""
from __future__ import annotations

from crm_kit.errors import ValidationFailed

ADMIN_ROLE, MEMBER_ROLE = "admin", "member"
ROLES = (ADMIN_ROLE, MEMBER_ROLE)

MANUAL, ROUND_ROBIN, LEAST_LOADED = "manual", "round_robin", "least_loaded"
DISTRIBUTIONS = (MANUAL, ROUND_ROBIN, LEAST_LOADED)
DEFAULT_DISTRIBUTION = MANUAL

# The pool's fields the configuration rule reads (besides the member list).
RULE_FIELDS = ("distribution", "default_assignee_id", "recycle_after_days", "recycle_warning_days")


def pool_rule_errors(data: dict) -> dict:
    """``{field: [message]}`` of what breaks the configuration rule in ``data`` (a pool's fields,
    ``member_ids`` when known), ``{}`` when it holds."""
    errors = {}
    assignee = data.get("default_assignee_id")
    if assignee is not None:
        if data.get("distribution", MANUAL) != MANUAL:
            errors["default_assignee_id"] = ["Only a manual pool has a default assignee."]
        elif "member_ids" in data and assignee not in data["member_ids"]:
            errors["default_assignee_id"] = ["The default assignee must be a member of the pool."]
    warning, after = data.get("recycle_warning_days"), data.get("recycle_after_days")
    if warning is not None and (after is None or warning >= after):
        errors["recycle_warning_days"] = ["Must be fewer days than recycle_after_days."]
    return errors


def pool_update(current: dict, changes: dict) -> dict:
    """The changes an update makes to a pool (``current``: its :data:`RULE_FIELDS` and
    ``member_ids``): ``changes`` as given, plus, when it moves the pool away from ``manual``
    without naming a default assignee, the default assignee cleared. ``ValidationFailed`` if the
    pool as changed would break the configuration rule."""
    changes = dict(changes)
    if ("distribution" in changes and changes["distribution"] != MANUAL
            and "default_assignee_id" not in changes):
        changes["default_assignee_id"] = None
    errors = pool_rule_errors({**current, **changes})
    if errors:
        raise ValidationFailed.from_messages(errors)
    return changes
