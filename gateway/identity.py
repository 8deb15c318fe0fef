"""Identity use cases: users, departments, logins, and the principal of a request.

Plain Python over a unit of work on the gateway's own database (tests drive
these directly). Roles: ``admin`` manages users and departments; everyone
signed in may read them (to pick an owner or a team member); a user may
change their own name, e-mail and password.
"""
from __future__ import annotations

import logging
import secrets
import time

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm_kit.config import env
from crm_kit.context import Principal
from crm_kit.errors import Conflict, Duplicate, Forbidden, NotFound, StaleVersion, Unauthorized, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from gateway import passwords, schemas, tokens
from gateway.inputs import printable, unstorable
from gateway.models import Department, User

log = logging.getLogger(__name__)

_user_out, _dept_out, _me_out = schemas.User(), schemas.Department(), schemas.Me()
_token_in, _user_create, _user_update = schemas.TokenRequest(), schemas.UserCreate(), schemas.UserUpdate()
_dept_create, _dept_update = schemas.DepartmentCreate(), schemas.DepartmentUpdate()
_user_query, _dept_query = schemas.UserListQuery(), schemas.DepartmentListQuery()

PRINCIPAL_TTL = 30.0  # seconds a resolved principal is reused (role/department changes apply after it)


# -- bootstrap -------------------------------------------------------------
def bootstrap_admin(uow: UnitOfWork) -> str | None:
    """On first start with no users, create ``admin``. Returns the password when
    it was generated (the caller prints it once), else None."""
    with uow:
        if uow.session.scalar(select(func.count()).select_from(User)):
            return None
        password = env("CRM_ADMIN_PASSWORD")
        generated = password is None
        password = password or secrets.token_urlsafe(12)
        uow.session.add(User(id=new_id(), username="admin", full_name="Administrator", role="admin",
                             password_hash=passwords.hash_password(password), active=True))
        try:
            uow.commit()
        except IntegrityError:  # another replica created it first
            return None
        return password if generated else None


# -- logins and principals -----------------------------------------------------
def login(uow: UnitOfWork, data: dict, key: str) -> dict:
    creds = load(_token_in, data)
    with uow:
        user = uow.session.execute(select(User.id, User.role, User.active, User.password_hash)
                                   .where(User.username == creds["username"])).first()
    # Verify even for an unknown user, so timing does not reveal which usernames exist.
    ok = passwords.verify_password(creds["password"], user.password_hash if user else passwords.DUMMY_HASH)
    if user is None or not ok or not user.active:
        raise Unauthorized("Wrong username or password.", {"reason": "bad_credentials"})
    token, ttl = tokens.issue(user.id, user.role, key)
    return {"access_token": token, "token_type": "bearer", "expires_in": ttl}


def department_subtree(departments: list[tuple[str, str | None]], root: str | None) -> tuple[str, ...]:
    """``root`` and every department below it."""
    if root is None:
        return ()
    children: dict[str | None, list[str]] = {}
    for dept_id, parent_id in departments:
        children.setdefault(parent_id, []).append(dept_id)
    out, stack = [], [root]
    while stack:
        current = stack.pop()
        if current in out:
            continue
        out.append(current)
        stack.extend(children.get(current, ()))
    return tuple(sorted(out))


