"""``gateway.org_chart``: the organisation the services' rules read (sales' approval engine), answered
over RPC without a principal: every user's id, role, department and active flag (nothing else of
them) and the department tree; and sales' ``OrgChart`` reads it as it comes."""
from __future__ import annotations

import inspect

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from crm_kit.runtime.entrypoints import CrmRpc
from gateway.identity.models import Department, User
from gateway.identity.org_chart import org_chart
from gateway.models import Base
from gateway.service import GatewayService
from services.sales.domain.org import OrgChart


def test_the_org_chart_has_users_and_departments_and_nothing_private(make_db):
    db = make_db(Base, "gateway")
    with db.session() as session:
        session.add_all([Department(id="d1", name="HQ", parent_id=None)])
        session.flush()
        session.add_all([Department(id="d2", name="East", parent_id="d1"),
                         User(id="u1", username="boss", password_hash="x", role="manager", department_id="d1",
                              active=True, email="boss@example.com"),
                         User(id="u2", username="rep", password_hash="x", role="member", department_id="d2",
                              active=False)])
        session.commit()
    chart = org_chart(db.uow())
    assert chart == {"users": [{"id": "u1", "role": "manager", "department_id": "d1", "active": True},
                               {"id": "u2", "role": "member", "department_id": "d2", "active": False}],
                     "departments": [{"id": "d1", "parent_id": None}, {"id": "d2", "parent_id": "d1"}]}
    org = OrgChart.of(chart)
    assert org.user("u2") is None and org.manager_levels("u2", 2) == [["u1"]]


def test_it_is_a_platform_rpc_of_the_gateway():
    method = GatewayService.org_chart
    (entrypoint,) = [ep for ep in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()) if isinstance(ep, CrmRpc)]
    assert entrypoint.requires_principal is False
    assert list(inspect.signature(method).parameters) == ["self"]
