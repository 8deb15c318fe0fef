"""The support records in the permission matrix (``tests/unit/test_permissions.py``): a ticket opened by
the matrix's ``owner`` (department d1a) in a support group none of whose agents can take it (capacity 0:
it waits ``new``, its owner the creator), its operations -- and support's group membership
(``services/support/application/access.py``): the group's agents read and change its tickets like
their owner; outside support they are members who own nothing."""
from __future__ import annotations

from crm_kit.context import Principal
from services.support.application import actions, comments, groups, tickets
from services.support.models import Base as SupportBase
from tests.unit.conftest import ADMIN

SUPPORT_WITHOUT_TEAM = {"ticket"}
SUPPORT_NOT_LISTED = {"supportcustomerref": "which customer id a merged one became, who owns it: never listed",
                      "kb_article": "knowledge-base articles: not owner-scoped -- published ones everyone reads, "
                                   "drafts and writing are support staff's (test_knowledge.py)"}
SUPPORT_UNOWNED_LISTS = {
    "list_support_groups": "support groups: configuration, everyone reads, admins change (test_support_tickets.py)",
    "list_sla_policies": "SLA policies: configuration, everyone reads, admins change (test_support_tickets.py)",
    "list_articles": "knowledge-base articles: published ones everyone reads, drafts support staff "
                     "(services/support/application/knowledge.py, test_knowledge.py)",
}
AGENT = Principal("agent-1", "member", "d2", ("d2",))
SUPPORT_ROLES = {"support_agent_of_group": AGENT,
                 "support_agent_of_other_group": Principal("agent-2", "member", "d2", ("d2",))}
# role -> outcome per kind (read, write, manage, admin_only, review): outside support, and in support
SUPPORT_ROLE_EXPECTED = {role: ("404",) * 5 for role in SUPPORT_ROLES}
SUPPORT_EXPECTED = {"support_agent_of_group": ("ok", "ok", "403", "403", "403")}


class SupportWorld:
    """Mixed into the matrix's ``World`` (which gives ``make_db`` and ``OWNER``)."""

    OWNER = None

    def support_db(self):
        if not hasattr(self, "_support"):
            self._support = self.make_db(SupportBase, "support")
            self._group = groups.create_support_group(self._support.uow(), ADMIN, {
                "name": "Hardware", "members": [{"user_id": AGENT.user_id, "capacity": 0}]})["id"]
            groups.create_support_group(self._support.uow(), ADMIN, {
                "name": "Software", "members": [{"user_id": "agent-2"}]})
        return self._support

    def ticket(self) -> str:
        db = self.support_db()
        return tickets.create_ticket(db.uow(), self.OWNER, {
            "subject": "Broken", "channel": "phone", "category": "fault", "group_id": self._group})["id"]


def _uow(w):
    return w.support_db().uow()


def _listed(result, ident):
    from tests.unit.test_permissions import listed
    return listed(result, ident)


SUPPORT_OPERATIONS = {
    "ticket": {
        "get": ("read", lambda w, p, i: tickets.get_ticket(_uow(w), p, i)),
        "list": ("read", lambda w, p, i: _listed(tickets.list_tickets(_uow(w), p, {}), i)),
        "history": ("read", lambda w, p, i: tickets.ticket_history(_uow(w), p, i, {})),
        "comments": ("read", lambda w, p, i: comments.list_ticket_comments(_uow(w), p, i, {})),
        "update": ("write", lambda w, p, i: tickets.update_ticket(_uow(w), p, i, {"subject": "Still broken"})),
        "comment": ("write", lambda w, p, i: comments.add_ticket_comment(_uow(w), p, i, {"body": "On it"})),
        "assign": ("write", lambda w, p, i: actions.assign_ticket(_uow(w), p, i, {"assignee_id": "agent-1"})),
        "resolve": ("write", lambda w, p, i: actions.resolve_ticket(_uow(w), p, i, {"resolution": "Fixed"})
                    if tickets.get_ticket(_uow(w), ADMIN, i)["status"] != "new" else
                    (actions.assign_ticket(_uow(w), p, i, {"assignee_id": "agent-1"}),
                     actions.resolve_ticket(_uow(w), ADMIN, i))),
    },
}
