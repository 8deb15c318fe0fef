"""The kit's team and history use cases on customers and contacts."""

from __future__ import annotations

from crm_kit.context import Principal
from crm_kit.records import audit, team_members
from crm_kit.runtime.uow import UnitOfWork
from services.customers.models import Contact, Customer


def list_customer_team(uow: UnitOfWork, principal: Principal, customer_id: str) -> dict:
    return team_members.list_team(uow, principal, Customer, customer_id, "customer")


def set_customer_team_member(uow: UnitOfWork, principal: Principal, customer_id: str, user_id,
                             access) -> dict:
    return team_members.set_team_member(uow, principal, Customer, customer_id, user_id, access, "customer")


def remove_customer_team_member(uow: UnitOfWork, principal: Principal, customer_id: str, user_id) -> None:
    team_members.remove_team_member(uow, principal, Customer, customer_id, user_id, "customer")


def customer_history(uow: UnitOfWork, principal: Principal, customer_id: str,
                     query: dict | None = None) -> dict:
    return audit.record_history(uow, principal, Customer, customer_id, "customer", query)


def contact_history(uow: UnitOfWork, principal: Principal, contact_id: str,
                    query: dict | None = None) -> dict:
    return audit.record_history(uow, principal, Contact, contact_id, "contact", query)

