"""What a public pool (公海) is: its roles, the shape of its recycle rules and the rules between its
fields, and where a returned customer goes.

A pool has **admins** (they assign and move its customers, manage the pool, see everything of
it) and **members** (they see its customers, with the hidden fields masked, and claim them).

**Recycle rules** (``recycle_rules``, run by the recycle job of the follow-ups work): a list, at
most one rule per customer level (``level`` ``A``/``B``/``C``; ``null``: the customers whose level
has no rule of its own), each::

    {"level": "A", "no_follow_up_days": 30, "no_opportunity_days": null, "no_deal_days": 90,
     "exempt_deals": true, "exempt_open_opportunities": false, "warning_days": 3}

- the clocks (at least one; 1-3650 days): no follow-up for N days (from the later of the last
  follow-up and the time the owner received the customer), no new opportunity for M days, no deal
  for K days (from receipt);
- ``exempt_deals`` (default ``true``: seed 004, "如果客户未成交则客户会被回收"), and
  ``exempt_open_opportunities`` (default ``false``);
- ``warning_days``: the owner is reminded that many days before (fewer than the shortest clock).

``recycle_enabled`` needs at least one rule. ``recycle_department_ids``: whose customers the pool
takes (their owner's department; empty: everyone's) -- the recycle job's, a conversion over the
holding cap's, and one way a return may go (:func:`choose_return_pool`); ``priority`` (higher
first) orders pools that would take the same customer.
"""
from __future__ import annotations

from crm_kit.errors import InvalidState, ValidationFailed
from services.customers.domain.records import LEVELS

ADMIN_ROLE, MEMBER_ROLE = "admin", "member"
ROLES = (ADMIN_ROLE, MEMBER_ROLE)

CLOCKS = ("no_follow_up_days", "no_opportunity_days", "no_deal_days")
RULE_DEFAULTS = {"level": None, "no_follow_up_days": None, "no_opportunity_days": None, "no_deal_days": None,
                 "exempt_deals": True, "exempt_open_opportunities": False, "warning_days": None}
MAX_DAYS = 3650


def normalize_rule(rule: dict) -> dict:
    """A recycle rule with every key (absent: its default), in the stored order."""
    return {key: default if rule.get(key) is None else rule[key] for key, default in RULE_DEFAULTS.items()}


def rule_errors(rule: dict) -> dict:
    """``{field: [message]}`` of what is wrong within one rule (its fields' types are the schema's)."""
    errors = {}
    if rule.get("level") is not None and rule["level"] not in LEVELS:
        errors["level"] = [f"Must be one of: {', '.join(LEVELS)} (or null: any other level)."]
    clocks = [rule[c] for c in CLOCKS if rule.get(c) is not None]
    if not clocks:
        errors["_schema"] = [f"A rule needs at least one of {', '.join(CLOCKS)}."]
    warning = rule.get("warning_days")
    if warning is not None and clocks and warning >= min(clocks):
        errors["warning_days"] = [f"Must be fewer days than the rule's shortest clock ({min(clocks)})."]
    return errors


def recycle_rules_errors(rules: list[dict]) -> dict:
    """``{"<index>.<field>": [message]}`` over a list of rules: each rule's own, and one rule per level."""
    errors: dict = {}
    seen: dict = {}
    for index, rule in enumerate(rules or ()):
        for field, messages in rule_errors(rule).items():
            errors[f"{index}.{field}"] = messages
        level = rule.get("level")
        if level in seen:
            errors.setdefault(f"{index}.level", []).append(
                f"Rule #{seen[level]} is already for level {level if level is not None else 'null (any other)'}.")
        seen.setdefault(level, index)
    return errors


def pool_rule_errors(data: dict) -> dict:
    """``{field: [message]}`` of what breaks the rules between a pool's fields in ``data`` (its
    fields as created, or as an update leaves them), ``{}`` when they hold."""
    errors = {}
    rules = data.get("recycle_rules") or []
    nested = recycle_rules_errors(rules)
    if nested:
        errors.update({f"recycle_rules.{key}": value for key, value in nested.items()})
    if data.get("recycle_enabled") and not rules:
        errors["recycle_enabled"] = ["Recycling needs at least one rule in recycle_rules."]
    return errors


def pool_update(current: dict, changes: dict) -> dict:
    """The changes an update makes (``current``: the pool's ``recycle_enabled`` and
    ``recycle_rules``), rules normalised; ``ValidationFailed`` if the pool as changed breaks a rule."""
    changes = dict(changes)
    errors = pool_rule_errors({**current, **changes})
    if errors:
        raise ValidationFailed.from_messages(errors)
    if "recycle_rules" in changes:
        changes["recycle_rules"] = [normalize_rule(r) for r in changes["recycle_rules"]]
    return changes


def rule_for_level(rules: list[dict], level: str | None) -> dict | None:
    """The rule that applies to a customer of ``level``: its level's, else the rule for any other
    level (``level`` null), else none."""
    rules = [normalize_rule(r) for r in rules or ()]
    own = next((r for r in rules if level is not None and r["level"] == level), None)
    return own or next((r for r in rules if r["level"] is None), None)


def takes_department(recycle_department_ids: list[str] | None, department_id: str | None) -> bool:
    """Whether a pool takes the customers of ``department_id`` (an empty list: everyone's)."""
    return not recycle_department_ids or department_id in recycle_department_ids


def choose_return_pool(customer_id: str, candidates: list[str], requested: str | None,
                       came_from: str | None) -> str:
    """Where a returned customer goes. ``candidates``: the pools it may go to (the application
    decides them: pools the owner belongs to, pools taking the owner's department's customers;
    every pool for an admin). ``requested`` must be one of them (422 otherwise); without it, the
    pool the customer came from when it is a candidate, else the only candidate; several: 422
    asking to choose; none: 409."""
    if requested is not None:
        if requested not in candidates:
            raise ValidationFailed.from_messages({"pool_id": [
                "Not a pool this customer may be returned to"
                + (f"; choose one of: {', '.join(candidates)}." if candidates else ".")]})
        return requested
    if came_from is not None and came_from in candidates:
        return came_from
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InvalidState(f"Customer {customer_id} has no pool to be returned to.",
                       {"action": "return", "current_state": "owned"})
    raise ValidationFailed.from_messages({"pool_id": [
        f"The customer may go to several pools; choose one of: {', '.join(candidates)}."]})


def return_reason_errors(return_reasons: list[str], reason: str) -> dict:
    """A return must give one of the reasons that apply (the pool's own, else the platform's;
    none: any reason)."""
    if return_reasons and reason not in return_reasons:
        return {"reason": [f"Must be one of the return reasons: {', '.join(return_reasons)}."]}
    return {}
