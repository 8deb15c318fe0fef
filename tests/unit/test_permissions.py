"""The permission matrix: who may read and who may change leads, customers and contacts.

Table-driven so later issues extend it: add a role to ``ROLES``/``EXPECTED``, or an
operation to ``OPERATIONS`` (``read``: the caller must be able to see the record;
``write``: to change it). Outcomes: ``ok``, ``404`` (cannot see it: exactly like a
missing record), ``403`` (may see it but not do this).

The record is owned by ``owner`` (a member of department d1a, a sub-department of
d1), shared with ``team_read`` (read) and ``team_rw`` (read_write).
"""
from __future__ import annotations

import ast

import pytest

from crm_kit.config import REPO_ROOT
from crm_kit.context import Principal
from crm_kit.errors import Forbidden, NotFound
from services.customers import application as customers
from services.customers.models import Base as CustomersBase
from services.leads import application as leads
from services.leads.models import Base as LeadsBase
from services.leads.models import Lead as LeadModel
from services.leads.models import LeadPool
from tests.unit.billing.permission_matrix import (
    BILLING_EXPECTED,
    BILLING_NOT_LISTED,
    BILLING_OPERATIONS,
    BILLING_WITHOUT_TEAM,
    FINANCE_EXPECTED,
    FINANCE_ROLES,
    BillingWorld,
)
from tests.unit.conftest import ADMIN
from tests.unit.sales.permission_matrix import NOT_LISTED, SALES_OPERATIONS, UNOWNED_LISTS, WITHOUT_TEAM, SalesWorld
from tests.unit.support.permission_matrix import (
    SUPPORT_EXPECTED,
    SUPPORT_NOT_LISTED,
    SUPPORT_OPERATIONS,
    SUPPORT_ROLE_EXPECTED,
    SUPPORT_ROLES,
    SUPPORT_UNOWNED_LISTS,
    SUPPORT_WITHOUT_TEAM,
    SupportWorld,
)

OWNER = Principal("owner-1", "member", "d1a", ("d1a",))
ROLES = {
    "admin": ADMIN,
    "manager_of_owner_department": Principal("mgr-d1a", "manager", "d1a", ("d1a",)),
    "manager_of_parent_department": Principal("mgr-d1", "manager", "d1", ("d1", "d1a")),
    "manager_of_other_department": Principal("mgr-d2", "manager", "d2", ("d2",)),
    "member_owner": OWNER,
    "member_team_read": Principal("reader-1", "member", "d2", ("d2",)),
    "member_team_read_write": Principal("writer-1", "member", "d2", ("d2",)),
    "unrelated_member": Principal("stranger-1", "member", "d1a", ("d1a",)),
    **FINANCE_ROLES,
    **SUPPORT_ROLES,
}

# role -> outcome per kind of operation: read, write, manage (assign a lead: admins, managers in scope,
# pool admins; never a plain member), admin_only (restore a discarded lead), review (billing: confirm a
# payment, write a receivable off -- finance in scope and admins)
KINDS = ("read", "write", "manage", "admin_only", "review")
EXPECTED = {
    "admin": ("ok", "ok", "ok", "ok", "ok"),
    "manager_of_owner_department": ("ok", "ok", "ok", "403", "403"),
    "manager_of_parent_department": ("ok", "ok", "ok", "403", "403"),
    "manager_of_other_department": ("404", "404", "404", "404", "404"),
    "member_owner": ("ok", "ok", "403", "403", "403"),
    "member_team_read": ("ok", "403", "403", "403", "403"),
    "member_team_read_write": ("ok", "ok", "403", "403", "403"),
    "unrelated_member": ("404", "404", "404", "404", "404"),
    **FINANCE_EXPECTED,
    **SUPPORT_ROLE_EXPECTED,
}
# per resource, roles whose outcomes differ there (finance in billing)
EXPECTED_IN = {resource: BILLING_EXPECTED for resource in BILLING_OPERATIONS}
EXPECTED_IN.update({resource: SUPPORT_EXPECTED for resource in SUPPORT_OPERATIONS})
assert set(EXPECTED) == set(ROLES)


