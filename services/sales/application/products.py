"""Products (产品) and price lists (价目表): create, read, list, update; a list's prices.

Everyone reads the catalogue and the price lists (they hold no customer data: no data scope
narrows them); only admins create or change them (``ensure_admin``: 403). A product's ``sku`` and a
list's ``name`` are unique (``Duplicate``, 409, naming the field). Updates take the version
(If-Match). A list's prices are set all at once (``set_price_list_prices``: the list's version goes
up, its audit entry holds the prices before and after); a product has one price per list on any
date (``domain.pricing.overlapping_products``).
"""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from crm_kit.context import Principal
from crm_kit.errors import Duplicate, NotFound, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import Dumper, load
from crm_kit.records.scopes import require_admin
from crm_kit.records.text import normalize_name
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork
from services.sales.domain.pricing import overlapping_products
from services.sales.models.products import PriceList, PriceListPrice, Product
from services.sales.schemas.products import (
    PriceListCreate,
    PriceListListQuery,
    PriceListOut,
    PriceListPricesOut,
    PriceListPricesSet,
    PriceListUpdate,
    ProductCreate,
    ProductListQuery,
    ProductOut,
    ProductUpdate,
)

_create, _update, _query = ProductCreate(), ProductUpdate(), ProductListQuery()
_out = Dumper(ProductOut())
_list_create, _list_update, _list_query = PriceListCreate(), PriceListUpdate(), PriceListListQuery()
_list_out = Dumper(PriceListOut())
_prices_set, _prices_out = PriceListPricesSet(), PriceListPricesOut()


