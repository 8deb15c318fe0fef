"""Data scopes: admin all; manager own + department subtree; member own; outside = missing."""
from __future__ import annotations

import pytest
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.context import Principal
from crm_kit.errors import NotFound
from crm_kit.records.db import make_base
from crm_kit.records.scopes import get_in_scope, scope_clause
from tests.unit.conftest import ADMIN, MANAGER_D1, MANAGER_D2, MEMBER_1, MEMBER_SUB, SYSTEM

Base = make_base()


class Record(Base):
    __tablename__ = "records"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    watcher_id: Mapped[str | None] = mapped_column(String(36))


ROWS = {
    "r-u1-d1": ("user-1", "d1"),
    "r-u2-d1": ("user-2", "d1"),
    "r-u3-d1a": ("user-3", "d1a"),        # sub-department of d1
    "r-u4-d2": ("user-4", "d2"),
    "r-u1-d2": ("user-1", "d2"),          # user-1's own record filed under another department
    "r-mgr1-d2": ("mgr-1", "d2"),         # the d1 manager's own record elsewhere
    "r-pool": (None, None),               # in a pool: nobody owns it
}


@pytest.fixture
def session(make_db):
    db = make_db(Base, "test")
    with db.session() as s:
        for ident, (owner, dept) in ROWS.items():
            s.add(Record(id=ident, owner_id=owner, department_id=dept,
                         watcher_id="user-9" if ident == "r-u4-d2" else None))
        s.commit()
        yield s


def visible(session, principal, team_clause=None):
    return {r.id for r in session.scalars(select(Record).where(scope_clause(Record, principal, team_clause)))}


def test_admin_sees_everything(session):
    assert visible(session, ADMIN) == set(ROWS)


def test_system_sees_everything(session):
    assert visible(session, SYSTEM) == set(ROWS)


def test_manager_sees_own_and_department_subtree(session):
    assert visible(session, MANAGER_D1) == {"r-u1-d1", "r-u2-d1", "r-u3-d1a", "r-mgr1-d2"}
    assert visible(session, MANAGER_D2) == {"r-u4-d2", "r-u1-d2", "r-mgr1-d2"}


def test_manager_without_scope_departments_sees_own_only(session):
    assert visible(session, Principal("mgr-1", "manager", "d1", ())) == {"r-mgr1-d2"}


def test_member_sees_own_only(session):
    assert visible(session, MEMBER_1) == {"r-u1-d1", "r-u1-d2"}
    assert visible(session, MEMBER_SUB) == {"r-u3-d1a"}


def test_member_scope_departments_do_not_widen_member_view(session):
    member = Principal("user-1", "member", "d1", ("d1", "d1a", "d2"))
    assert visible(session, member) == {"r-u1-d1", "r-u1-d2"}


def test_unknown_role_sees_own_only(session):
    assert visible(session, Principal("user-1", "auditor", "d1", ("d1",))) == {"r-u1-d1", "r-u1-d2"}


def test_no_principal_sees_nothing(session):
    assert visible(session, None) == set()


def test_team_clause_widens_scope(session):
    watcher = Principal("user-9", "member", "d2")
    assert visible(session, watcher) == set()
    assert visible(session, watcher, Record.watcher_id == watcher.user_id) == {"r-u4-d2"}


def test_get_in_scope_returns_row(session):
    assert get_in_scope(session, Record, "r-u2-d1", MANAGER_D1, "record").id == "r-u2-d1"
    assert get_in_scope(session, Record, "r-u1-d2", MEMBER_1, "record").id == "r-u1-d2"


def _shape(exc: NotFound, ident: str):
    return type(exc), exc.status, exc.detail.replace(ident, "<id>"), {**exc.extra, "id": "<id>"}


@pytest.mark.parametrize("principal,ident", [
    (MEMBER_1, "r-u2-d1"),
    (MEMBER_SUB, "r-u1-d1"),
    (MANAGER_D1, "r-u4-d2"),
    (MANAGER_D2, "r-u3-d1a"),
    (None, "r-u1-d1"),
])
def test_out_of_scope_is_exactly_like_missing(session, principal, ident):
    with pytest.raises(NotFound) as out_of_scope:
        get_in_scope(session, Record, ident, principal, "record")
    with pytest.raises(NotFound) as missing:
        get_in_scope(session, Record, "no-such-id", principal, "record")
    assert _shape(out_of_scope.value, ident) == _shape(missing.value, "no-such-id")
    assert out_of_scope.value.extra == {"resource": "record", "id": ident}


# -- team tables and the write scope (crm_kit.records.teams) ------------------------------------
from crm_kit.errors import Forbidden  # noqa: E402
from crm_kit.records.scopes import get_for_write, scoped_select, write_scope_clause  # noqa: E402
from crm_kit.records.teams import define_team_table, set_member  # noqa: E402

SharedBase = make_base()


class Shared(SharedBase):
    __tablename__ = "shared"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))


shared_team = define_team_table(SharedBase.metadata, Shared.__table__)


@pytest.fixture
def shared(make_db):
    db = make_db(SharedBase, "shared")
    with db.session() as s:
        s.add_all([Shared(id="s1", owner_id="user-4", department_id="d2"),
                   Shared(id="s2", owner_id="user-4", department_id="d2")])
        s.flush()
        set_member(s, shared_team, "s1", "user-1", "read", "user-4")
        set_member(s, shared_team, "s2", "user-1", "read_write", "user-4")
        s.commit()
        yield s


def test_team_members_read_and_read_write_members_write(shared):
    assert {r.id for r in shared.scalars(scoped_select(Shared, MEMBER_1, shared_team))} == {"s1", "s2"}
    assert {r.id for r in shared.scalars(
        scoped_select(Shared, MEMBER_1, shared_team).where(write_scope_clause(Shared, MEMBER_1, shared_team)))} \
        == {"s2"}
    assert get_for_write(shared, Shared, "s2", MEMBER_1, "shared", shared_team).id == "s2"
    with pytest.raises(Forbidden):
        get_for_write(shared, Shared, "s1", MEMBER_1, "shared", shared_team)
    with pytest.raises(NotFound):
        get_for_write(shared, Shared, "s1", MEMBER_SUB, "shared", shared_team)


def test_team_table_shape():
    assert [c.name for c in shared_team.primary_key] == ["record_id", "user_id"]
    assert shared_team.name == "shared_team"
    assert any(ix.name == "ix_shared_team_user_id" for ix in shared_team.indexes)