def listed(result: dict, ident: str):
    """A list answers 'ok' when the record is in it, '404' when it is not."""
    if ident not in {item["id"] for item in result["items"]}:
        raise NotFound.of("record", ident)


# -- fixtures: one record, shared as described above ---------------------------------
class World(SalesWorld, BillingWorld, SupportWorld):
    OWNER = OWNER

    def __init__(self, make_db):
        self.make_db = make_db
        self.leads = make_db(LeadsBase, "leads")
        self.customers = make_db(CustomersBase, "customers")

    def lead(self) -> str:
        lead = leads.create_lead(self.leads.uow(), OWNER, {"name": "Li Lei", "phone": "13900000001"})
        leads.set_lead_team_member(self.leads.uow(), OWNER, lead["id"], "reader-1", "read")
        leads.set_lead_team_member(self.leads.uow(), OWNER, lead["id"], "writer-1", "read_write")
        return lead["id"]

    def in_pool(self, lead_id: str) -> None:
        """Put the lead in a pool none of the roles belongs to (return needs a pool)."""
        with self.leads.session() as s:
            lead = s.get(LeadModel, lead_id)
            if lead is not None:
                pool = LeadPool(id=f"pool-{lead_id}", name=f"pool {lead_id}")
                s.add(pool)
                lead.pool_id = pool.id
                s.commit()

    def set_status(self, lead_id: str, status: str) -> None:
        with self.leads.session() as s:
            lead = s.get(LeadModel, lead_id)
            if lead is not None:
                lead.status = status
                s.commit()

    def customer(self) -> str:
        customer = customers.create_customer(self.customers.uow(), OWNER, {"name": "Initech"})
        customers.set_customer_team_member(self.customers.uow(), OWNER, customer["id"], "reader-1", "read")
        customers.set_customer_team_member(self.customers.uow(), OWNER, customer["id"], "writer-1", "read_write")
        return customer["id"]

    def customerownership(self) -> str:
        """The owner history is read through its customer (``list_customer_owners``)."""
        return self.customer()

    def customer_follow_up(self) -> str:
        """A follow-up of a customer shared as above (reached through its customer: ``parent``)."""
        customer_id = self.customer()
        follow_up = customers.add_customer_follow_up(self.customers.uow(), OWNER, customer_id,
                                                     {"kind": "call", "content": "Called"})
        self.parents = {**getattr(self, "parents", {}), follow_up["id"]: customer_id}
        return follow_up["id"]

    def parent(self, ident: str) -> str:
        return getattr(self, "parents", {}).get(ident, ident)

    def contact(self) -> str:
        customer_id = self.customer()
        return customers.create_contact(self.customers.uow(), OWNER,
                                        {"customer_id": customer_id, "name": "Peter Gibbons"})["id"]