def ensure_admin(principal: Principal, action: str) -> None:
    require_admin(principal, action, "Only administrators change products and price lists.")


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# -- products ----------------------------------------------------------------------------------------
def create_product(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    ensure_admin(principal, "create_product")
    fields = tidy_product(load(_create, data))
    with uow:
        _raise_if_duplicate_sku(uow.session, fields["sku"])
        now = utcnow()
        product = Product(id=new_id(), created_by=principal.user_id, created_at=now, updated_at=now, **fields)
        uow.session.add(product)
        _flush_or_duplicate_sku(uow, fields["sku"])
        return uow.commit(lambda: _out(product))


def get_product(uow: UnitOfWork, principal: Principal, product_id: str) -> dict:
    with uow:
        return _out(product_for(uow.session, product_id))


def list_products(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    """The catalogue, newest first, filtered by ``active``, ``category`` and ``q`` (the start of the
    name's key or of the sku)."""
    params = load(_query, query or {})
    with uow:
        rows, next_cursor = paginate(uow.session, filtered_products(params), Product.id, params["limit"],
                                     params["cursor"])
        return {"items": [_out(p) for p in rows], "next_cursor": next_cursor}


def filtered_products(params: dict):
    """``select(Product)`` narrowed by the list's filters (each on an indexed column)."""
    stmt = select(Product)
    if params.get("active") is not None:
        stmt = stmt.where(Product.active == params["active"])
    if params.get("category"):
        stmt = stmt.where(Product.category == params["category"])
    if params.get("q"):
        key = normalize_name(params["q"])
        clauses = [Product.sku.like(escape_like(params["q"].strip()) + "%", escape="\\")]
        if key:
            clauses.append(Product.name_key.like(escape_like(key) + "%", escape="\\"))
        stmt = stmt.where(or_(*clauses))
    return stmt


def update_product(uow: UnitOfWork, principal: Principal, product_id: str, data: dict,
                   expected_version=None) -> dict:
    ensure_admin(principal, "update_product")
    fields = tidy_product(load(_update, data, partial=True))
    with uow:
        product = product_for(uow.session, product_id)
        check_version(product, expected_version, "product")
        if "sku" in fields and fields["sku"] != product.sku:
            _raise_if_duplicate_sku(uow.session, fields["sku"])
        for name, value in fields.items():
            if getattr(product, name) != value:
                setattr(product, name, value)
        _flush_or_duplicate_sku(uow, product.sku)
        return uow.commit(lambda: _out(product))


def product_for(session, product_id: str) -> Product:
    product = session.get(Product, product_id) if isinstance(product_id, str) else None
    if product is None:
        raise NotFound.of("product", product_id)
    return product


def tidy_product(fields: dict) -> dict:
    """Text without surrounding spaces; the name's key kept with the name."""
    for name in ("sku", "name", "category", "unit"):
        if isinstance(fields.get(name), str):
            fields[name] = fields[name].strip() or None if name == "category" else fields[name].strip()
    if "name" in fields:
        fields["name_key"] = normalize_name(fields["name"])
    return fields


def _raise_if_duplicate_sku(session, sku: str) -> None:
    existing = session.scalars(select(Product.id).where(Product.sku == sku)).first()
    if existing:
        raise Duplicate(f"A product with sku '{sku}' already exists: {existing}.",
                        {"existing_id": existing, "field": "sku"})


def _flush_or_duplicate_sku(uow: UnitOfWork, sku: str) -> None:
    """Flush; a product given the same sku meanwhile is ``Duplicate`` (the unique index)."""
    try:
        uow.session.flush()
    except IntegrityError:
        uow.rollback()
        _raise_if_duplicate_sku(uow.session, sku)
        raise


# -- price lists -------------------------------------------------------------------------------------
def create_price_list(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    ensure_admin(principal, "create_price_list")
    fields = _tidy_list(load(_list_create, data))
    with uow:
        _raise_if_duplicate_name(uow.session, fields["name"])
        now = utcnow()
        price_list = PriceList(id=new_id(), created_by=principal.user_id, created_at=now, updated_at=now, **fields)
        uow.session.add(price_list)
        _flush_or_duplicate_name(uow, fields["name"])
        return uow.commit(lambda: _list_out(price_list))


def get_price_list(uow: UnitOfWork, principal: Principal, price_list_id: str) -> dict:
    with uow:
        return _list_out(price_list_for(uow.session, price_list_id))


def list_price_lists(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    params = load(_list_query, query or {})
    with uow:
        stmt = select(PriceList)
        if params.get("active") is not None:
            stmt = stmt.where(PriceList.active == params["active"])
        rows, next_cursor = paginate(uow.session, stmt, PriceList.id, params["limit"], params["cursor"])
        return {"items": [_list_out(p) for p in rows], "next_cursor": next_cursor}


def update_price_list(uow: UnitOfWork, principal: Principal, price_list_id: str, data: dict,
                      expected_version=None) -> dict:
    ensure_admin(principal, "update_price_list")
    fields = _tidy_list(load(_list_update, data, partial=True))
    with uow:
        price_list = price_list_for(uow.session, price_list_id)
        check_version(price_list, expected_version, "price list")
        start, end = fields.get("valid_from", price_list.valid_from), fields.get("valid_to", price_list.valid_to)
        if start is not None and end is not None and end < start:
            raise ValidationFailed.from_messages({"valid_to": ["Must not be before valid_from."]})
        if "name" in fields and fields["name"] != price_list.name:
            _raise_if_duplicate_name(uow.session, fields["name"])
        for name, value in fields.items():
            if getattr(price_list, name) != value:
                setattr(price_list, name, value)
        _flush_or_duplicate_name(uow, price_list.name)
        return uow.commit(lambda: _list_out(price_list))


def get_price_list_prices(uow: UnitOfWork, principal: Principal, price_list_id: str) -> dict:
    with uow:
        price_list = price_list_for(uow.session, price_list_id)
        return _dump_prices(price_list, _prices_of(uow.session, price_list.id))


def set_price_list_prices(uow: UnitOfWork, principal: Principal, price_list_id: str, data: dict,
                          expected_version=None) -> dict:
    """Every price of the list, replacing those it had: each product known, one price per product
    on any date. The list's version goes up."""
    ensure_admin(principal, "set_price_list_prices")
    prices = load(_prices_set, data)["prices"]
    overlapping = overlapping_products(prices)
    if overlapping:
        raise ValidationFailed.from_messages({"prices": [
            f"Product {p} has prices whose periods overlap." for p in overlapping]})
    with uow:
        session = uow.session
        price_list = price_list_for(session, price_list_id)
        check_version(price_list, expected_version, "price list")
        wanted = {p["product_id"] for p in prices}
        known = set(session.scalars(select(Product.id).where(Product.id.in_(wanted)))) if wanted else set()
        unknown = sorted(wanted - known)
        if unknown:
            raise ValidationFailed.from_messages({"prices": [f"Unknown product {p}." for p in unknown]})
        before = _prices_of(session, price_list.id)
        for row in before:
            session.delete(row)
        session.flush()
        rows = [PriceListPrice(id=new_id(), price_list_id=price_list.id, **p) for p in prices]
        session.add_all(rows)
        price_list.updated_at = utcnow()          # the list changed: its version goes up
        session.flush()
        uow.audit_record("price_list", price_list.id, {"prices": [_audit_prices(before), _audit_prices(rows)]},
                         action="set_prices")
        return uow.commit(lambda: _dump_prices(price_list, _prices_of(session, price_list.id)))


def price_list_for(session, price_list_id: str) -> PriceList:
    price_list = session.get(PriceList, price_list_id) if isinstance(price_list_id, str) else None
    if price_list is None:
        raise NotFound.of("price list", price_list_id)
    return price_list


def _prices_of(session, price_list_id: str) -> list[PriceListPrice]:
    return session.scalars(select(PriceListPrice).where(PriceListPrice.price_list_id == price_list_id)
                           .order_by(PriceListPrice.product_id, PriceListPrice.valid_from,
                                     PriceListPrice.id)).all()


def _dump_prices(price_list: PriceList, rows) -> dict:
    return _prices_out.dump({"price_list_id": price_list.id, "version": price_list.version, "prices": rows})


def _audit_prices(rows) -> list[dict]:
    return sorted(({"product_id": r.product_id, "price": str(r.price),
                    "valid_from": r.valid_from.isoformat() if r.valid_from else None,
                    "valid_to": r.valid_to.isoformat() if r.valid_to else None} for r in rows),
                  key=lambda p: (p["product_id"], p["valid_from"] or ""))


def _tidy_list(fields: dict) -> dict:
    if isinstance(fields.get("name"), str):
        fields["name"] = fields["name"].strip()
    return fields


def _raise_if_duplicate_name(session, name: str) -> None:
    existing = session.scalars(select(PriceList.id).where(PriceList.name == name)).first()
    if existing:
        raise Duplicate(f"A price list named '{name}' already exists: {existing}.",
                        {"existing_id": existing, "field": "name"})


def _flush_or_duplicate_name(uow: UnitOfWork, name: str) -> None:
    try:
        uow.session.flush()
    except IntegrityError:
        uow.rollback()
        _raise_if_duplicate_name(uow.session, name)
        raise
