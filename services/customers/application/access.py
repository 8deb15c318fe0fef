"""Who sees and who may change a customer: the kit's data scopes plus the public pools' way in.

On top of ``crm_kit.records.scopes`` (owner, department subtree, team): a pool's admins see and
change every customer of their pool; its members see the pool's customers (to claim them), with
the pool's hidden fields masked until they own it (``mask``). A customer the caller cannot see
answers like a missing one (``NotFound``), one they can see but not change ``Forbidden``. Every use
case that reads or changes a customer goes through :func:`customer_for_read` /
:func:`customer_for_write` / :func:`read_clause`, so the pools' way in is in one place.
"""
from __future__ import annotations

from sqlalchemy import case, or_, select

from crm_kit.context import Principal
from crm_kit.errors import Forbidden, NotFound
from crm_kit.records import teams
from crm_kit.records.scopes import get_for_write, scope_clause, write_scope_clause
from services.customers.domain import masking, permissions
from services.customers.domain.pools import ADMIN_ROLE, MEMBER_ROLE  # noqa: F401
from services.customers.models import Customer, CustomerPool, CustomerPoolUser, customer_team


def pools_of(user_id: str, role: str | None = None):
    """The ids of the pools ``user_id`` belongs to (in ``role``, or any), as a subquery."""
    stmt = select(CustomerPoolUser.pool_id).where(CustomerPoolUser.user_id == user_id)
    return stmt.where(CustomerPoolUser.role == role) if role else stmt


def read_extra(principal: Principal):
    """The ways in beside ownership and department: team members, and a pool's admins and members
    for the customers in it."""
    uid = principal.user_id
    return or_(teams.member_clause(Customer, customer_team, uid), Customer.pool_id.in_(pools_of(uid)))


def write_extra(principal: Principal):
    uid = principal.user_id
    return or_(teams.member_clause(Customer, customer_team, uid, write=True),
               Customer.pool_id.in_(pools_of(uid, ADMIN_ROLE)))


def read_clause(principal: Principal):
    """The customers ``principal`` may see, as a WHERE clause (lists, exports, reminders)."""
    return scope_clause(Customer, principal, read_extra(principal))


def customer_for_read(session, principal: Principal, customer_id: str) -> Customer:
    customer = session.scalars(select(Customer).where(
        Customer.id == customer_id, read_clause(principal))).first()
    if customer is None:
        raise NotFound.of("customer", customer_id)
    return customer


def customer_for_write(session, principal: Principal, customer_id: str) -> Customer:
    """``NotFound`` if the caller cannot see the customer, ``Forbidden`` if they may see but not change it."""
    if principal.is_admin:
        return get_for_write(session, Customer, customer_id, principal, "customer")
    writable = case((write_scope_clause(Customer, principal, write_extra(principal)), True), else_=False)
    found = session.execute(select(Customer, writable).where(
        Customer.id == customer_id, read_clause(principal))).first()
    if found is None:
        raise NotFound.of("customer", customer_id)
    if not found[1]:
        raise Forbidden(f"You may see customer {customer_id} but not change it.",
                        {"resource": "customer", "id": str(customer_id)})
    return found[0]


def can_write(session, principal: Principal, customer_id: str) -> bool:
    """Whether the caller's scope (with the pools' way in) lets them change the customer."""
    writable = write_scope_clause(Customer, principal, write_extra(principal))
    return principal.is_admin or session.execute(select(Customer.id).where(
        Customer.id == customer_id, writable)).first() is not None


# -- pools -----------------------------------------------------------------------------------------
def pool_roles(session, pool_id: str | None, user_id: str) -> set[str]:
    """The user's roles in the pool (``admin``, ``member``); none for no pool."""
    if not pool_id:
        return set()
    return set(session.scalars(select(CustomerPoolUser.role).where(
        CustomerPoolUser.pool_id == pool_id, CustomerPoolUser.user_id == user_id)))


def pool_users(session, pool_id: str, role: str) -> list[CustomerPoolUser]:
    """The pool's admins or members, in user id order."""
    return list(session.scalars(select(CustomerPoolUser).where(
        CustomerPoolUser.pool_id == pool_id, CustomerPoolUser.role == role).order_by(CustomerPoolUser.user_id)))


def pool_scope_clause(principal: Principal):
    """The pools a principal may see: admins every pool, others those they administer or work in."""
    if principal.is_admin:
        return CustomerPool.id.is_not(None)
    return CustomerPool.id.in_(pools_of(principal.user_id))


def pool_for(session, principal: Principal, pool_id: str, manage: bool = False, lock: bool = False) -> CustomerPool:
    """A pool the caller may see (``NotFound`` otherwise); ``manage``: and may manage
    (``domain.permissions``: ``Forbidden`` otherwise); ``lock``: its row locked for the
    transaction (claims of one pool, one at a time: the claim limits count what the others did)."""
    stmt = select(CustomerPool).where(CustomerPool.id == pool_id, pool_scope_clause(principal))
    pool = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if pool is None:
        raise NotFound.of("customer pool", pool_id)
    if manage:
        permissions.ensure_may_manage_pool(principal, pool_id, pool_admin=ADMIN_ROLE in pool_roles(
            session, pool_id, principal.user_id))
    return pool


# -- masking ---------------------------------------------------------------------------------------
def _hidden_for(session, principal: Principal, pool_id: str | None) -> list[str]:
    """The fields the caller sees masked on a customer of ``pool_id`` (``domain.masking``), looked
    up once per pool and unit of work (a list of 200 customers asks once per pool, not per row)."""
    if not pool_id or principal.is_admin:
        return []
    cache = session.info.setdefault("customers.hidden_fields", {})
    key = (pool_id, principal.user_id)
    if key not in cache:
        row = session.execute(select(CustomerPool.hidden_fields, select(CustomerPoolUser.role).where(
            CustomerPoolUser.pool_id == pool_id, CustomerPoolUser.user_id == principal.user_id,
            CustomerPoolUser.role == ADMIN_ROLE).exists()).where(CustomerPool.id == pool_id)).first()
        hidden, pool_admin = (row[0] or [], row[1]) if row is not None else ([], False)
        cache[key] = list(hidden) if masking.masked_for(in_pool=True, platform_admin=False,
                                                        pool_admin=pool_admin) else []
    return cache[key]


def mask(session, principal: Principal, customer: Customer, dumped: dict) -> dict:
    """``dumped`` (a customer as the API returns it, with or without its ``contacts``) with its
    pool's hidden fields masked when the caller sees it in a pool as anyone but an admin or one of
    the pool's admins (``domain.masking``: masked values are null, ``masked_fields`` names them).
    Every answer that shows a customer to a pool member goes through here (get, list, the pool
    actions' replies)."""
    hidden = _hidden_for(session, principal, customer.pool_id)
    return masking.mask_customer(dumped, hidden) if hidden else dumped


def mask_contacts(session, principal: Principal, customer: Customer, contacts: list[dict]) -> list[dict]:
    """Dumped contacts of ``customer`` with its pool's hidden fields masked (as :func:`mask`)."""
    hidden = _hidden_for(session, principal, customer.pool_id)
    if not hidden:
        return contacts
    keys = masking.hidden_keys(hidden)[1]
    out = []
    for contact in contacts:
        masked, hit = masking.mask_contact(contact, keys)
        out.append({**masked, masking.MASKED_KEY: hit} if hit else masked)
    return out
