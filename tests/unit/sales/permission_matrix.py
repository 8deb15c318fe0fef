"""The sales records in the permission matrix (``tests/unit/test_permissions.py``): how each is made
and shared (as the matrix's lead: owned by ``owner``, shared with ``team_read`` / ``team_rw`` where
the record has a team), and its operations."""
from __future__ import annotations

from services.sales.application import contracts, opportunities, opportunity_queries, orders, quotes
from services.sales.models import Base as SalesBase
from tests.unit.conftest import ADMIN

# records without a team of their own: the team roles see them as an unrelated member does
WITHOUT_TEAM = {"quote", "contract"}

# lists that are not of owned records, and what scopes them instead (tests of their own check it)
UNOWNED_LISTS = {
    "list_products": "the product catalogue: everyone reads it, only admins change it (test_products.py)",
    "list_price_lists": "the price lists: read like the catalogue (test_products.py)",
    "list_approval_flows": "the approval flows: platform configuration, admins only (test_approvals.py)",
    "list_my_approvals": "what waits for the caller: rows naming the caller as approver or cc (test_approvals.py)",
}
# tables with an owner_id that are not records users list: how they are reached instead
NOT_LISTED = {
    "approval_request": "read as GET /approvals/{id} by its submitter, approvers, cc and admins (test_approvals.py)",
    "sales_target": "targets: scoped by who they are for, company / department subtree / person (test_targets.py)",
    "targetcollection": "collected amounts, facts behind a target's attainment: never listed",
    "salescustomerref": "which customer id a merged one became: never listed",
}


class SalesWorld:
    """Mixed into the matrix's ``World`` (which gives ``make_db`` and ``OWNER``)."""

    OWNER = None

    def sales_db(self):
        if not hasattr(self, "_sales"):
            self._sales = self.make_db(SalesBase, "sales")
        return self._sales

    def _share(self, setter, ident: str) -> None:
        setter(self.sales_db().uow(), self.OWNER, ident, "reader-1", "read")
        setter(self.sales_db().uow(), self.OWNER, ident, "writer-1", "read_write")

    def _product(self) -> str:
        return orders_products().create_product(self.sales_db().uow(), ADMIN, {
            "sku": f"SKU-{len(getattr(self, '_skus', []))}", "name": "Printer", "unit": "pcs",
            "unit_price": "100.00", "currency": "CNY"})["id"]

    def opportunity(self) -> str:
        ident = opportunities.create_opportunity(self.sales_db().uow(), self.OWNER, {
            "customer_id": "cust-1", "name": "Printers for Initech", "amount": "1000.00"})["id"]
        self._share(opportunities.set_opportunity_team_member, ident)
        return ident

    def order(self) -> str:
        ident = orders.create_order(self.sales_db().uow(), self.OWNER, {
            "customer_id": "cust-1", "lines": [{"product_id": self._product(), "quantity": "2"}]})["id"]
        self._share(orders.set_order_team_member, ident)
        return ident

    def contract(self) -> str:
        return contracts.create_contract(self.sales_db().uow(), self.OWNER, {
            "customer_id": "cust-1", "name": "Printers, three years", "amount": "36000.00"})["id"]

    def quote(self) -> str:
        opportunity_id = opportunities.create_opportunity(self.sales_db().uow(), self.OWNER, {
            "customer_id": "cust-1", "name": "Quoted deal", "amount": "1000.00"})["id"]
        return quotes.create_quote(self.sales_db().uow(), self.OWNER, {
            "opportunity_id": opportunity_id, "lines": [{"product_id": self._product(), "quantity": "1"}]})["id"]


def orders_products():
    from services.sales.application import products
    return products


def _listed(result, ident):
    from tests.unit.test_permissions import listed
    return listed(result, ident)


def _uow(w):
    return w.sales_db().uow()


SALES_OPERATIONS = {
    "opportunity": {
        "get": ("read", lambda w, p, i: opportunities.get_opportunity(_uow(w), p, i)),
        "list": ("read", lambda w, p, i: _listed(opportunity_queries.list_opportunities(_uow(w), p, {}), i)),
        "update": ("write", lambda w, p, i: opportunities.update_opportunity(_uow(w), p, i, {"name": "Bigger"}, 1)),
        "stage": ("write", lambda w, p, i: opportunities.change_opportunity_stage(
            _uow(w), p, i, {"stage": "needs_analysis", "note": "budget confirmed"})),
        "stages": ("read", lambda w, p, i: opportunity_queries.list_opportunity_stages(_uow(w), p, i)),
        "team_list": ("read", lambda w, p, i: opportunities.list_opportunity_team(_uow(w), p, i)),
        "team_set": ("write", lambda w, p, i: opportunities.set_opportunity_team_member(
            _uow(w), p, i, "new-1", "read")),
        "history": ("read", lambda w, p, i: opportunities.opportunity_history(_uow(w), p, i, {})),
    },
    "order": {
        "get": ("read", lambda w, p, i: orders.get_order(_uow(w), p, i)),
        "list": ("read", lambda w, p, i: _listed(orders.list_orders(_uow(w), p, {}), i)),
        "update": ("write", lambda w, p, i: orders.update_order(_uow(w), p, i, {"notes": "urgent"}, 1)),
        "copy": ("read", lambda w, p, i: orders.copy_order(_uow(w), p, i)),
        "cancel": ("write", lambda w, p, i: orders.cancel_order(_uow(w), p, i, "not needed")),
        "team_list": ("read", lambda w, p, i: orders.list_order_team(_uow(w), p, i)),
        "team_set": ("write", lambda w, p, i: orders.set_order_team_member(_uow(w), p, i, "new-1", "read")),
        "history": ("read", lambda w, p, i: orders.order_history(_uow(w), p, i, {})),
    },
    "contract": {
        "get": ("read", lambda w, p, i: contracts.get_contract(_uow(w), p, i)),
        "list": ("read", lambda w, p, i: _listed(contracts.list_contracts(_uow(w), p, {}), i)),
        "update": ("write", lambda w, p, i: contracts.update_contract(_uow(w), p, i, {"payment_terms": "30 days"}, 1)),
        "void": ("write", lambda w, p, i: contracts.void_contract(_uow(w), p, i, "duplicate")),
        "history": ("read", lambda w, p, i: contracts.contract_history(_uow(w), p, i, {})),
    },
    "quote": {
        "get": ("read", lambda w, p, i: quotes.get_quote(_uow(w), p, i)),
        "list": ("read", lambda w, p, i: _listed(quotes.list_quotes(_uow(w), p, {}), i)),
        "update": ("write", lambda w, p, i: quotes.update_quote(_uow(w), p, i, {"note": "valid a month"}, 1)),
        "history": ("read", lambda w, p, i: quotes.quote_history(_uow(w), p, i, {})),
    },
}
