"""The lead's rules, in plain Python (no database, no broker). Where each rule is:

- ``status``        the statuses and the status machine (``TRANSITIONS``, ``transition``), sources,
                    follow-up kinds, which states may be edited or deleted;
- ``permissions``   who may assign, claim, return, restore a lead, add leads to a pool, create or
                    manage a pool (beyond the data scopes);
- ``claim_limits``  the lead pool's claim limits: held at once, claims per day, reclaim cooldown,
                    with when the claim becomes allowed;
- ``pools``         a pool's roles, its distributions, its configuration rule;
- ``distribution``  who a pool gives a new lead to (manual, round robin, least loaded);
- ``ownership``     giving a lead to an owner, letting it go, answering it (the follow-up's effect);
- ``recycling``     when a pool takes a lead back (recycle eligibility) and when its owner is warned;
- ``sla``           the first-response target and its breach.

The application (``services.leads.application``) fetches the facts -- counts, the last release,
the caller's roles -- and asks these functions. Everything is importable from here too
(``domain.transition``, ``domain.HELD_STATUSES``).
"""
from __future__ import annotations

from services.leads.domain.claim_limits import (  # noqa: F401
    ClaimFacts,
    ClaimLimits,
    check_claim_limits,
    day_start,
    next_day_start,
    reclaim_available_at,
)
from services.leads.domain.distribution import (  # noqa: F401
    choose_owner,
    eligible_members,
    least_loaded,
    needs_held_counts,
    next_round_robin,
)
from services.leads.domain.ownership import GIVEN_BY, RELEASED_BY, followed_up, give, release  # noqa: F401
from services.leads.domain.permissions import (  # noqa: F401
    ensure_in_pool,
    ensure_may_assign,
    ensure_may_claim,
    ensure_may_create_pool,
    ensure_may_manage_pool,
    ensure_may_restore,
    may_add_to_pool,
    may_assign,
    may_manage_pool,
    may_restore,
)
from services.leads.domain.pools import (  # noqa: F401
    ADMIN_ROLE,
    DEFAULT_DISTRIBUTION,
    DISTRIBUTIONS,
    LEAST_LOADED,
    MANUAL,
    MEMBER_ROLE,
    ROLES,
    ROUND_ROBIN,
    RULE_FIELDS,
    pool_rule_errors,
    pool_update,
)
from services.leads.domain.recycling import (  # noqa: F401
    counted_from,
    is_due_for_recycle,
    last_activity,
    lead_due_for_recycle,
    lead_last_activity,
    lead_recycle_at,
    recycle_at,
    recycle_warning,
    stale_since,
    warning_at,
)
from services.leads.domain.sla import sla_breached, sla_due_at  # noqa: F401
from services.leads.domain.status import (  # noqa: F401
    ACTIONS,
    CONVERTED,
    DEFAULT_SOURCE,
    DELETABLE_STATUSES,
    DISCARDED,
    EDITABLE_STATUSES,
    FOLLOW_UP_KINDS,
    FOLLOWING,
    HELD_STATUSES,
    INVALID,
    LIVE_STATUSES,
    PENDING,
    SOURCES,
    STATUSES,
    TRANSITIONS,
    UNASSIGNED,
    ensure_deletable,
    ensure_editable,
    initial_status,
    transition,
)
