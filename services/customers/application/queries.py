"""Lists of customers and contacts, in the caller's data scope: preset views, filters, a sort the
client chooses among indexed columns, keyset pages.

Every list starts from the data scope (``scoped_select``; customers with the pools' way in,
``access.read_extra``), then narrows it: the view (``domain.views``: mine, team, subordinates), the
filters (each on an indexed column, or an indexed lookup: tags, phones), and, for "near a point", a
bounding box on the indexed latitude / longitude that the exact distance then decides
(``domain.geo``: in Python, the same on every database).

The page is a keyset: ``ORDER BY <sort column>, id`` from the row after the cursor, which holds the
last row's sort value and id, so page N costs what page 1 costs. Rows without a value (a level, a
last follow-up) sort as if above every value: last in ascending order, first in descending -- as
PostgreSQL's (column, id) index reads either way; they are read as a phase of their own
(``column IS NULL``, by id) before or after the others.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import false, or_, select, tuple_, union_all

from crm_kit.context import Principal
from crm_kit.errors import ValidationFailed
from crm_kit.records import teams
from crm_kit.records.pagination import cursor_state, encode_cursor
from crm_kit.records.schemas import Dumper, load
from crm_kit.records.scopes import scoped_select
from crm_kit.records.text import normalize_name, normalize_phone
from crm_kit.runtime.uow import UnitOfWork
from services.customers.application.access import mask, read_extra
from services.customers.domain import geo, views
from services.customers.models import Contact, Customer, CustomerTag, customer_team
from services.customers.schemas import ContactListQuery, ContactOut, CustomerListItemOut, CustomerListQuery

_out = Dumper(CustomerListItemOut())       # what its dump makes, without marshmallow's per-field lookups
_contact_out = Dumper(ContactOut())
_list_query = CustomerListQuery()
_contact_list_query = ContactListQuery()

CUSTOMER_EQUAL_FILTERS = ("owner_id", "deal_status", "level", "kind", "industry", "region", "pool_id", "source")
NEAR_BATCH = 32           # the fewest rows read at once while the exact distance drops those in the box's corners


@dataclass(frozen=True)
class Sort:
    key: str | None          # the client's name for it (None: newest first, by id)
    column: object | None
    nullable: bool = False
    is_time: bool = False


def _sorts(model, spec: dict) -> dict:
    return {key: Sort(key, getattr(model, attr), nullable, is_time) for key, (attr, nullable, is_time) in spec.items()}


CUSTOMER_SORTS = _sorts(Customer, {
    "created_at": ("created_at", False, True), "updated_at": ("updated_at", False, True),
    "name": ("name_key", False, False), "last_followed_at": ("last_followed_at", True, True),
    "level": ("level", True, False)})
CONTACT_SORTS = _sorts(Contact, {
    "created_at": ("created_at", False, True), "updated_at": ("updated_at", False, True),
    "name": ("name", False, False)})


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# -- views and filters -------------------------------------------------------------------------------
def view_clause(model, principal: Principal, scope: str):
    """The preset view ``scope`` (``domain.views``) as a WHERE clause on customers or contacts."""
    view = views.view_of(scope, principal.user_id, principal.role, principal.scope_department_ids)
    if view.nothing:
        return false()
    if view.owner_id:
        return model.owner_id == view.owner_id
    if view.team_member:
        team_ids = select(customer_team.c.record_id).where(customer_team.c.user_id == view.team_member,
                                                           teams.current(customer_team))
        return (Customer.id if model is Customer else Contact.customer_id).in_(team_ids)
    if view.department_ids:
        return (model.department_id.in_(view.department_ids)) & (model.owner_id != view.exclude_owner)
    return None


def _common(stmt, model, params: dict, principal: Principal):
    view = view_clause(model, principal, params["scope"])
    if view is not None:
        stmt = stmt.where(view)
    if params.get("created_from"):
        stmt = stmt.where(model.created_at >= params["created_from"])
    if params.get("created_to"):
        stmt = stmt.where(model.created_at < params["created_to"])
    return stmt


def customer_filters(stmt, params: dict, principal: Principal):
    """``stmt`` (a scoped select of customers) with the view and the filters of ``params``."""
    stmt = _common(stmt, Customer, params, principal)
    for name in CUSTOMER_EQUAL_FILTERS:
        if params.get(name):
            stmt = stmt.where(getattr(Customer, name) == params[name])
    if params.get("tags"):
        stmt = stmt.where(Customer.id.in_(select(CustomerTag.customer_id).where(CustomerTag.tag.in_(params["tags"]))))
    if params.get("followed_before"):
        stmt = stmt.where(Customer.last_followed_at < params["followed_before"])
    if params.get("followed_after"):
        stmt = stmt.where(Customer.last_followed_at >= params["followed_after"])
    if params.get("name"):
        key = normalize_name(params["name"]) or ""
        stmt = stmt.where(Customer.name_key.like(escape_like(key) + "%", escape="\\"))
    if params.get("phone"):
        key = normalize_phone(params["phone"]) or ""
        # one indexed lookup each, as a union (an OR over a subquery would read the whole table)
        stmt = stmt.where(Customer.id.in_(union_all(
            select(Customer.id).where(Customer.mobile_key == key),
            select(Customer.id).where(Customer.telephone_key == key),
            select(Contact.customer_id).where(Contact.phone_key == key))))
    if params.get("radius_km") is not None:
        box = geo.bounding_box(params["lat"], params["lng"], params["radius_km"])
        stmt = stmt.where(Customer.latitude.between(box.min_lat, box.max_lat),
                          or_(*(Customer.longitude.between(lo, hi) for lo, hi in box.lng_ranges)))
    return stmt


def contact_filters(stmt, params: dict, principal: Principal):
    stmt = _common(stmt, Contact, params, principal)
    for name in ("owner_id", "customer_id"):
        if params.get(name):
            stmt = stmt.where(getattr(Contact, name) == params[name])
    if params.get("name"):
        stmt = stmt.where(Contact.name.like(escape_like(params["name"].strip()) + "%", escape="\\"))
    if params.get("phone"):
        stmt = stmt.where(Contact.phone_key == (normalize_phone(params["phone"]) or ""))
    return stmt


# -- keyset pages ------------------------------------------------------------------------------------
def _invalid_cursor():
    return ValidationFailed.from_messages({"cursor": ["Invalid cursor."]})


def _position(cursor: str | None, sort: Sort, direction: str):
    """(is_null, value, id) of the row after which the page starts, or None for the first page; a
    cursor of another sort or direction is 422 ``Invalid cursor``."""
    if not cursor:
        return None
    state = cursor_state(cursor)
    if state.get("sort") != sort.key or state.get("dir", "desc") != direction:
        raise _invalid_cursor()
    if sort.column is None:
        return (False, None, state["after"])
    value = state.get("v")
    if value is None:
        if not sort.nullable:
            raise _invalid_cursor()
        return (True, None, state["after"])
    if not isinstance(value, str):
        raise _invalid_cursor()
    if sort.is_time:
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _invalid_cursor() from None
        if value.tzinfo is None:
            raise _invalid_cursor()
    return (False, value, state["after"])


def _cursor(row, sort: Sort, direction: str) -> str:
    state = {"sort": sort.key, "dir": direction} if sort.key or direction != "desc" else {}
    if sort.column is not None:
        value = getattr(row, sort.column.key)
        state["v"] = value.isoformat() if isinstance(value, dt.datetime) else value
    return encode_cursor(row.id, **state)


def _phases(sort: Sort, direction: str) -> list[bool]:
    """The order in which rows without a value (True) and with one (False) come."""
    if sort.column is None or not sort.nullable:
        return [False]
    return [True, False] if direction == "desc" else [False, True]


def _phase_stmt(stmt, model, sort: Sort, direction: str, nulls: bool, after):
    """``stmt`` for one phase, from ``after`` ((value, id) or None), ordered."""
    desc = direction == "desc"
    ident, col = model.id, sort.column
    if col is None or nulls:
        if col is not None:
            stmt = stmt.where(col.is_(None))
        if after is not None:
            stmt = stmt.where(ident < after[1] if desc else ident > after[1])
        return stmt.order_by(ident.desc() if desc else ident.asc())
    if sort.nullable:
        stmt = stmt.where(col.is_not(None))
    if after is not None:
        key, at = tuple_(col, ident), (after[0], after[1])
        stmt = stmt.where(key < at if desc else key > at)
    return stmt.order_by(*((col.desc(), ident.desc()) if desc else (col.asc(), ident.asc())))


def keyset_page(session, stmt, model, sort: Sort, direction: str, limit: int, cursor: str | None, keep=None,
                keep_columns=()):
    """One page of ``stmt`` in the order of ``sort``: (rows, next_cursor). ``keep``: a test each row
    must pass besides the SQL, on the row's id, sort value and ``keep_columns``: candidates are read in
    batches of those columns only until the page is full, then the page's records are loaded."""
    position = _position(cursor, sort, direction)
    phases = _phases(sort, direction)
    if position is not None:
        phases = phases[phases.index(position[0]):] if position[0] in phases else phases
    if keep is not None:
        stmt = stmt.with_only_columns(model.id, *([sort.column] if sort.column is not None else []), *keep_columns)
    wanted, rows = limit + 1, []
    for i, nulls in enumerate(phases):
        after = (position[1], position[2]) if position is not None and i == 0 and position[0] == nulls else None
        while len(rows) < wanted:
            # (most of a box is in its circle: half as many again as still wanted, in one go as a rule)
            batch = max((wanted - len(rows)) * 3 // 2, NEAR_BATCH) if keep else wanted - len(rows)
            query = _phase_stmt(stmt, model, sort, direction, nulls, after).limit(batch)
            got = session.execute(query).all() if keep is not None else session.scalars(query).all()
            rows.extend(r for r in got if keep is None or keep(r))
            if len(got) < batch:
                break
            after = (getattr(got[-1], sort.column.key) if sort.column is not None else None, got[-1].id)
        if len(rows) >= wanted:
            break
    rows = rows[:wanted]
    next_cursor = _cursor(rows[limit - 1], sort, direction) if len(rows) > limit else None
    rows = rows[:limit]
    if keep is not None and rows:           # the page's records, in the page's order
        found = {r.id: r for r in session.scalars(select(model).where(model.id.in_([r.id for r in rows])))}
        rows = [found[r.id] for r in rows if r.id in found]
    return rows, next_cursor


# -- the lists ---------------------------------------------------------------------------------------
def customer_statement(principal: Principal, params: dict, scoped=None):
    """The scoped, filtered select ``list_customers`` pages (the benchmark explains it): ``scoped``, or
    the caller's data scope with the pools' way in."""
    stmt = scoped if scoped is not None else scoped_select(Customer, principal, read_extra(principal))
    return customer_filters(stmt, params, principal)


def list_customers(uow: UnitOfWork, principal: Principal, query: dict) -> dict:
    """Customers the caller may see, in a preset view, filtered, sorted, a keyset page; a pool's
    hidden fields masked for its members (``access.mask``)."""
    params = load(_list_query, query or {})
    stmt = customer_statement(principal, params, scoped_select(Customer, principal, read_extra(principal)))
    keep = None
    if params.get("radius_km") is not None:
        lat, lng, radius = params["lat"], params["lng"], params["radius_km"]
        keep = lambda c: geo.within(lat, lng, radius, c.latitude, c.longitude)  # noqa: E731
    sort = CUSTOMER_SORTS.get(params["sort"]) or Sort(None, None)
    with uow:
        rows, next_cursor = keyset_page(uow.session, stmt, Customer, sort, params["direction"], params["limit"],
                                        params["cursor"], keep, (Customer.latitude, Customer.longitude))
        items = [mask(uow.session, principal, c, d) for c, d in zip(rows, _out.dump(rows, many=True))]
        return {"items": items, "next_cursor": next_cursor}


def list_contacts(uow: UnitOfWork, principal: Principal, query: dict) -> dict:
    """Contacts the caller may see (as their customers), in a preset view, filtered, sorted, paged."""
    params = load(_contact_list_query, query or {})
    stmt = contact_filters(scoped_select(Contact, principal), params, principal)
    sort = CONTACT_SORTS.get(params["sort"]) or Sort(None, None)
    with uow:
        rows, next_cursor = keyset_page(uow.session, stmt, Contact, sort, params["direction"], params["limit"],
                                        params["cursor"])
        return {"items": _contact_out.dump(rows, many=True), "next_cursor": next_cursor}
