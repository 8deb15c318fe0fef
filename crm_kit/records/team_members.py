"""The use cases every shareable resource offers about its team (list, set, remove a member),
and their RPC shapes. A service's application calls them with its model and resource name;
the team tables and the scope clauses they rely on are in ``crm_kit.records.teams``."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_kit.errors import NotFound
from crm_kit.records.schemas import InputSchema, load, page_of
from crm_kit.records.scopes import get_for_read, get_for_write
from crm_kit.records.teams import ACCESS, members, remove_member, set_member, team_of


class TeamMemberSet(InputSchema):
    """What ``set_<resource>_team_member`` accepts."""
    user_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    access = fields.String(required=True, validate=validate.OneOf(ACCESS))


class TeamMember(Schema):
    user_id = fields.String(required=True)
    access = fields.String(required=True, validate=validate.OneOf(ACCESS))
    granted_by = fields.String(required=True, allow_none=True)
    granted_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(required=True, allow_none=True,
                                 metadata={"description": "a membership until then; null: for good"})


TeamList = page_of(TeamMember, "TeamList")


# -- the use cases every shareable resource offers (the service's application calls them) -----
_member_out = TeamMember()
_member_set = TeamMemberSet()



def list_team(uow, principal, model, record_id: str, resource: str) -> dict:
    """The record's team (caller must be able to read the record)."""
    with uow:
        get_for_read(uow.session, model, record_id, principal, resource)
        return {"items": _member_out.dump(members(uow.session, team_of(model), record_id), many=True),
                "next_cursor": None}


def set_team_member(uow, principal, model, record_id: str, user_id, access, resource: str) -> dict:
    """Grant or change a member (caller must be able to change the record); audited as
    ``team_member_set`` on the record, ``{"team.<user_id>": [before, after]}``."""
    fields_ = load(_member_set, {"user_id": user_id, "access": access})
    team = team_of(model)
    with uow:
        get_for_write(uow.session, model, record_id, principal, resource)
        before, after = set_member(uow.session, team, record_id, fields_["user_id"], fields_["access"],
                                   principal.user_id)
        if before != after:
            uow.audit_record(resource, record_id, {f"team.{fields_['user_id']}": [before, after]},
                             "team_member_set")
        member = next(m for m in members(uow.session, team, record_id) if m["user_id"] == fields_["user_id"])
        return uow.commit(_member_out.dump(member))


def remove_team_member(uow, principal, model, record_id: str, user_id: str, resource: str) -> None:
    """Remove a member (caller must be able to change the record); ``NotFound`` if not a member."""
    with uow:
        get_for_write(uow.session, model, record_id, principal, resource)
        before = remove_member(uow.session, team_of(model), record_id, str(user_id))
        if before is None:
            raise NotFound(f"{user_id} is not in the team of {resource} {record_id}.",
                           {"resource": f"{resource} team member", "id": str(user_id)})
        uow.audit_record(resource, record_id, {f"team.{user_id}": [before, None]}, "team_member_removed")
        uow.commit(None)
