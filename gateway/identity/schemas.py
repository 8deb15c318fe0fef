"""What the identity routes accept and answer (the route table names them ``gateway.<Name>``)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_kit.context import ROLES
from crm_kit.records.schemas import InputSchema, ListQuery


class TokenRequest(InputSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200), load_only=True)


class Token(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"enum": ["bearer"]})
    expires_in = fields.Integer(required=True)


class UserCreate(InputSchema):
    class Meta(InputSchema.Meta):
        server_owned = ("active",)

    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.@-]{2,100}$"))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=200))
    full_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    department_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))


class UserUpdate(InputSchema):
    password = fields.String(load_only=True, validate=validate.Length(min=10, max=200))
    full_name = fields.String(allow_none=True, validate=validate.Length(max=200))
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    role = fields.String(validate=validate.OneOf(ROLES))
    department_id = fields.String(allow_none=True, validate=validate.Length(max=36))
    active = fields.Boolean()


class User(Schema):
    id = fields.String(required=True)
    username = fields.String(required=True)
    full_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    role = fields.String(required=True)
    department_id = fields.String(allow_none=True, validate=validate.Length(max=36))
    active = fields.Boolean(required=True)
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class Me(User):
    scope_department_ids = fields.List(fields.String(), required=True)


class UserList(Schema):
    items = fields.List(fields.Nested(User), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class UserListQuery(ListQuery):
    role = fields.String(load_default=None, validate=validate.OneOf(ROLES))
    department_id = fields.String(load_default=None)


class DepartmentListQuery(ListQuery):
    pass


class DepartmentCreate(InputSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    parent_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))


class DepartmentUpdate(InputSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    parent_id = fields.String(allow_none=True, validate=validate.Length(max=36))


class Department(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    parent_id = fields.String(allow_none=True)
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class DepartmentList(Schema):
    items = fields.List(fields.Nested(Department), required=True)
    next_cursor = fields.String(required=True, allow_none=True)