class PrincipalCache:
    def __init__(self, ttl: float = PRINCIPAL_TTL):
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, uow: UnitOfWork, user_id: str) -> Principal:
        hit = self._entries.get(user_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        principal = resolve_principal(uow, user_id)
        self._entries[user_id] = (time.monotonic() + self.ttl, principal)
        return principal

    def forget(self, user_id: str | None = None) -> None:
        if user_id is None:
            self._entries.clear()
        else:
            self._entries.pop(user_id, None)


def resolve_principal(uow: UnitOfWork, user_id: str) -> Principal:
    with uow:
        user = uow.session.get(User, user_id)
        if user is None or not user.active:
            raise Unauthorized("The token's user no longer exists or is disabled.", {"reason": "inactive"})
        departments = uow.session.execute(select(Department.id, Department.parent_id)).all()
        return Principal(user_id=user.id, role=user.role, department_id=user.department_id,
                         scope_department_ids=department_subtree(departments, user.department_id))


# -- users ---------------------------------------------------------------------
def _admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Only an administrator may do this.")


def _check_version(record, expected: int | None) -> None:
    if expected is not None and record.version != expected:
        raise StaleVersion(f"The record has changed (version {record.version}, not {expected}).",
                           {"current_version": record.version})


def _department_exists(session, dept_id: str | None) -> None:
    if dept_id is not None and session.get(Department, dept_id) is None:
        raise ValidationFailed.from_messages({"department_id": ["Unknown department."]})


def create_user(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    _admin(principal)
    fields = load(_user_create, data)
    with uow:
        _department_exists(uow.session, fields["department_id"])
        existing = uow.session.scalars(select(User.id).where(User.username == fields["username"])).first()
        if existing:
            raise Duplicate("That username is taken.", {"existing_id": existing, "field": "username"})
        password = fields.pop("password")
        user = User(id=new_id(), password_hash=passwords.hash_password(password), active=True, **fields)
        uow.session.add(user)
        uow.commit()
        return _user_out.dump(user)


def _possible_id(user_id) -> bool:
    """Could be a user's id: text that fits the column and that a database can compare (these ids
    come from request bodies, before any schema has seen them)."""
    return isinstance(user_id, str) and 0 < len(user_id) <= 36 and unstorable(user_id) is None


def user_exists(uow: UnitOfWork, user_id: str) -> bool:
    if not _possible_id(user_id):
        return False
    with uow:
        return uow.session.get(User, user_id) is not None


def user_departments(uow: UnitOfWork, user_ids, field: str) -> dict[str, str | None]:
    """``{user_id: department_id}`` for ids a service needs resolved; unknown ids are a 422 on ``field``
    (an id no user can have is unknown without asking the database)."""
    given = sorted({u for u in user_ids if isinstance(u, str)})
    impossible = [u for u in given if not _possible_id(u)]
    if impossible:
        raise ValidationFailed.from_messages({field: [f"Unknown user: {printable(u[:40])}." for u in impossible]})
    ids = given
    with uow:
        rows = dict(uow.session.execute(select(User.id, User.department_id).where(User.id.in_(ids))).all()) \
            if ids else {}
    unknown = [u for u in ids if u not in rows]
    if unknown:
        raise ValidationFailed.from_messages({field: [f"Unknown user: {u}." for u in unknown]})
    return rows


def get_user(uow: UnitOfWork, principal: Principal, user_id: str) -> dict:
    with uow:
        user = uow.session.get(User, user_id)
        if user is None:
            raise NotFound.of("user", user_id)
        return _user_out.dump(user)


def me(uow: UnitOfWork, principal: Principal) -> dict:
    with uow:
        user = uow.session.get(User, principal.user_id)
        if user is None:
            raise NotFound.of("user", principal.user_id)
        fields = {column.key: getattr(user, column.key) for column in User.__mapper__.column_attrs}
        return _me_out.dump({**fields, "scope_department_ids": list(principal.scope_department_ids)})


def list_users(uow: UnitOfWork, principal: Principal, query: dict) -> dict:
    params = load(_user_query, query or {})
    stmt = select(User)
    for name in ("role", "department_id"):
        if params.get(name):
            stmt = stmt.where(getattr(User, name) == params[name])
    with uow:
        rows, cursor = paginate(uow.session, stmt, User.id, params["limit"], params["cursor"])
        return {"items": _user_out.dump(rows, many=True), "next_cursor": cursor}


def update_user(uow: UnitOfWork, principal: Principal, user_id: str, data: dict, expected_version: int | None,
                cache: PrincipalCache | None = None) -> dict:
    fields = load(_user_update, data, partial=True)
    if not principal.is_admin:
        if principal.user_id != user_id:
            raise Forbidden("You may change only your own profile.")
        forbidden = set(fields) & {"role", "department_id", "active"}
        if forbidden:
            raise Forbidden(f"Only an administrator may change: {', '.join(sorted(forbidden))}.")
    with uow:
        user = uow.session.get(User, user_id)
        if user is None:
            raise NotFound.of("user", user_id)
        _check_version(user, expected_version)
        if "department_id" in fields:
            _department_exists(uow.session, fields["department_id"])
        if "password" in fields:
            user.password_hash = passwords.hash_password(fields.pop("password"))
        for key, value in fields.items():
            setattr(user, key, value)
        uow.commit()
        if cache is not None:
            cache.forget(user_id)
        return _user_out.dump(user)


# -- departments -------------------------------------------------------------------
def create_department(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    _admin(principal)
    fields = load(_dept_create, data)
    with uow:
        if fields["parent_id"] is not None and uow.session.get(Department, fields["parent_id"]) is None:
            raise ValidationFailed.from_messages({"parent_id": ["Unknown department."]})
        dept = Department(id=new_id(), **fields)
        uow.session.add(dept)
        uow.commit()
        return _dept_out.dump(dept)


def get_department(uow: UnitOfWork, principal: Principal, dept_id: str) -> dict:
    with uow:
        dept = uow.session.get(Department, dept_id)
        if dept is None:
            raise NotFound.of("department", dept_id)
        return _dept_out.dump(dept)


def list_departments(uow: UnitOfWork, principal: Principal, query: dict) -> dict:
    params = load(_dept_query, query or {})
    with uow:
        rows, cursor = paginate(uow.session, select(Department), Department.id, params["limit"], params["cursor"])
        return {"items": _dept_out.dump(rows, many=True), "next_cursor": cursor}


def update_department(uow: UnitOfWork, principal: Principal, dept_id: str, data: dict,
                      expected_version: int | None, cache: PrincipalCache | None = None) -> dict:
    _admin(principal)
    fields = load(_dept_update, data, partial=True)
    with uow:
        dept = uow.session.get(Department, dept_id)
        if dept is None:
            raise NotFound.of("department", dept_id)
        _check_version(dept, expected_version)
        if "parent_id" in fields and fields["parent_id"] is not None:
            if uow.session.get(Department, fields["parent_id"]) is None:
                raise ValidationFailed.from_messages({"parent_id": ["Unknown department."]})
            tree = uow.session.execute(select(Department.id, Department.parent_id)).all()
            if fields["parent_id"] in department_subtree(tree, dept_id):
                raise Conflict("A department cannot be moved under itself or its own sub-department.")
        for key, value in fields.items():
            setattr(dept, key, value)
        uow.commit()
        if cache is not None:
            cache.forget()  # subtrees changed for managers anywhere above
        return _dept_out.dump(dept)
