"""Departments: a tree (``parent_id``), managed by admins, read by everyone signed in.

Plain Python over a unit of work on the gateway's database (tests drive these directly).
"""
from __future__ import annotations

from sqlalchemy import select

from crm_kit.context import Principal
from crm_kit.errors import Conflict, NotFound, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork
from gateway.identity import principals, schemas
from gateway.identity.models import Department

_dept_out, _dept_query = schemas.Department(), schemas.DepartmentListQuery()
_dept_create, _dept_update = schemas.DepartmentCreate(), schemas.DepartmentUpdate()


def department_exists(session, department_id: str | None, field: str) -> None:
    """422 on ``field`` unless ``department_id`` is None or a department's id."""
    if department_id is not None and session.get(Department, department_id) is None:
        raise ValidationFailed.from_messages({field: ["Unknown department."]})


def create_department(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    principals.require_admin(principal)
    fields = load(_dept_create, data)
    with uow:
        department_exists(uow.session, fields["parent_id"], "parent_id")
        dept = Department(id=new_id(), **fields)
        uow.session.add(dept)
        uow.commit()
        return _dept_out.dump(dept)


def get_department(uow: UnitOfWork, principal: Principal, department_id: str) -> dict:
    with uow:
        dept = uow.session.get(Department, department_id)
        if dept is None:
            raise NotFound.of("department", department_id)
        return _dept_out.dump(dept)


def list_departments(uow: UnitOfWork, principal: Principal, query: dict) -> dict:
    params = load(_dept_query, query or {})
    with uow:
        rows, cursor = paginate(uow.session, select(Department), Department.id, params["limit"], params["cursor"])
        return {"items": _dept_out.dump(rows, many=True), "next_cursor": cursor}


def update_department(uow: UnitOfWork, principal: Principal, department_id: str, data: dict,
                      expected_version: int | None = None) -> dict:
    principals.require_admin(principal)
    fields = load(_dept_update, data, partial=True)
    with uow:
        dept = uow.session.get(Department, department_id)
        if dept is None:
            raise NotFound.of("department", department_id)
        check_version(dept, expected_version, "department")
        if fields.get("parent_id") is not None:
            department_exists(uow.session, fields["parent_id"], "parent_id")
            tree = uow.session.execute(select(Department.id, Department.parent_id)).all()
            if fields["parent_id"] in principals.department_subtree(tree, department_id):
                raise Conflict("A department cannot be moved under itself or its own sub-department.")
        for key, value in fields.items():
            setattr(dept, key, value)
        uow.commit()
        principals.CACHE.forget()  # subtrees changed for managers anywhere above
        return _dept_out.dump(dept)
