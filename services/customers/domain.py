"""Customer rules in plain Python."""
from __future__ import annotations

KINDS = ("company", "individual")
LEVELS = ("A", "B", "C")
DEAL_STATUSES = ("prospect", "deal")

# Fields a user fills in; profile completeness = filled / len(PROFILE_FIELDS).
PROFILE_FIELDS = ("name", "kind", "industry", "size", "level", "region", "address", "tags")


def customer_from_lead(lead: dict) -> dict:
    """The customer a converted lead becomes: the company, or the person when there is none."""
    company = (lead.get("company") or "").strip()
    return {
        "name": company or lead["name"],
        "kind": "company" if company else "individual",
        "industry": lead.get("industry"),
        "region": lead.get("region"),
        "owner_id": lead.get("owner_id"),
        "department_id": lead.get("department_id"),
        "source_lead_id": lead["lead_id"],
        "source_campaign_id": lead.get("campaign_id"),
    }


def profile_completeness(customer) -> float:
    filled = sum(1 for f in PROFILE_FIELDS if getattr(customer, f, None) not in (None, "", []))
    return round(filled / len(PROFILE_FIELDS), 2)


def ensure_deletable(customer) -> None:
    """A customer with business attached (deals, opportunities, orders, payments) is history
    other contexts refer to: it cannot be deleted (409). Its contacts go with it."""
    from decimal import Decimal

    from crm_kit.errors import InvalidState
    money = (customer.opportunity_total, customer.order_total, customer.paid_total)
    if customer.deal_status == "deal" or any((m or Decimal(0)) != 0 for m in money):
        raise InvalidState("Cannot delete a customer that has opportunities, orders or payments.",
                           {"action": "delete", "current_state": customer.deal_status})
