"""Users: their use cases, and the user ids the gateway checks for the services.

Plain Python over a unit of work on the gateway's database (tests drive these directly). Admins
manage users; everyone signed in may read them (to pick an owner or a team member); a user may
change their own name, e-mail and password.
"""
from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm_kit.config import env
from crm_kit.context import Principal
from crm_kit.errors import Duplicate, Forbidden, NotFound, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork
from gateway.identity import passwords, principals, schemas
from gateway.identity.departments import department_exists
from gateway.identity.models import User
from gateway.inputs import printable, unstorable

_user_out, _me_out = schemas.User(), schemas.Me()
_user_create, _user_update, _user_query = schemas.UserCreate(), schemas.UserUpdate(), schemas.UserListQuery()
ADMIN_ONLY = frozenset({"role", "department_id", "active"})   # what only an admin may change of a user


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


def create_user(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    principals.require_admin(principal)
    fields = load(_user_create, data)
    with uow:
        department_exists(uow.session, fields["department_id"], "department_id")
        existing = uow.session.scalars(select(User.id).where(User.username == fields["username"])).first()
        if existing:
            raise Duplicate("That username is taken.", {"existing_id": existing, "field": "username"})
        password = fields.pop("password")
        user = User(id=new_id(), password_hash=passwords.hash_password(password), active=True, **fields)
        uow.session.add(user)
        uow.commit()
        return _user_out.dump(user)


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


def update_user(uow: UnitOfWork, principal: Principal, user_id: str, data: dict,
                expected_version: int | None = None) -> dict:
    fields = load(_user_update, data, partial=True)
    if not principal.is_admin:
        if principal.user_id != user_id:
            raise Forbidden("You may change only your own profile.")
        forbidden = set(fields) & ADMIN_ONLY
        if forbidden:
            raise Forbidden(f"Only an administrator may change: {', '.join(sorted(forbidden))}.")
    with uow:
        user = uow.session.get(User, user_id)
        if user is None:
            raise NotFound.of("user", user_id)
        check_version(user, expected_version, "user")
        if "department_id" in fields:
            department_exists(uow.session, fields["department_id"], "department_id")
        if "password" in fields:
            user.password_hash = passwords.hash_password(fields.pop("password"))
        for key, value in fields.items():
            setattr(user, key, value)
        uow.commit()
        principals.CACHE.forget(user_id)
        return _user_out.dump(user)


# -- the user ids of the services' requests -----------------------------------------------
def _possible_id(user_id) -> bool:
    """Could be a user's id: text that fits the column and that a database can compare (these ids
    come from request bodies, before any schema has seen them)."""
    return isinstance(user_id, str) and 0 < len(user_id) <= 36 and unstorable(user_id) is None


def departments_of(uow: UnitOfWork, named: dict[str, list]) -> dict[str, str | None]:
    """``{user_id: department_id}`` of the users named in request fields (``{field: [user ids]}``).
    An id no user has is a 422 on the field naming it: "Unknown user: <id>." (an id no user can
    have -- not text, too long, a NUL -- without asking the database)."""
    errors: dict[str, list[str]] = {}
    wanted: dict[str, list[str]] = {}
    for field, ids in named.items():
        for user_id in ids:
            if _possible_id(user_id):
                wanted.setdefault(user_id, []).append(field)
            else:
                errors.setdefault(field, []).append(f"Unknown user: {printable(str(user_id)[:40])}.")
    if errors:
        raise ValidationFailed.from_messages(errors)
    if not wanted:
        return {}
    with uow:
        rows = dict(uow.session.execute(select(User.id, User.department_id).where(User.id.in_(sorted(wanted)))).all())
    for user_id in sorted(set(wanted) - set(rows)):
        for field in wanted[user_id]:
            errors.setdefault(field, []).append(f"Unknown user: {user_id}.")
    if errors:
        raise ValidationFailed.from_messages(errors)
    return rows
