"""The customer record's rules: kinds, levels, deal statuses, genders, sources, a customer made from
a converted lead, and what may be deleted. Profile completeness is ``completeness``, the map's
distances ``geo``, the preset list views ``views``."""
from __future__ import annotations

from decimal import Decimal

from crm_kit.errors import InvalidState
from services.customers.domain.completeness import EDITABLE_FIELDS, editable_fields, profile_completeness  # noqa: F401

KINDS = ("company", "individual")
LEVELS = ("A", "B", "C")
DEAL_STATUSES = ("prospect", "deal")
GENDERS = ("male", "female", "other")            # individuals only
# Where a customer came from: the lead source list (leads' ``domain.status.SOURCES``; a customer from a
# converted lead keeps its lead's source). A context never imports another: the list is repeated here.
SOURCES = ("trade_show", "campaign", "web_form", "advertisement", "purchased_list", "referral", "other")
INDIVIDUAL_ONLY = ("gender", "birthday")          # what a company does not have


def individual_fields_refused(kind: str, fields: dict) -> dict[str, list[str]]:
    """The 422 messages of a company given an individual's fields (gender, birthday): none for an
    individual, none for fields left empty."""
    if kind == "individual":
        return {}
    return {name: ["Only an individual customer has this field."]
            for name in INDIVIDUAL_ONLY if fields.get(name) is not None}


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


def ensure_deletable(customer) -> None:
    """A customer with business attached (deals, opportunities, orders, payments) is history
    other contexts refer to: it cannot be deleted (409). Its contacts go with it."""
    money = (customer.opportunity_total, customer.order_total, customer.paid_total)
    if customer.deal_status == "deal" or any((m or Decimal(0)) != 0 for m in money):
        raise InvalidState("Cannot delete a customer that has opportunities, orders or payments.",
                           {"action": "delete", "current_state": customer.deal_status})