L, C = "leads", "customers"
# resource -> operation -> (kind, run(world, principal, record_id))
OPERATIONS = {
    "lead": {
        "get": ("read", lambda w, p, i: leads.get_lead(w.leads.uow(), p, i)),
        "list": ("read", lambda w, p, i: listed(leads.list_leads(w.leads.uow(), p, {}), i)),
        "update": ("write", lambda w, p, i: leads.update_lead(w.leads.uow(), p, i, {"notes": "called"}, 1)),
        "delete": ("write", lambda w, p, i: leads.delete_lead(w.leads.uow(), p, i, None)),
        "convert": ("write", lambda w, p, i: leads.convert_lead(w.leads.uow(), p, i, None)),
        "team_list": ("read", lambda w, p, i: leads.list_lead_team(w.leads.uow(), p, i)),
        "team_set": ("write", lambda w, p, i: leads.set_lead_team_member(w.leads.uow(), p, i, "new-1", "read")),
        "team_remove": ("write", lambda w, p, i: leads.remove_lead_team_member(w.leads.uow(), p, i, "reader-1")),
        "history": ("read", lambda w, p, i: leads.lead_history(w.leads.uow(), p, i, {})),
        "assign": ("manage", lambda w, p, i: leads.assign_lead(w.leads.uow(), p, i, "new-owner", "d1a")),
        "return": ("write", lambda w, p, i: (w.in_pool(i), leads.return_lead(w.leads.uow(), p, i, "no budget"))),
        "invalidate": ("write", lambda w, p, i: leads.invalidate_lead(w.leads.uow(), p, i)),
        "discard": ("write", lambda w, p, i: leads.discard_lead(w.leads.uow(), p, i)),
        "restore": ("admin_only", lambda w, p, i: (w.set_status(i, "discarded"),
                                                   leads.restore_lead(w.leads.uow(), p, i))),
        "follow_up_add": ("write", lambda w, p, i: leads.add_lead_follow_up(
            w.leads.uow(), p, i, {"kind": "call", "content": "called"})),
        "follow_up_list": ("read", lambda w, p, i: leads.list_lead_follow_ups(w.leads.uow(), p, i, {})),
    },
    "customer": {
        "get": ("read", lambda w, p, i: customers.get_customer(w.customers.uow(), p, i)),
        "list": ("read", lambda w, p, i: listed(customers.list_customers(w.customers.uow(), p, {}), i)),
        "update": ("write", lambda w, p, i: customers.update_customer(w.customers.uow(), p, i, {"level": "A"}, 1)),
        "delete": ("write", lambda w, p, i: customers.delete_customer(w.customers.uow(), p, i, None)),
        "contacts": ("read", lambda w, p, i: customers.list_contacts_of(w.customers.uow(), p, i)),
        "add_contact": ("write", lambda w, p, i: customers.create_contact(
            w.customers.uow(), p, {"customer_id": i, "name": "Milton"})),
        "team_list": ("read", lambda w, p, i: customers.list_customer_team(w.customers.uow(), p, i)),
        "team_set": ("write", lambda w, p, i: customers.set_customer_team_member(
            w.customers.uow(), p, i, "new-1", "read_write")),
        "team_remove": ("write", lambda w, p, i: customers.remove_customer_team_member(
            w.customers.uow(), p, i, "reader-1")),
        "history": ("read", lambda w, p, i: customers.customer_history(w.customers.uow(), p, i, {})),
        "owners": ("read", lambda w, p, i: customers.list_customer_owners(w.customers.uow(), p, i)),
        "assign": ("manage", lambda w, p, i: customers.assign_customer(w.customers.uow(), p, i, "new-owner", "d1a")),
    },
    # the owner history (``customer_ownership`` rows carry owner_id): visible exactly when its customer is
    "customerownership": {
        "list": ("read", lambda w, p, i: customers.list_customer_owners(w.customers.uow(), p, i)),
    },
    "customer_follow_up": {
        "get": ("read", lambda w, p, i: customers.get_customer_follow_up(w.customers.uow(), p, w.parent(i), i)),
        "list": ("read", lambda w, p, i: listed(customers.list_customer_follow_ups(
            w.customers.uow(), p, w.parent(i), {}), i)),
        "add": ("write", lambda w, p, i: customers.add_customer_follow_up(
            w.customers.uow(), p, w.parent(i), {"kind": "visit", "content": "Visited"})),
    },
    "contact": {
        "get": ("read", lambda w, p, i: customers.get_contact(w.customers.uow(), p, i)),
        "list": ("read", lambda w, p, i: listed(customers.list_contacts(w.customers.uow(), p, {}), i)),
        "update": ("write", lambda w, p, i: customers.update_contact(w.customers.uow(), p, i, {"title": "CTO"}, 1)),
        "delete": ("write", lambda w, p, i: customers.delete_contact(w.customers.uow(), p, i, 1)),
        "history": ("read", lambda w, p, i: customers.contact_history(w.customers.uow(), p, i, {})),
    },
}

OPERATIONS.update(SALES_OPERATIONS)
OPERATIONS.update(BILLING_OPERATIONS)
OPERATIONS.update(SUPPORT_OPERATIONS)
CASES = [(resource, op, role) for resource, ops in OPERATIONS.items() for op in ops for role in ROLES]


def outcome(run) -> str:
    try:
        run()
    except NotFound:
        return "404"
    except Forbidden:
        return "403"
    return "ok"


@pytest.mark.parametrize("resource, op, role", CASES, ids=[f"{r}-{o}-{p}" for r, o, p in CASES])
def test_permission_matrix(make_db, resource, op, role):
    world = World(make_db)
    ident = getattr(world, resource)()
    kind, run = OPERATIONS[resource][op]
    expected = EXPECTED_IN.get(resource, {}).get(role, EXPECTED[role])[KINDS.index(kind)]
    if resource in WITHOUT_TEAM | BILLING_WITHOUT_TEAM | SUPPORT_WITHOUT_TEAM and role.startswith("member_team"):
        expected = "404"                 # no team: a team role is an unrelated member here
    assert outcome(lambda: run(world, ROLES[role], ident)) == expected


@pytest.mark.parametrize("resource, op", [(r, o) for r, ops in OPERATIONS.items() for o in ops])
def test_unknown_record_is_404_for_everyone(make_db, resource, op):
    world = World(make_db)
    getattr(world, resource)()
    kind, run = OPERATIONS[resource][op]
    for principal in ROLES.values():
        assert outcome(lambda: run(world, principal, "no-such-id")) == "404"


def test_refused_write_changes_nothing(make_db):
    world = World(make_db)
    ident = world.lead()
    with pytest.raises(Forbidden):
        leads.update_lead(world.leads.uow(), ROLES["member_team_read"], ident, {"name": "Hacked"}, None)
    assert leads.get_lead(world.leads.uow(), OWNER, ident)["name"] == "Li Lei"


# -- no list can forget the scope ------------------------------------------------------
def _list_functions():
    """The ``list_*`` use cases of every service: its ``application.py``, or each module of its
    ``application/`` package (leads)."""
    paths = list((REPO_ROOT / "services").glob("*/application.py"))
    paths += (REPO_ROOT / "services").glob("*/application/*.py")
    for path in sorted(paths):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("list_"):
                yield path, node


def test_every_list_use_case_starts_from_a_scoped_query():
    """A list use case must call ``scoped_select`` (or fetch its parent with
    ``get_for_read``, or delegate to a kit use case that does, or to billing's ``list_in_scope``, which
    starts from ``scoped_select``). Lead pools have no owner: their scope is membership
    (``pool_scope_clause``, ``services/leads/application/access.py``). Webhook subscriptions and
    their deliveries are the platform's, not a user's: their lists refuse everyone but admins first
    (``require_admin``, ``crm_kit/records/scopes.py``)."""
    allowed = {"scoped_select", "get_for_read", "list_team", "pool_scope_clause", "list_in_scope", "require_admin"}
    offenders = []
    for path, fn in _list_functions():
        called = {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", None)
                  for n in ast.walk(fn) if isinstance(n, ast.Call)}
        if not called & allowed and fn.name not in UNOWNED_LISTS | SUPPORT_UNOWNED_LISTS.keys():
            offenders.append(f"{path.relative_to(REPO_ROOT)}:{fn.name}")
    assert not offenders, f"list use cases without a data scope: {offenders}"


def test_the_scan_finds_the_known_lists():
    names = {fn.name for _, fn in _list_functions()}
    assert {"list_leads", "list_customers", "list_contacts", "list_contacts_of", "list_lead_team",
            "list_lead_pools", "list_lead_follow_ups"} <= names


def test_every_owned_model_has_a_list_covered_by_the_matrix():
    """Each model with ``owner_id`` (or a scope parent) is listed in the matrix."""
    import importlib

    from crm_kit.config import SERVICES
    owned = set()
    for service in SERVICES:
        try:
            module = importlib.import_module(f"services.{service}.models")
        except ModuleNotFoundError:
            continue
        for mapper in module.Base.registry.mappers:
            cls = mapper.class_
            if "owner_id" in mapper.columns or hasattr(cls, "__scope_parent__"):
                owned.add(cls.__audit_entity__ if hasattr(cls, "__audit_entity__") else cls.__name__.lower())
    owned -= set(NOT_LISTED) | set(BILLING_NOT_LISTED) | set(SUPPORT_NOT_LISTED)
    assert owned <= {r for r, ops in OPERATIONS.items() if "list" in ops}, (
        f"models with data scopes missing from the permission matrix: {owned - set(OPERATIONS)}")
